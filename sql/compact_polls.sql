-- one day's polls in compacted order (series, then tick): runs of equal values compress to little.
select
    tick_at, observed_at, account_id, region, api_version, service_name, function_name, qualifier, status,
    instance_count, error_code, error_message, http_status, request_id, attempts, latency_ms, interval_s
from day_polls
order by account_id, region, service_name, function_name, qualifier, tick_at
