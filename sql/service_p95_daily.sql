-- p95 of each service's instance count per UTC day.
-- grain: one row per (account_id, region, service_name, day).
-- parameters: $since, $until (timestamptz, half-open), $account, $region, $service, $function (varchar or null = all).
-- The count at a tick sums the service's ok polls (every function and qualifier); p95 is quantile_cont
-- over the day's ticks. Per-service tick totals come from service_ticks (materialized per compacted
-- day); with a $function filter they are summed from that function's polls instead.
with per_tick as (
    select account_id, region, service_name, tick_at, instances
    from service_ticks
    where $function::varchar is null
      and tick_at >= $since and tick_at < $until
      and ($account::varchar is null or account_id = $account::varchar)
      and ($region::varchar is null or region = $region::varchar)
      and ($service::varchar is null or service_name = $service::varchar)
    union all
    select account_id, region, service_name, tick_at, sum(instance_count) as instances
    from polls
    where $function::varchar is not null
      and status = 'ok' and tick_at >= $since and tick_at < $until
      and ($account::varchar is null or account_id = $account::varchar)
      and ($region::varchar is null or region = $region::varchar)
      and ($service::varchar is null or service_name = $service::varchar)
      and function_name = $function::varchar
    group by all
)
select
    account_id, region, service_name,
    to_timestamp((epoch_us(tick_at) // 86400000000) * 86400) as day,
    quantile_cont(instances, 0.95) as p95_instances,
    max(instances) as max_instances,
    count(*) as ticks
from per_tick
group by all
order by account_id, region, service_name, day
