-- views over the Parquet store; grain: one view per table (polls, instances, functions).
-- Paths are relative: every session first binds `set file_search_path = ?` to the store root,
-- so no path is ever formatted into SQL. dt is declared DATE for every reader (case C14);
-- union_by_name lets files written before a column existed read it as NULL (cases C10, C13).
create or replace view polls as
select * from read_parquet('polls/dt=*/*.parquet', hive_partitioning = true, hive_types = {'dt': date}, union_by_name = true);

create or replace view instances as
select * from read_parquet('instances/dt=*/*.parquet', hive_partitioning = true, hive_types = {'dt': date}, union_by_name = true);

create or replace view functions as
select * from read_parquet('functions/dt=*/*.parquet', hive_partitioning = true, hive_types = {'dt': date}, union_by_name = true);
