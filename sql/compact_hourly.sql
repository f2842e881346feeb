-- the day's hourly rollup (rollups.sql hourly_rollup over the compactor's `polls`), in series order.
select * from hourly_rollup('polls', null, null, null)
order by account_id, region, service_name, function_name, qualifier, hour
