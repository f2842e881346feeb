-- the files a reader sees now, as the session variables the views read (views.sql); run once per
-- session, after `set file_search_path` names the store root. A session sees the store as it was
-- when this ran: superseded files stay on disk raw_retention_s (an hour by default) after the
-- commit that superseded them, so a younger session never finds a listed file gone.
-- Per (table, day): the newest compacted generation (none when it is a retention tombstone) plus
-- the raw files whose name that generation does not list as consumed (pipelines/storage/compactor.py),
-- so every tick file is read exactly once before, during and after a compaction. A raw instances file
-- counts only once its tick's polls file exists or has been consumed (the tick write's commit point).
-- A day's rollups are read only while they belong to its newest polls generation and no raw polls
-- file of the day is visible; otherwise the day is dirty and the views derive them from polls.
-- Empty lists fall back to the zero-row seed files of dt=1970-01-01 (store.py ensure()).
-- Paths are relative to file_search_path, or start at the bound variable fccap_root when a session
-- sets it: DuckDB applies file_search_path to local paths only, so an s3:// store sets fccap_root.
create or replace temp macro _fccap_path(p) as coalesce(getvariable('fccap_root') || '/', '') || p;

-- Every file of the store; or, for a session over some days (sqlrun.connect(days=...)), the files
-- its caller listed as fccap_listing, with fccap_glob naming a directory that never exists: a glob
-- is expanded when the statement is bound, so it must not be the whole store's, even unused.
create or replace temp table _fccap_files as
select
    file,
    parse_filename(file) as name,
    regexp_extract(file, '([a-z_]+)/dt=[0-9-]+/[^/]+$', 1) as tbl,
    regexp_extract(file, '/dt=([0-9-]+)/[^/]+$', 1) as day
from (
    select file from glob(coalesce(getvariable('fccap_glob'), _fccap_path('*/dt=*/*.parquet')))
    union all
    select unnest(getvariable('fccap_listing')) as file
);

-- the newest generation per (table, day); of two with one number (two writers raced) the tombstone
-- wins, as in the compactor (compactor.day_files), so a deleted day never comes back
create or replace temp table _fccap_current as
with generations as (
    select tbl, day, file, name like '%-deleted.parquet' as deleted,
        cast(substr(name, 12, 6) as integer) as generation
    from _fccap_files
    where regexp_matches(name, '^compacted-g[0-9]{6}(-deleted)?\.parquet$')
)
select tbl, day, arg_max(file, generation * 2 + deleted::integer) as file,
    arg_max(deleted, generation * 2 + deleted::integer) as deleted, max(generation) as generation
from generations
group by tbl, day;

-- a retention run tombstones instances, then polls: a day either table calls deleted is gone from
-- both, so a run stopped between the two never shows polls without their instances
create or replace temp table _fccap_deleted_days as
select distinct day from _fccap_current where deleted and tbl in ('polls', 'instances');

-- only current generations' footers: superseded ones wait for the sweep and say nothing now
set variable fccap_generations = coalesce(
    (select list(file order by file) from _fccap_current where not deleted),
    [_fccap_path('polls/dt=1970-01-01/_schema-v1.parquet')]
);

create or replace temp table _fccap_consumed as
with listed as (
    select c.tbl, c.day, unnest(from_json(decode(m.value), '["JSON"]')) as entry
    from parquet_kv_metadata(getvariable('fccap_generations')) m
    join _fccap_current c on c.file = m.file_name
    where decode(m.key) = 'fccap.consumed'
)
select tbl, day, json_extract_string(entry, '$[0]') as name from listed;

create or replace temp table _fccap_unconsumed as
select f.tbl, f.day, f.file, f.name
from _fccap_files f
where ((f.tbl in ('polls', 'instances') and f.name like 'tick-%') or (f.tbl = 'functions' and f.name like 'inventory-%'))
  and not exists (select 1 from _fccap_current c where c.tbl = f.tbl and c.day = f.day and c.deleted)
  and not (f.tbl in ('polls', 'instances') and f.day in (select day from _fccap_deleted_days))
  and not exists (select 1 from _fccap_consumed k where k.tbl = f.tbl and k.day = f.day and k.name = f.name);

-- A tick is written instances first, then polls (the commit point), and the listing above is not
-- one instant (on an object store it is a LIST per directory, instances before polls): a raw polls
-- file counts only with its tick's instances file, listed here or held by the instances generation,
-- so a tick written while this ran is seen whole or not at all.
create or replace temp table _fccap_raw as
select u.*
from _fccap_unconsumed u
where u.tbl <> 'polls'
   or exists (select 1 from _fccap_files i where i.tbl = 'instances' and i.day = u.day and i.name = u.name)
   or exists (select 1 from _fccap_consumed k where k.tbl = 'instances' and k.day = u.day and k.name = u.name);

create or replace temp table _fccap_live as  -- current generations that are not tombstones
select * from _fccap_current
where not deleted and not (tbl in ('polls', 'instances') and day in (select day from _fccap_deleted_days));

create or replace temp table _fccap_clean_days as
select c.day, h.file as hourly, s.file as service
from _fccap_live c
join _fccap_files h on h.tbl = 'polls' and h.day = c.day and h.name = printf('hourly-g%06d.parquet', c.generation)
join _fccap_files s on s.tbl = 'polls' and s.day = c.day and s.name = printf('service-g%06d.parquet', c.generation)
where c.tbl = 'polls' and c.day <> '1970-01-01'
  and not exists (select 1 from _fccap_raw r where r.tbl = 'polls' and r.day = c.day);

set variable fccap_polls = (
    select list(file order by file) from (
        select file from _fccap_live where tbl = 'polls' union all select file from _fccap_raw where tbl = 'polls'
    )
);

set variable fccap_functions = (
    select list(file order by file) from (
        select file from _fccap_live where tbl = 'functions'
        union all
        select file from _fccap_raw where tbl = 'functions'
    )
);

set variable fccap_intervals = (select list(file order by file) from _fccap_live where tbl = 'instances');

set variable fccap_instances_raw = coalesce(
    (
        select list(r.file order by r.file)
        from _fccap_raw r
        where r.tbl = 'instances'
          and (
              exists (select 1 from _fccap_files p where p.tbl = 'polls' and p.day = r.day and p.name = r.name)
              or exists (select 1 from _fccap_consumed k where k.tbl = 'polls' and k.day = r.day and k.name = r.name)
          )
    ),
    [_fccap_path('instances/dt=1970-01-01/_schema-v1.parquet')]
);

-- the polls the raw instances files were polled at: their ticks' raw polls files, and the polls
-- generation of a day whose raw instances outlived their polls' compaction (a compaction stopped
-- between the two). Narrower than all polls, so instance_intervals binds and joins today's ticks only.
set variable fccap_raw_polls = coalesce(
    (
        select list(file order by file) from (
            select p.file
            from _fccap_raw p
            where p.tbl = 'polls'
              and exists (select 1 from _fccap_raw r where r.tbl = 'instances' and r.day = p.day and r.name = p.name)
            union
            select c.file
            from _fccap_live c
            where c.tbl = 'polls'
              and exists (
                  select 1 from _fccap_raw r
                  join _fccap_consumed k on k.tbl = 'polls' and k.day = r.day and k.name = r.name
                  where r.tbl = 'instances' and r.day = c.day
              )
        )
    ),
    [_fccap_path('polls/dt=1970-01-01/_schema-v1.parquet')]
);

-- the polls each day's intervals were built against: its polls generation, and the raw polls files
-- the intervals consumed that no polls generation holds yet (a compaction stopped between the two).
set variable fccap_expand_polls = coalesce(
    (
        select list(file order by file) from (
            select p.file
            from _fccap_live p
            join _fccap_live i on i.tbl = 'instances' and i.day = p.day
            where p.tbl = 'polls'
            union all
            select r.file
            from _fccap_raw r
            join _fccap_consumed k on k.tbl = 'instances' and k.day = r.day and k.name = r.name
            where r.tbl = 'polls'
        )
    ),
    [_fccap_path('polls/dt=1970-01-01/_schema-v1.parquet')]
);

set variable fccap_hourly = coalesce(
    (select list(hourly order by hourly) from _fccap_clean_days),
    [_fccap_path('polls/dt=1970-01-01/_hourly-v1.parquet')]
);

set variable fccap_service = coalesce(
    (select list(service order by service) from _fccap_clean_days),
    [_fccap_path('polls/dt=1970-01-01/_service-v1.parquet')]
);

set variable fccap_dirty_days = coalesce(
    (
        select list(distinct cast(day as date))
        from (
            select day from _fccap_live where tbl = 'polls'
            union all
            select day from _fccap_raw where tbl = 'polls'
        )
        where day <> '1970-01-01' and day not in (select day from _fccap_clean_days)
    ),
    cast([] as date[])
);
