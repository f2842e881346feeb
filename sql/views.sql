-- views over the Parquet store; grain: one view per table, plus the compacted forms. Views whose
-- names start with _ are plumbing for the others.
-- Each view reads an exact file list bound by the session (pipelines/storage/snapshot.py): a day's
-- newest compacted generation plus the raw tick files it does not hold, so every tick is read
-- exactly once before, during and after a compaction, and a retention tombstone hides its day.
-- Paths are never formatted into SQL: the lists arrive as bound `set variable` values.
-- dt is declared DATE for every reader (case C14); union_by_name lets files written before a
-- column existed read it as NULL (cases C10, C13).

-- one row per poll: the record of which ticks happened (0 is a reading; failures are rows too).
create or replace view polls as
select * from read_parquet(
    getvariable('fccap_polls'), hive_partitioning = true, hive_types = {'dt': date}, union_by_name = true
);

-- inventory refreshes.
create or replace view functions as
select * from read_parquet(
    getvariable('fccap_functions'), hive_partitioning = true, hive_types = {'dt': date}, union_by_name = true
);

-- the polls the compacted intervals were built against (expand_intervals needs exactly these).
create or replace view _interval_polls as
select * from read_parquet(
    getvariable('fccap_expand_polls'), hive_partitioning = true, hive_types = {'dt': date}, union_by_name = true
);

create or replace view _compacted_intervals as
select * from read_parquet(
    getvariable('fccap_intervals'), hive_partitioning = true, hive_types = {'dt': date}, union_by_name = true
);

-- the polls of the raw instances' ticks (instance_intervals joins these, not every day's polls).
create or replace view _raw_instance_polls as
select * from read_parquet(
    getvariable('fccap_raw_polls'), hive_partitioning = true, hive_types = {'dt': date}, union_by_name = true
);

create or replace view _raw_instances as
select * from read_parquet(
    getvariable('fccap_instances_raw'), hive_partitioning = true, hive_types = {'dt': date}, union_by_name = true
);

-- one row per (tick, instance): raw tick files, and compacted days expanded from their intervals.
create or replace view instances as
select * from _raw_instances
union all by name
select * from expand_intervals('_compacted_intervals', '_interval_polls');

-- one row per run of consecutive sightings of an instance at its series' ok polls; a raw
-- (not yet compacted) sighting is a run of one tick. Lifetimes read this, not the per-tick rows.
create or replace view instance_intervals as
select * from _compacted_intervals
union all by name
select
    r.* exclude (tick_at, observed_at),
    r.tick_at as first_tick, r.tick_at as last_tick, 1 as ticks, p.interval_s
from _raw_instances r
join _raw_instance_polls p
    on p.tick_at = r.tick_at and p.account_id = r.account_id and p.region = r.region
    and p.service_name is not distinct from r.service_name
    and p.function_name = r.function_name and p.qualifier = r.qualifier;

-- capacity per series per hour: the compacted days' rollups, and the rest derived from polls.
create or replace view polls_hourly as
select * from read_parquet(
    getvariable('fccap_hourly'), hive_partitioning = true, hive_types = {'dt': date}, union_by_name = true
)
union all by name
select * from hourly_rollup('polls', null, null, getvariable('fccap_dirty_days'));

-- each service's instances per tick: the compacted days' rollups, and the rest derived from polls.
create or replace view service_ticks as
select * from read_parquet(
    getvariable('fccap_service'), hive_partitioning = true, hive_types = {'dt': date}, union_by_name = true
)
union all by name
select * from service_rollup('polls', null, null, getvariable('fccap_dirty_days'));
