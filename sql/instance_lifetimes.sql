-- instance lifetimes as observed by the ticks.
-- grain: one row per (account_id, region, service_name, function_name, qualifier, instance_id).
-- parameters: $since, $until (timestamptz, half-open), $account, $region, $service, $function (varchar or null = all).
-- first_seen / last_seen are tick times; observed_s = last_seen - first_seen + the tick period (an
-- instance seen once lived at least one period as far as we know). created_at / destroyed_at are
-- FC 3.0's own times where the API gave them (null on FC 2.0): lifetime_source says which applies.
-- Reads instance_intervals (one row per run of sightings); a run the window cuts counts only its
-- sightings inside the window, found from the ok polls it was built against (_interval_polls).
with
runs as (
    select *
    from instance_intervals
    where last_tick >= $since and first_tick < $until
      and ($account::varchar is null or account_id = $account::varchar)
      and ($region::varchar is null or region = $region::varchar)
      and ($service::varchar is null or service_name = $service::varchar)
      and ($function::varchar is null or function_name = $function::varchar)
),
cut as (
    select r.* exclude (first_tick, last_tick, ticks, interval_s),
        p.tick_at as first_tick, p.tick_at as last_tick, 1 as ticks, p.interval_s
    from runs r
    join _interval_polls p
        on p.account_id = r.account_id and p.region = r.region
        and p.service_name is not distinct from r.service_name
        and p.function_name = r.function_name and p.qualifier = r.qualifier
        and p.tick_at between r.first_tick and r.last_tick
    where (r.first_tick < $since or r.last_tick >= $until)
      -- a compacted run lies inside its UTC day, so a window from midnight to midnight cuts none:
      -- saying so lets the planner drop this branch and read runs once instead of materializing it
      and (epoch_us($since) % 86400000000 <> 0 or epoch_us($until) % 86400000000 <> 0)
      and p.status = 'ok' and p.tick_at >= $since and p.tick_at < $until
),
sightings as (
    select * from runs where first_tick >= $since and last_tick < $until
    union all by name
    select * from cut
)
select
    account_id, region, service_name, function_name, qualifier, instance_id,
    -- the distinct versions, sorted; a list aggregate is several times cheaper than string_agg(distinct ... order by)
    array_to_string(list_sort(list_distinct(list(version_id))), ',') as version_id,
    min(first_tick) as first_seen,
    max(last_tick) as last_seen,
    cast(sum(ticks) as bigint) as ticks_seen,
    epoch(max(last_tick) - min(first_tick)) + max(interval_s) as observed_s,
    min(created_at) as created_at,
    max(destroyed_at) as destroyed_at,
    case when min(created_at) is not null then 'fc3' else 'observed' end as lifetime_source
from sightings
group by all
order by account_id, region, service_name, function_name, qualifier, first_seen, instance_id
