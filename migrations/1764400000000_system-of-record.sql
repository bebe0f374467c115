-- Up Migration
-- The system of record: model versions and their promotion log, score history, shadow scores,
-- nightly run records and permanent failures. Redis stays the queue; nothing here is on a hot path
-- that Redis serves.

CREATE TABLE model_versions (
  version      text PRIMARY KEY,
  status       text NOT NULL CHECK (status IN ('candidate', 'shadow', 'champion', 'retired')),
  source       text NOT NULL CHECK (source IN ('shipped', 'trained-csv', 'trained-salesforce', 'imported')),
  onnx         bytea NOT NULL,
  sha256       text NOT NULL,
  spec         jsonb NOT NULL,
  card         jsonb,
  metrics      jsonb,
  note         text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  status_at    timestamptz NOT NULL DEFAULT now()
);
-- At most one champion and one shadow at any time; promotions swap them in one transaction.
CREATE UNIQUE INDEX model_versions_one_champion ON model_versions ((true)) WHERE status = 'champion';
CREATE UNIQUE INDEX model_versions_one_shadow ON model_versions ((true)) WHERE status = 'shadow';

CREATE TABLE promotion_log (
  id        bigserial PRIMARY KEY,
  at        timestamptz NOT NULL DEFAULT now(),
  action    text NOT NULL CHECK (action IN ('register', 'shadow', 'unshadow', 'promote', 'rollback', 'retire', 'reject')),
  version   text NOT NULL REFERENCES model_versions (version),
  previous  text,
  actor     text NOT NULL,
  reason    text NOT NULL,
  details   jsonb
);
CREATE INDEX promotion_log_at ON promotion_log (at DESC);

-- One row per score written to Salesforce (either path). No foreign key to model_versions: history
-- outlives a model version's bytes, and COPY stays a plain append.
CREATE TABLE score_history (
  account_id     text NOT NULL,
  scored_at      timestamptz NOT NULL,
  score          real NOT NULL,
  risk           text NOT NULL,
  reasons        text,
  model_version  text NOT NULL,
  path           text NOT NULL CHECK (path IN ('realtime', 'nightly', 'manual')),
  run_id         text
);
CREATE INDEX score_history_account ON score_history (account_id, scored_at DESC);
CREATE INDEX score_history_scored_at ON score_history USING brin (scored_at);

-- What the shadow model said about the same records, beside what the champion said (not written
-- to Salesforce).
CREATE TABLE shadow_scores (
  account_id          text NOT NULL,
  scored_at           timestamptz NOT NULL,
  path                text NOT NULL,
  champion_version    text NOT NULL,
  shadow_version      text NOT NULL,
  champion_score      real NOT NULL,
  shadow_score        real NOT NULL,
  champion_risk       text NOT NULL,
  shadow_risk         text NOT NULL,
  champion_top_reason text,
  shadow_top_reason   text
);
CREATE INDEX shadow_scores_version ON shadow_scores (shadow_version, scored_at DESC);

CREATE TABLE runs (
  id             text PRIMARY KEY,
  trigger        text NOT NULL,
  state          text NOT NULL,
  where_clause   text,
  model_version  text,
  started_at     timestamptz,
  finished_at    timestamptz,
  total          bigint,
  counts         jsonb NOT NULL DEFAULT '{}'::jsonb,
  api_calls      integer NOT NULL DEFAULT 0,
  message        text,
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runs_started ON runs (started_at DESC NULLS LAST);

CREATE TABLE failures (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  account_id  text NOT NULL,
  code        text NOT NULL,
  message     text NOT NULL,
  path        text NOT NULL,
  run_id      text
);
CREATE INDEX failures_at ON failures (at DESC);

-- Down Migration
DROP TABLE failures;
DROP TABLE runs;
DROP TABLE shadow_scores;
DROP TABLE score_history;
DROP TABLE promotion_log;
DROP TABLE model_versions;
