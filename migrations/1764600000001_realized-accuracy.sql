-- Up Migration
-- Realized accuracy: the label each nightly run reads beside the inputs (run_labels, a staging table
-- emptied by the run's finish step), each Account's label and when it last changed (account_labels),
-- and per run the accuracy of the scores Accounts had at the horizon against what happened since
-- (run_accuracy).

CREATE UNLOGGED TABLE run_labels (
  run_id      text NOT NULL,
  account_id  text NOT NULL,
  churned     boolean NOT NULL
);
CREATE INDEX run_labels_run ON run_labels (run_id);

-- changed_at is NULL when the label was first seen already set: when it changed is not known, so it
-- does not count as a churn that the scores could have foreseen.
CREATE TABLE account_labels (
  account_id  text PRIMARY KEY,
  churned     boolean NOT NULL,
  changed_at  timestamptz,
  seen_at     timestamptz NOT NULL
);
CREATE INDEX account_labels_changed ON account_labels (changed_at) WHERE churned;

CREATE TABLE run_accuracy (
  run_id        text PRIMARY KEY,
  at            timestamptz NOT NULL DEFAULT now(),
  label_field   text NOT NULL,
  horizon_days  integer NOT NULL,
  window_days   integer NOT NULL,
  enough        boolean NOT NULL,
  report        jsonb NOT NULL
);
CREATE INDEX run_accuracy_at ON run_accuracy (at DESC);

-- Down Migration
DROP TABLE run_accuracy;
DROP TABLE account_labels;
DROP TABLE run_labels;
