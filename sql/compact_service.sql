-- the day's per-service per-tick totals (rollups.sql service_rollup), in series order.
select * from service_rollup('polls', null, null, null)
order by account_id, region, service_name, tick_at
