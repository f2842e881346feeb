-- coverage: ticks expected vs ok, per series and UTC day.
-- grain: one row per (account_id, region, service_name, function_name, qualifier, day).
-- parameters: $since, $until (timestamptz, half-open), $account, $region, $service, $function (varchar or null = all).
-- Expected ticks: every tick of the schedule (period = the largest interval_s seen) from the later of
-- $since and the first tick stored, to the earlier of $until and the last tick stored (inclusive).
-- ticks_missing = expected - ok - failed: ticks that never ran (daemon down, schedule paused) are
-- gaps, never zeros. coverage = ticks_ok / ticks_expected.
with
scoped as (
    select * from polls
    where tick_at >= $since and tick_at < $until
      and ($account::varchar is null or account_id = $account::varchar)
      and ($region::varchar is null or region = $region::varchar)
      and ($service::varchar is null or service_name = $service::varchar)
      and ($function::varchar is null or function_name = $function::varchar)
),
bounds as (
    select min(tick_at) as lo, max(tick_at) as hi, max(interval_s) as period from scoped
),
expected as (
    select cast(t.generate_series as date) as day, count(*) as ticks_expected
    from bounds, generate_series(bounds.lo, bounds.hi, to_seconds(bounds.period)) as t
    group by all
),
series as (select distinct account_id, region, service_name, function_name, qualifier from scoped),
observed as (
    select account_id, region, service_name, function_name, qualifier, cast(tick_at as date) as day,
           count(distinct tick_at) filter (where status = 'ok') as ticks_ok,
           count(distinct tick_at) filter (where status <> 'ok') as ticks_failed
    from scoped
    group by all
)
select
    s.account_id, s.region, s.service_name, s.function_name, s.qualifier, e.day,
    e.ticks_expected,
    coalesce(o.ticks_ok, 0) as ticks_ok,
    coalesce(o.ticks_failed, 0) as ticks_failed,
    e.ticks_expected - coalesce(o.ticks_ok, 0) - coalesce(o.ticks_failed, 0) as ticks_missing,
    coalesce(o.ticks_ok, 0) / e.ticks_expected as coverage
from series s
cross join expected e
left join observed o
    on o.account_id = s.account_id and o.region = s.region and o.service_name is not distinct from s.service_name
    and o.function_name = s.function_name and o.qualifier = s.qualifier and o.day = e.day
order by s.account_id, s.region, s.service_name, s.function_name, s.qualifier, e.day
