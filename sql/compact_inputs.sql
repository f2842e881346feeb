-- the per-tick facts of one day, as the compactor's temp tables day_polls and day_instances.
-- variables (lists of files; each holds at least a zero-row seed so every read has a schema):
--   base_polls, base_intervals   the day's current compacted generation
--   pending_polls, pending_instances   raw tick files the generation does not hold yet
--   expand_polls   the polls the base intervals were built against (base_polls + raw polls they consumed)
--   replacing_polls   the raw polls files of the pending instances files (same names)
--   legacy_instances   a generation written before instances were stored as intervals (one row per
--                      tick): read as the day's base rows, so the next compaction converts it
-- A pending file replaces the base rows of each (tick_at, account_id, region) its polls file holds:
-- a re-run of a tick, or of one (account, region) partition of it, supersedes what was compacted.
create or replace temp table pending_polls as
select * from read_parquet(getvariable('pending_polls'), union_by_name = true, hive_partitioning = false);

create or replace temp table replaced as
select distinct tick_at, account_id, region from pending_polls;

create or replace temp table day_polls as
select b.* from read_parquet(getvariable('base_polls'), union_by_name = true, hive_partitioning = false) b
where not exists (
    select 1 from replaced r where r.tick_at = b.tick_at and r.account_id = b.account_id and r.region = b.region
)
union all by name
select * from pending_polls;

create or replace temp view base_intervals as
select * from read_parquet(getvariable('base_intervals'), union_by_name = true, hive_partitioning = false);

create or replace temp view expand_polls as
select * from read_parquet(getvariable('expand_polls'), union_by_name = true, hive_partitioning = false);

create or replace temp table replaced_instances as
select distinct tick_at, account_id, region
from read_parquet(getvariable('replacing_polls'), union_by_name = true, hive_partitioning = false);

create or replace temp table day_instances as
select e.* from (
    select * from expand_intervals('base_intervals', 'expand_polls')
    union all by name
    select * from read_parquet(getvariable('legacy_instances'), union_by_name = true, hive_partitioning = false)
) e
where not exists (
    select 1 from replaced_instances r
    where r.tick_at = e.tick_at and r.account_id = e.account_id and r.region = e.region
)
union all by name
select * from read_parquet(getvariable('pending_instances'), union_by_name = true, hive_partitioning = false);

-- the rollup macros read `polls` with its partition column.
create or replace temp view polls as select *, cast(getvariable('day') as date) as dt from day_polls;
