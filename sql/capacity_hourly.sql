-- capacity per function per hour.
-- grain: one row per (account_id, region, service_name, function_name, qualifier, hour).
-- parameters: $since, $until (timestamptz, half-open [since, until)), $account, $region, $service, $function
-- (varchar or null = all).
-- Counts come from polls, so ticks with zero instances count as 0; failed polls are excluded
-- (they are gaps, not zeros) and counted in ticks_failed. instance_minutes weights each ok
-- reading by the tick period it stands for. Hours are bucketed on the integer epoch (faster
-- than date_trunc on timestamptz, same result in UTC).
with readings as (
    select
        account_id, region, service_name, function_name, qualifier, status, instance_count, interval_s,
        to_timestamp((epoch_us(tick_at) // 3600000000) * 3600) as hour
    from polls
    where tick_at >= $since
      and tick_at < $until
      and ($account::varchar is null or account_id = $account::varchar)
      and ($region::varchar is null or region = $region::varchar)
      and ($service::varchar is null or service_name = $service::varchar)
      and ($function::varchar is null or function_name = $function::varchar)
)
select
    account_id,
    region,
    service_name,
    function_name,
    qualifier,
    hour,
    count(*) filter (where status = 'ok') as ticks_ok,
    count(*) filter (where status <> 'ok') as ticks_failed,
    min(instance_count) filter (where status = 'ok') as min_instances,
    avg(instance_count) filter (where status = 'ok') as avg_instances,
    max(instance_count) filter (where status = 'ok') as max_instances,
    quantile_cont(instance_count, 0.95) filter (where status = 'ok') as p95_instances,
    coalesce(sum(instance_count * interval_s) filter (where status = 'ok'), 0) / 60.0 as instance_minutes
from readings
group by all
order by account_id, region, service_name, function_name, qualifier, hour
