CREATE TABLE IF NOT EXISTS "EVENTS" (
  "ID" NUMBER(1,0) COMMENT 'id',
  "TYPE" VARCHAR(5) COMMENT 'type',
  "ACTOR_LOGIN" VARCHAR(15) COMMENT 'actor.login',
  "ACTOR_ID" NUMBER(20,0) COMMENT 'actor.id',
  "CREATED_AT" TIMESTAMP_TZ COMMENT 'created_at',
  "PAYLOAD_SIZE" VARCHAR(3) COMMENT 'payload.size',
  "PAYLOAD_COMMITS" ARRAY COMMENT 'payload.commits',
  "SCORE" FLOAT COMMENT 'score',
  "PUBLIC" BOOLEAN COMMENT 'public',
  "PAYLOAD" OBJECT COMMENT 'payload',
  "ORG" VARIANT COMMENT 'org',
  "ODD_KEY___DROP_TABLE_X____" VARCHAR(1) COMMENT 'odd key"; DROP TABLE x; --',
  "A_B_E6C4A319" NUMBER(1,0) COMMENT 'a_b',
  "A_B" NUMBER(1,0) COMMENT 'a.b',
  "_N_CODE" VARCHAR(1) COMMENT 'Ünïcode'
);
-- path "a.b" and "a_b" both normalize to A_B; "a_b" is named A_B_E6C4A319
