-- table macros shared by the reader views (views.sql) and the compactor (pipelines/storage/daybuild.py):
-- one definition of each derived form, whichever side computes it. They read the relations named
-- by their arguments (polls relations need the `dt` partition column); a macro binds its names
-- when it is created, so relations are passed by name and resolved at each call.

-- the hour a timestamp falls in, and the first hour boundary at or after it (integer epoch arithmetic).
create or replace macro hour_floor(ts) as to_timestamp((epoch_us(ts) // 3600000000) * 3600);
create or replace macro hour_ceil(ts) as to_timestamp(((epoch_us(ts) + 3599999999) // 3600000000) * 3600);

-- per-tick instance rows from intervals: an interval stands for every ok poll of its series
-- between its first and last tick (pipelines/storage/schemas.py INTERVALS).
create or replace macro expand_intervals(intervals_rel, polls_rel) as table
select
    p.tick_at, p.observed_at,
    i.* exclude (first_tick, last_tick, ticks, interval_s)
from query_table(intervals_rel) i
join query_table(polls_rel) p
    on p.account_id = i.account_id and p.region = i.region
    and p.service_name is not distinct from i.service_name
    and p.function_name = i.function_name and p.qualifier = i.qualifier
    and p.tick_at between i.first_tick and i.last_tick
where p.status = 'ok';

-- capacity per series per hour of the polls with since <= tick_at < until (null = unbounded) on the
-- given days (null = all). Failed polls are gaps, not zeros: counted in ticks_failed only.
-- Hours are bucketed on the integer epoch (faster than date_trunc on timestamptz, same in UTC).
create or replace macro hourly_rollup(polls_rel, since, until, days) as table
select
    account_id, region, api_version, service_name, function_name, qualifier,
    hour_floor(tick_at) as hour,
    count(*) filter (where status = 'ok') as ticks_ok,
    count(*) filter (where status <> 'ok') as ticks_failed,
    min(instance_count) filter (where status = 'ok') as min_instances,
    max(instance_count) filter (where status = 'ok') as max_instances,
    sum(instance_count) filter (where status = 'ok') as sum_instances,
    quantile_cont(instance_count, 0.95) filter (where status = 'ok') as p95_instances,
    coalesce(sum(instance_count * interval_s) filter (where status = 'ok'), 0) / 60.0 as instance_minutes
from query_table(polls_rel)
where (since is null or tick_at >= since)
  and (until is null or tick_at < until)
  and (since is null or dt >= cast(since as date))
  and (until is null or dt <= cast(until as date))
  and (days is null or list_contains(days, dt))
group by all;

-- each service's instances at each tick, summed over its ok polls (ticks with none ok are absent).
create or replace macro service_rollup(polls_rel, since, until, days) as table
select
    account_id, region, service_name, tick_at,
    sum(instance_count) as instances,
    count(*) as polls_ok
from query_table(polls_rel)
where status = 'ok'
  and (since is null or tick_at >= since)
  and (until is null or tick_at < until)
  and (since is null or dt >= cast(since as date))
  and (until is null or dt <= cast(until as date))
  and (days is null or list_contains(days, dt))
group by all;
