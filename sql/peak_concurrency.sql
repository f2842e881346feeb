-- peak concurrency: the most instances running at one tick, per account, per region and per service.
-- grain: one row per (level, account_id, region, service_name); level is account | region | service
-- (region / service_name null above their level).
-- parameters: $since, $until (timestamptz, half-open), $account, $region, $service, $function (varchar or null = all).
-- The count at a tick sums the ok polls of every function and qualifier in the group; failed polls add
-- nothing and are counted in polls_failed_at_peak. peak_at is the first tick reaching the peak.
with
per_tick as (
    select
        case grouping(region, service_name) when 3 then 'account' when 1 then 'region' else 'service' end as level,
        account_id, region, service_name, tick_at,
        coalesce(sum(instance_count) filter (where status = 'ok'), 0) as instances,
        count(*) filter (where status <> 'ok') as polls_failed
    from polls
    where tick_at >= $since and tick_at < $until
      and ($account::varchar is null or account_id = $account::varchar)
      and ($region::varchar is null or region = $region::varchar)
      and ($service::varchar is null or service_name = $service::varchar)
      and ($function::varchar is null or function_name = $function::varchar)
    group by grouping sets ((account_id, tick_at), (account_id, region, tick_at), (account_id, region, service_name, tick_at))
)
select
    level, account_id, region, service_name,
    cast(max(instances) as bigint) as peak_instances,
    arg_min(tick_at, (-instances, tick_at)) as peak_at,
    arg_min(polls_failed, (-instances, tick_at)) as polls_failed_at_peak,
    count(*) as ticks
from per_tick
group by all
order by account_id, level, region, service_name  -- account < region < service
