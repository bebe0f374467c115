-- Up Migration
-- Drift per nightly run: each field's and the score's distribution against the champion's training
-- reference (PSI, Jensen-Shannon distance, shares of blank, unusable and out-of-range values), as the
-- run's finish step computed it. One row per run; the report is kept whole for the dashboard.

CREATE TABLE run_drift (
  run_id         text PRIMARY KEY,
  at             timestamptz NOT NULL DEFAULT now(),
  model_version  text NOT NULL,
  rows_counted   bigint NOT NULL,
  psi_watch      real NOT NULL,
  psi_alert      real NOT NULL,
  alerts         text[] NOT NULL DEFAULT '{}',
  report         jsonb NOT NULL
);
CREATE INDEX run_drift_at ON run_drift (at DESC);

-- Down Migration
DROP TABLE run_drift;
