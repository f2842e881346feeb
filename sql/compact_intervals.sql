-- one day's instance rows as intervals: each run of consecutive sightings of one instance, with
-- the same attributes, at its series' ok polls is one row (gaps-and-islands on the ok-poll number).
-- A failed poll is not evidence of absence and does not break a run; an ok poll without the
-- instance does. Reads the compactor's temp tables day_polls and day_instances (compact_inputs.sql).
with
ok as (
    select
        account_id, region, service_name, function_name, qualifier, tick_at, interval_s,
        row_number() over (
            partition by account_id, region, service_name, function_name, qualifier order by tick_at
        ) as n
    from day_polls
    where status = 'ok'
),
seen as (
    select
        i.*, o.interval_s,
        o.n - row_number() over (
            partition by i.account_id, i.region, i.service_name, i.function_name, i.qualifier, i.instance_id,
                i.version_id, i.status, i.created_at, i.destroyed_at, i.resource_type
            order by o.n
        ) as run
    from day_instances i
    join ok o
        on o.account_id = i.account_id and o.region = i.region
        and o.service_name is not distinct from i.service_name
        and o.function_name = i.function_name and o.qualifier = i.qualifier and o.tick_at = i.tick_at
)
select
    account_id, region, api_version, service_name, function_name, qualifier, instance_id, version_id,
    status, created_at, destroyed_at, resource_type,
    min(tick_at) as first_tick,
    max(tick_at) as last_tick,
    cast(count(*) as integer) as ticks,
    max(interval_s) as interval_s
from seen
group by
    account_id, region, api_version, service_name, function_name, qualifier, instance_id, version_id,
    status, created_at, destroyed_at, resource_type, run
order by account_id, region, service_name, function_name, qualifier, instance_id, first_tick
