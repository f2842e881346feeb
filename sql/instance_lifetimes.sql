-- instance lifetimes as observed by the ticks.
-- grain: one row per (account_id, region, service_name, function_name, qualifier, instance_id).
-- parameters: $since, $until (timestamptz, half-open), $account, $region, $service, $function (varchar or null = all).
-- first_seen / last_seen are tick times; observed_s = last_seen - first_seen + the tick period (an
-- instance seen once lived at least one period as far as we know). created_at / destroyed_at are
-- FC 3.0's own times where the API gave them (null on FC 2.0): lifetime_source says which applies.
select
    account_id, region, service_name, function_name, qualifier, instance_id,
    string_agg(distinct version_id, ',' order by version_id) as version_id,
    min(tick_at) as first_seen,
    max(tick_at) as last_seen,
    count(*) as ticks_seen,
    epoch(max(tick_at) - min(tick_at)) + max(p.interval_s) as observed_s,
    min(created_at) as created_at,
    max(destroyed_at) as destroyed_at,
    case when min(created_at) is not null then 'fc3' else 'observed' end as lifetime_source
from instances i
join polls p using (tick_at, account_id, region, service_name, function_name, qualifier)
where tick_at >= $since and tick_at < $until
  and ($account::varchar is null or account_id = $account::varchar)
  and ($region::varchar is null or region = $region::varchar)
  and ($service::varchar is null or service_name = $service::varchar)
  and ($function::varchar is null or function_name = $function::varchar)
group by all
order by account_id, region, service_name, function_name, qualifier, first_seen, instance_id
