-- idle functions: no instance at any successful poll in the window, over all qualifiers.
-- grain: one row per (account_id, region, service_name, function_name).
-- parameters: $since, $until (timestamptz, half-open), $account, $region, $service, $function (varchar or null = all).
-- A function with only failed polls is not called idle (ticks_ok = 0 is excluded): unknown is not zero.
-- last_active_at looks at the whole history before $until.
with
window_polls as (
    select account_id, region, service_name, function_name,
           count(*) filter (where status = 'ok') as ticks_ok,
           count(*) filter (where status <> 'ok') as ticks_failed,
           max(instance_count) filter (where status = 'ok') as max_instances
    from polls
    where tick_at >= $since and tick_at < $until
      and ($account::varchar is null or account_id = $account::varchar)
      and ($region::varchar is null or region = $region::varchar)
      and ($service::varchar is null or service_name = $service::varchar)
      and ($function::varchar is null or function_name = $function::varchar)
    group by all
),
active as (
    select account_id, region, service_name, function_name, max(tick_at) as last_active_at
    from polls
    where status = 'ok' and instance_count > 0 and tick_at < $until
    group by all
)
select w.account_id, w.region, w.service_name, w.function_name, w.ticks_ok, w.ticks_failed, a.last_active_at
from window_polls w
left join active a
    on a.account_id = w.account_id and a.region = w.region
    and a.service_name is not distinct from w.service_name and a.function_name = w.function_name
where w.ticks_ok > 0 and w.max_instances = 0
order by w.account_id, w.region, w.service_name, w.function_name
