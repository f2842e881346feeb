-- instances born and gone per hour.
-- grain: one row per (account_id, region, service_name, function_name, qualifier, hour) with any birth or death.
-- parameters: $since, $until (timestamptz, half-open), $account, $region, $service, $function (varchar or null = all).
-- born: the hour of an instance's first sighting in the window (instances alive at the window's
-- first tick count as born then). gone: the hour of the first ok poll of its series after its last
-- sighting; an instance still present at the series' last ok poll is not gone. Failed polls are
-- not evidence of absence.
with
ok as (
    select tick_at, account_id, region, service_name, function_name, qualifier
    from polls
    where status = 'ok' and tick_at >= $since and tick_at < $until
      and ($account::varchar is null or account_id = $account::varchar)
      and ($region::varchar is null or region = $region::varchar)
      and ($service::varchar is null or service_name = $service::varchar)
      and ($function::varchar is null or function_name = $function::varchar)
),
life as (
    select account_id, region, service_name, function_name, qualifier, instance_id,
           min(tick_at) as first_seen, max(tick_at) as last_seen
    from instances join ok using (tick_at, account_id, region, service_name, function_name, qualifier)
    group by all
),
events as (
    select account_id, region, service_name, function_name, qualifier, first_seen as event_at, 1 as born, 0 as gone from life
    union all
    select l.account_id, l.region, l.service_name, l.function_name, l.qualifier, min(o.tick_at) as event_at, 0, 1
    from life l
    join ok o on o.account_id = l.account_id and o.region = l.region
        and o.service_name is not distinct from l.service_name and o.function_name = l.function_name
        and o.qualifier = l.qualifier and o.tick_at > l.last_seen
    group by l.account_id, l.region, l.service_name, l.function_name, l.qualifier, l.instance_id
)
select
    account_id, region, service_name, function_name, qualifier,
    to_timestamp((epoch_us(event_at) // 3600000000) * 3600) as hour,
    cast(sum(born) as bigint) as born,
    cast(sum(gone) as bigint) as gone
from events
group by all
order by account_id, region, service_name, function_name, qualifier, hour
