-- the demo's closing summary. grain: one row per (service_name, hour).
-- parameters: $since, $until (timestamptz, half-open). Zero-instance polls count as 0.
select
    coalesce(service_name, '(FC 3.0)') as service_name,
    to_timestamp((epoch_us(tick_at) // 3600000000) * 3600) as hour,
    count(distinct function_name) as functions,
    count(*) filter (where status = 'ok') as polls_ok,
    count(*) filter (where status <> 'ok') as polls_failed,
    count(*) filter (where status = 'ok' and instance_count = 0) as zero_readings,
    cast(sum(instance_count) filter (where status = 'ok') as bigint) as sum_instances,
    max(instance_count) as max_per_poll
from polls
where tick_at >= $since and tick_at < $until
group by all
order by service_name, hour
