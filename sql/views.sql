-- views over the Parquet store; grain: one view per table (polls, instances, functions).
-- Paths are relative: every session first binds `set file_search_path = ?` to the store root,
-- so no path is ever formatted into SQL. dt is declared DATE for every reader (case C14);
-- union_by_name lets files written before a column existed read it as NULL (cases C10, C13).
-- A day is read from its newest compacted generation (compacted-g<N>.parquet, the greatest name)
-- plus the raw files whose key (tick_at / refreshed_at) that generation does not hold: a reader
-- sees every tick exactly once before, during and after compaction (pipelines/storage/compactor.py).
-- A tombstone generation (compacted-g<N>-deleted.parquet, zero rows) hides its whole day (retention).
-- instances rows count only once their tick's polls file exists (the tick write's commit point).
create or replace view polls as
with
files as (
    select file, parse_filename(file) as name, cast(regexp_extract(file, '/dt=([0-9-]+)/', 1) as date) as day
    from glob('polls/dt=*/*.parquet')
),
current_files as (select max(file) as file, day from files where name like 'compacted-g%' group by day),
deleted_days as (select day from current_files where parse_filename(file) like '%-deleted.parquet'),
raw_days as (select distinct day from files where name like 'tick-%'),
compacted as (
    select * exclude (filename)
    from read_parquet('polls/dt=*/*.parquet', filename = true, hive_partitioning = true, hive_types = {'dt': date}, union_by_name = true)
    where filename in (select file from current_files)
),
raw as (
    select * exclude (filename)
    from read_parquet('polls/dt=*/*.parquet', filename = true, hive_partitioning = true, hive_types = {'dt': date}, union_by_name = true)
    where parse_filename(filename) not like 'compacted-g%'
),
held as (select distinct dt, tick_at from compacted where dt in (select day from raw_days))
select * from compacted
union all by name
select * from raw
where raw.dt not in (select day from deleted_days)
  and not exists (select 1 from held where held.dt = raw.dt and held.tick_at = raw.tick_at);

create or replace view instances as
with
files as (
    select file, parse_filename(file) as name, cast(regexp_extract(file, '/dt=([0-9-]+)/', 1) as date) as day
    from glob('instances/dt=*/*.parquet')
),
current_files as (select max(file) as file, day from files where name like 'compacted-g%' group by day),
deleted_days as (select day from current_files where parse_filename(file) like '%-deleted.parquet'),
raw_days as (select distinct day from files where name like 'tick-%'),
committed_ticks as (
    select cast(regexp_extract(file, '/dt=([0-9-]+)/', 1) as date) as day, parse_filename(file) as name
    from glob('polls/dt=*/tick-*.parquet')
),
compacted as (
    select * exclude (filename)
    from read_parquet('instances/dt=*/*.parquet', filename = true, hive_partitioning = true, hive_types = {'dt': date}, union_by_name = true)
    where filename in (select file from current_files)
),
raw as (
    select * exclude (filename)
    from read_parquet('instances/dt=*/*.parquet', filename = true, hive_partitioning = true, hive_types = {'dt': date}, union_by_name = true) r
    where parse_filename(filename) not like 'compacted-g%'
      and exists (select 1 from committed_ticks c where c.day = r.dt and c.name = parse_filename(r.filename))
),
held as (select distinct dt, tick_at from compacted where dt in (select day from raw_days))
select * from compacted
union all by name
select * from raw
where raw.dt not in (select day from deleted_days)
  and not exists (select 1 from held where held.dt = raw.dt and held.tick_at = raw.tick_at);

create or replace view functions as
with
files as (
    select file, parse_filename(file) as name, cast(regexp_extract(file, '/dt=([0-9-]+)/', 1) as date) as day
    from glob('functions/dt=*/*.parquet')
),
current_files as (select max(file) as file, day from files where name like 'compacted-g%' group by day),
deleted_days as (select day from current_files where parse_filename(file) like '%-deleted.parquet'),
raw_days as (select distinct day from files where name like 'inventory-%'),
compacted as (
    select * exclude (filename)
    from read_parquet('functions/dt=*/*.parquet', filename = true, hive_partitioning = true, hive_types = {'dt': date}, union_by_name = true)
    where filename in (select file from current_files)
),
raw as (
    select * exclude (filename)
    from read_parquet('functions/dt=*/*.parquet', filename = true, hive_partitioning = true, hive_types = {'dt': date}, union_by_name = true)
    where parse_filename(filename) not like 'compacted-g%'
),
held as (select distinct dt, refreshed_at from compacted where dt in (select day from raw_days))
select * from compacted
union all by name
select * from raw
where raw.dt not in (select day from deleted_days)
  and not exists (select 1 from held where held.dt = raw.dt and held.refreshed_at = raw.refreshed_at);
