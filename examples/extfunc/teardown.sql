-- Removes what setup.sql created, in the same database and schema. The
-- target table of load_file (FLATPIPE_TABLE) and the staged data are kept;
-- drop them yourself when they are no longer wanted.
ALTER TASK IF EXISTS flatpipe_flatten_task SUSPEND;
ALTER TASK IF EXISTS flatpipe_load_task SUSPEND;
DROP TASK IF EXISTS flatpipe_flatten_task;
DROP TASK IF EXISTS flatpipe_load_task;
DROP FUNCTION IF EXISTS flatpipe_flatten(VARIANT);
DROP FUNCTION IF EXISTS flatpipe_load_file(VARCHAR, VARCHAR);
DROP INTEGRATION IF EXISTS flatpipe_api;
DROP STREAM IF EXISTS flatpipe_raw_stream;
DROP STREAM IF EXISTS flatpipe_files_stream;
DROP PIPE IF EXISTS flatpipe_raw_pipe;
DROP TABLE IF EXISTS flatpipe_flat;
DROP TABLE IF EXISTS flatpipe_load_log;
DROP TABLE IF EXISTS flatpipe_raw;
DROP STAGE IF EXISTS flatpipe_raw_stage;
DROP FILE FORMAT IF EXISTS flatpipe_json;
DROP STORAGE INTEGRATION IF EXISTS flatpipe_s3;
