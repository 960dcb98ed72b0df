-- flatpipe in Snowflake: Snowpipe → staging table → stream → task → external
-- function (API Gateway → the extfunc Lambda) → target table.
--
-- Replace the ${…} placeholders first, e.g. with envsubst:
--   RAW_BUCKET        S3 bucket the raw JSON files land in          (my-landing-bucket)
--   RAW_PREFIX        their prefix, ending in "/"                    (events/)
--   S3_ROLE_ARN       IAM role Snowflake assumes to read RAW_BUCKET   (arn:aws:iam::123456789012:role/sf-s3)
--   API_ROLE_ARN      IAM role Snowflake assumes to call API Gateway  (arn:aws:iam::123456789012:role/sf-api)
--   API_URL           the API's stage URL, ending in "/"             (https://abc123.execute-api.eu-west-1.amazonaws.com/prod/)
--   WAREHOUSE         warehouse the tasks run in
-- Run it in the database and schema of the pipeline (USE DATABASE …; USE SCHEMA …).
-- Statements end at a ";" at the end of a line.

-- 1. Where the raw files are, and how to read them. The storage integration
-- is account-level (ACCOUNTADMIN); DESC INTEGRATION flatpipe_s3 gives the
-- IAM user and external id for the role's trust policy.
CREATE STORAGE INTEGRATION IF NOT EXISTS flatpipe_s3
  TYPE = EXTERNAL_STAGE
  STORAGE_PROVIDER = 'S3'
  ENABLED = TRUE
  STORAGE_AWS_ROLE_ARN = '${S3_ROLE_ARN}'
  STORAGE_ALLOWED_LOCATIONS = ('s3://${RAW_BUCKET}/${RAW_PREFIX}');

CREATE OR REPLACE FILE FORMAT flatpipe_json
  TYPE = JSON
  STRIP_OUTER_ARRAY = FALSE
  COMMENT = 'raw events: one JSON document per line';

CREATE OR REPLACE STAGE flatpipe_raw_stage
  URL = 's3://${RAW_BUCKET}/${RAW_PREFIX}'
  STORAGE_INTEGRATION = flatpipe_s3
  FILE_FORMAT = (FORMAT_NAME = 'flatpipe_json');

-- 2. The staging table: each raw document whole, with the file it came from
-- (METADATA$FILENAME: for an S3 stage, the object's key) and its row in
-- that file.
CREATE TABLE IF NOT EXISTS flatpipe_raw (
  v         VARIANT,
  file_name STRING,
  file_row  NUMBER(38,0)
);

-- 3. Snowpipe: auto-ingest from the bucket's event notifications (point them
-- at the SQS ARN in SHOW PIPES' notification_channel), or AUTO_INGEST = FALSE
-- and call the insertFiles REST endpoint.
CREATE OR REPLACE PIPE flatpipe_raw_pipe
  AUTO_INGEST = TRUE
  AS COPY INTO flatpipe_raw (v, file_name, file_row)
     FROM (SELECT $1, METADATA$FILENAME, METADATA$FILE_ROW_NUMBER FROM @flatpipe_raw_stage);

-- 4. Streams: each consumer has its own, so each sees every new row once.
-- Append-only: the staging table only ever gets inserts.
CREATE OR REPLACE STREAM flatpipe_raw_stream ON TABLE flatpipe_raw APPEND_ONLY = TRUE
  COMMENT = 'new raw documents, for flatpipe_flatten_task';
CREATE OR REPLACE STREAM flatpipe_files_stream ON TABLE flatpipe_raw APPEND_ONLY = TRUE
  COMMENT = 'new raw files, for flatpipe_load_task';

-- 5. The external functions. API_KEY = '…' may be added when the API
-- requires one. MAX_BATCH_ROWS must not exceed the Lambda's
-- FLATPIPE_EXTFUNC_MAX_BATCH_ROWS; load_file's rows are whole files, so its
-- batches stay small.
CREATE OR REPLACE API INTEGRATION flatpipe_api
  API_PROVIDER = aws_api_gateway
  API_AWS_ROLE_ARN = '${API_ROLE_ARN}'
  API_ALLOWED_PREFIXES = ('${API_URL}')
  ENABLED = TRUE;

-- flatten(v): a document in, its flattened fields out as an OBJECT of path → value.
CREATE OR REPLACE EXTERNAL FUNCTION flatpipe_flatten(v VARIANT)
  RETURNS VARIANT
  CALLED ON NULL INPUT
  IMMUTABLE
  API_INTEGRATION = flatpipe_api
  MAX_BATCH_ROWS = 500
  AS '${API_URL}flatten';

-- load_file(bucket, key): the Lambda reads the object from S3, flattens it
-- and loads it into its FLATPIPE_TABLE (stage + COPY through package load;
-- the table is created and evolved as the data needs), or writes staged
-- files for Snowpipe (FLATPIPE_MODE=s3). It answers counts per file.
CREATE OR REPLACE EXTERNAL FUNCTION flatpipe_load_file(bucket VARCHAR, key VARCHAR)
  RETURNS VARIANT
  VOLATILE
  API_INTEGRATION = flatpipe_api
  MAX_BATCH_ROWS = 10
  AS '${API_URL}load_file';

-- 6. What the tasks write: flattened documents (use 1), and one row per
-- loaded file with load_file's answer (use 2).
CREATE TABLE IF NOT EXISTS flatpipe_flat (
  file_name STRING,
  file_row  NUMBER(38,0),
  doc       VARIANT
);
CREATE TABLE IF NOT EXISTS flatpipe_load_log (
  file_name STRING,
  result    VARIANT
);

-- 7. The tasks: every minute, only when their stream has rows. The INSERT
-- reads the stream, so its offset moves when the INSERT commits; a failed
-- run leaves the rows for the next one.
CREATE OR REPLACE TASK flatpipe_flatten_task
  WAREHOUSE = ${WAREHOUSE}
  SCHEDULE = '1 MINUTE'
  WHEN SYSTEM$STREAM_HAS_DATA('flatpipe_raw_stream')
  AS INSERT INTO flatpipe_flat (file_name, file_row, doc)
     SELECT file_name, file_row, flatpipe_flatten(v) FROM flatpipe_raw_stream WHERE METADATA$ACTION = 'INSERT';

CREATE OR REPLACE TASK flatpipe_load_task
  WAREHOUSE = ${WAREHOUSE}
  SCHEDULE = '1 MINUTE'
  WHEN SYSTEM$STREAM_HAS_DATA('flatpipe_files_stream')
  AS INSERT INTO flatpipe_load_log (file_name, result)
     SELECT file_name, flatpipe_load_file('${RAW_BUCKET}', file_name)
     FROM (SELECT DISTINCT file_name FROM flatpipe_files_stream WHERE METADATA$ACTION = 'INSERT');

-- Tasks are created suspended.
ALTER TASK flatpipe_flatten_task RESUME;
ALTER TASK flatpipe_load_task RESUME;
