-- capacity per function per hour.
-- grain: one row per (account_id, region, service_name, function_name, qualifier, hour).
-- parameters: $since, $until (timestamptz, half-open [since, until)), $account, $region, $service, $function
-- (varchar or null = all).
-- Counts come from polls, so ticks with zero instances count as 0; failed polls are excluded
-- (they are gaps, not zeros) and counted in ticks_failed. instance_minutes weights each ok
-- reading by the tick period it stands for. Whole hours of the window come from the hourly
-- rollup (polls_hourly: materialized per compacted day); an hour the window cuts is derived from
-- its polls inside the window only (rollups.sql hourly_rollup, the same definition).
with hours as (
    select * from polls_hourly
    where hour >= hour_ceil($since::timestamptz) and hour < hour_floor($until::timestamptz)
    union all by name
    select * from hourly_rollup('polls', $since::timestamptz, least(hour_ceil($since::timestamptz), $until::timestamptz), null)
    union all by name
    select * from hourly_rollup(
        'polls', greatest(hour_floor($until::timestamptz), hour_ceil($since::timestamptz)), $until::timestamptz, null
    )
)
select
    account_id,
    region,
    service_name,
    function_name,
    qualifier,
    hour,
    ticks_ok,
    ticks_failed,
    min_instances,
    sum_instances / nullif(ticks_ok, 0) as avg_instances,
    max_instances,
    p95_instances,
    instance_minutes
from hours
where ($account::varchar is null or account_id = $account::varchar)
  and ($region::varchar is null or region = $region::varchar)
  and ($service::varchar is null or service_name = $service::varchar)
  and ($function::varchar is null or function_name = $function::varchar)
order by account_id, region, service_name, function_name, qualifier, hour
