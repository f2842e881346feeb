-- estimated cost per function and UTC day.
-- grain: one row per (account_id, region, service_name, function_name, day).
-- parameters: $since, $until (timestamptz, half-open), $account, $region, $service, $function (varchar or null = all).
-- instance_s = sum(instance_count x interval_s) over ok polls (failed polls add nothing). The spec is
-- the function's inventory refresh in force at each tick (asof join on refreshed_at <= tick_at).
-- Resources: vcpu_s = instance_s x cpu; memory_gb_s = instance_s x memory_mb / 1024;
-- disk_gb_s = instance_s x disk_mb / 1024 above the free 512 MB; gpu_gb_s = instance_s x gpu_memory_mb / 1024.
-- A tick older than the first inventory refresh (a history collected before its inventory) uses
-- that first refresh. prices: a table registered by the runner from prices.csv (region '*' = any other region).
with
first_spec as (
    select account_id, region, coalesce(service_name, '') as service_key, function_name,
           arg_min(cpu, refreshed_at) as cpu, arg_min(memory_mb, refreshed_at) as memory_mb,
           arg_min(disk_mb, refreshed_at) as disk_mb, arg_min(gpu_memory_mb, refreshed_at) as gpu_memory_mb
    from functions
    group by all
),
usage as (
    select p.account_id, p.region, p.service_name, p.function_name, cast(p.tick_at as date) as day,
           cast(p.instance_count as double) * p.interval_s as instance_s,
           case when f.function_name is null then s.cpu else f.cpu end as cpu,
           case when f.function_name is null then s.memory_mb else f.memory_mb end as memory_mb,
           case when f.function_name is null then s.disk_mb else f.disk_mb end as disk_mb,
           case when f.function_name is null then s.gpu_memory_mb else f.gpu_memory_mb end as gpu_memory_mb
    from polls p
    asof left join functions f
        on f.account_id = p.account_id and f.region = p.region
        and coalesce(f.service_name, '') = coalesce(p.service_name, '') and f.function_name = p.function_name
        and f.refreshed_at <= p.tick_at
    left join first_spec s
        on s.account_id = p.account_id and s.region = p.region and s.service_key = coalesce(p.service_name, '')
        and s.function_name = p.function_name
    where p.status = 'ok' and p.tick_at >= $since and p.tick_at < $until
      and ($account::varchar is null or p.account_id = $account::varchar)
      and ($region::varchar is null or p.region = $region::varchar)
      and ($service::varchar is null or p.service_name = $service::varchar)
      and ($function::varchar is null or p.function_name = $function::varchar)
),
summed as (
    select account_id, region, service_name, function_name, day,
           sum(instance_s) as instance_s,
           sum(instance_s * cpu) as vcpu_s,
           sum(instance_s * memory_mb / 1024.0) as memory_gb_s,
           sum(instance_s * greatest(coalesce(disk_mb, 512) - 512, 0) / 1024.0) as disk_gb_s,
           sum(instance_s * coalesce(gpu_memory_mb, 0) / 1024.0) as gpu_gb_s
    from usage
    group by all
)
select
    s.*,
    coalesce(r.currency, d.currency) as currency,
    s.vcpu_s * coalesce(r.vcpu_second, d.vcpu_second)
      + s.memory_gb_s * coalesce(r.memory_gb_second, d.memory_gb_second)
      + s.disk_gb_s * coalesce(r.disk_gb_second, d.disk_gb_second)
      + s.gpu_gb_s * coalesce(r.gpu_gb_second, d.gpu_gb_second) as cost
from summed s
left join prices r on r.region = s.region
left join prices d on d.region = '*'
order by s.account_id, s.region, s.service_name, s.function_name, s.day
