-- gaps: every expected tick of a target (account, region) that did not run, or whose polls failed.
-- grain: one row per (account_id, region, tick_at) with a gap.
-- parameters: $since, $until (timestamptz, half-open), $account, $region, $service, $function (varchar or null = all).
-- Expected ticks as in coverage_daily.sql. kind: 'not run' (no poll at all) or 'polls failed'.
with
scoped as (
    select * from polls
    where tick_at >= $since and tick_at < $until
      and ($account::varchar is null or account_id = $account::varchar)
      and ($region::varchar is null or region = $region::varchar)
      and ($service::varchar is null or service_name = $service::varchar)
      and ($function::varchar is null or function_name = $function::varchar)
),
bounds as (select min(tick_at) as lo, max(tick_at) as hi, max(interval_s) as period from scoped),
ticks as (
    select t.generate_series as tick_at
    from bounds, generate_series(bounds.lo, bounds.hi, to_seconds(bounds.period)) as t
),
targets as (select distinct account_id, region from scoped),
per_tick as (
    select account_id, region, tick_at,
           count(*) filter (where status = 'ok') as polls_ok,
           count(*) filter (where status <> 'ok') as polls_failed,
           string_agg(distinct error_code, ',' order by error_code) as error_codes
    from scoped
    group by all
)
select
    g.account_id, g.region, t.tick_at,
    case when p.tick_at is null then 'not run' else 'polls failed' end as kind,
    coalesce(p.polls_ok, 0) as polls_ok,
    coalesce(p.polls_failed, 0) as polls_failed,
    p.error_codes
from targets g
cross join ticks t
left join per_tick p on p.account_id = g.account_id and p.region = g.region and p.tick_at = t.tick_at
where p.tick_at is null or p.polls_failed > 0
order by g.account_id, g.region, t.tick_at
