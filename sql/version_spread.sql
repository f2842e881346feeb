-- version spread over time: how many instances run each version at each tick (rollouts).
-- grain: one row per (account_id, region, service_name, function_name, tick_at, version_id) with instances.
-- parameters: $since, $until (timestamptz, half-open), $account, $region, $service, $function (varchar or null = all).
-- All qualifiers of a function count together (an alias and LATEST may run the same version);
-- version_id "0" is LATEST. share = instances of the version / instances of the function at the tick.
with counted as (
    select
        account_id, region, service_name, function_name, tick_at, version_id,
        count(*) as instances,
        string_agg(distinct qualifier, ',' order by qualifier) as qualifiers
    from instances
    where tick_at >= $since and tick_at < $until
      and ($account::varchar is null or account_id = $account::varchar)
      and ($region::varchar is null or region = $region::varchar)
      and ($service::varchar is null or service_name = $service::varchar)
      and ($function::varchar is null or function_name = $function::varchar)
    group by all
)
select
    account_id, region, service_name, function_name, tick_at, version_id, instances,
    instances / sum(instances) over (partition by account_id, region, service_name, function_name, tick_at) as share,
    qualifiers
from counted
order by account_id, region, service_name, function_name, tick_at, version_id
