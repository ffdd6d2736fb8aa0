-- Statistics II: per-experiment analysis settings and ratio metrics.
-- Additive only: a new table and new nullable metric columns.

CREATE TABLE experiment_analysis_settings (
  experiment_id          bigint PRIMARY KEY REFERENCES experiments(id) ON DELETE CASCADE,
  sequential             boolean NOT NULL DEFAULT true,
  sequential_tuning      double precision NOT NULL DEFAULT 5000
                         CHECK (sequential_tuning >= 1 AND sequential_tuning <= 1e12),
  cuped                  boolean NOT NULL DEFAULT false,
  cuped_window_days      double precision NOT NULL DEFAULT 14
                         CHECK (cuped_window_days > 0 AND cuped_window_days <= 365),
  bayesian               boolean NOT NULL DEFAULT true,
  prior_proper           boolean NOT NULL DEFAULT false,
  prior_mean             double precision NOT NULL DEFAULT 0 CHECK (prior_mean BETWEEN -100 AND 100),
  prior_std_dev          double precision NOT NULL DEFAULT 0.3 CHECK (prior_std_dev > 0 AND prior_std_dev <= 100),
  correction             text NOT NULL DEFAULT 'holm-bonferroni'
                         CHECK (correction IN ('holm-bonferroni', 'benjamini-hochberg')),
  dimension              text CHECK (dimension ~ '^[A-Za-z_][A-Za-z0-9_]{0,62}$'),
  updated_at             timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE experiment_analysis_settings IS
  'How an experiment''s results are analysed. An experiment without a row uses the column defaults (sequential testing on).';
COMMENT ON COLUMN experiment_analysis_settings.sequential IS
  'Always-valid sequential testing (confidence sequences, Waudby-Smith et al. 2023, as gbstats): peeking keeps the false-positive rate at alpha.';
COMMENT ON COLUMN experiment_analysis_settings.sequential_tuning IS
  'N*: total users (all arms compared) at which the confidence sequence is narrowest (gbstats default 5000).';
COMMENT ON COLUMN experiment_analysis_settings.cuped IS
  'CUPED variance reduction with the same metric over a pre-exposure window as covariate (Deng et al. 2013).';
COMMENT ON COLUMN experiment_analysis_settings.cuped_window_days IS
  'Length of the pre-exposure window, ending at each user''s first exposure.';
COMMENT ON COLUMN experiment_analysis_settings.prior_proper IS
  'Bayesian view: false = flat (improper) prior, gbstats'' default; true = Gaussian prior N(prior_mean, prior_std_dev²) on the relative effect.';
COMMENT ON COLUMN experiment_analysis_settings.dimension IS
  'Optional column of the exposures query (country, browser, plan) to break results down by; the 20 most common values are shown, the rest grouped as (other).';
COMMENT ON COLUMN experiment_analysis_settings.correction IS
  'Multiple-testing correction across metrics and variants shown as the adjusted p-value (both are computed and stored).';

-- Experiments that existed before sequential testing keep fixed-horizon
-- analysis; new experiments default to sequential.
INSERT INTO experiment_analysis_settings (experiment_id, sequential)
SELECT id, false FROM experiments;

ALTER TABLE metrics
  ADD COLUMN denominator_sql text CHECK (length(denominator_sql) BETWEEN 1 AND 100000),
  ADD COLUMN denominator_type text CHECK (denominator_type IN ('count', 'duration', 'revenue')),
  ADD CONSTRAINT metrics_denominator_complete CHECK ((denominator_sql IS NULL) = (denominator_type IS NULL)),
  ADD CONSTRAINT metrics_ratio_numerator CHECK (denominator_sql IS NULL OR type <> 'binomial');

COMMENT ON COLUMN metrics.denominator_sql IS
  'Ratio metrics: query returning user_id, "timestamp" (and value for duration/revenue); the metric is Σ numerator / Σ denominator per variant (delta method).';
COMMENT ON COLUMN metrics.denominator_type IS
  'Per-user denominator: count of events, or sum of value (duration, revenue), in the numerator''s window.';

-- Results over time: the headline effect of every comparison of every
-- successful refresh (the scheduled refresh makes this one point a day).
CREATE VIEW experiment_results_over_time AS
SELECT r.experiment_id,
       r.id AS refresh_id,
       (r.results->>'analysis_end')::timestamptz AS analysis_end,
       (m->>'key')::text AS metric,
       (c->>'variant')::text AS variant,
       coalesce(c->>'method', 'fixed')::text AS method,
       (c->>'status')::text AS status,
       (c->>'relative_effect')::double precision AS relative_effect,
       (c->'relative_ci'->>'low')::double precision AS relative_ci_low,
       (c->'relative_ci'->>'high')::double precision AS relative_ci_high,
       (c->>'absolute_effect')::double precision AS absolute_effect,
       (c->>'p_value')::double precision AS p_value
  FROM experiment_results r
 CROSS JOIN LATERAL jsonb_array_elements(r.results->'metrics') AS m
 CROSS JOIN LATERAL jsonb_array_elements(m->'result'->'comparisons') AS c
 WHERE r.status = 'succeeded' AND r.results IS NOT NULL;
COMMENT ON VIEW experiment_results_over_time IS
  'Per successful refresh, metric and treatment: the headline relative effect with its interval and p-value (cumulative up to analysis_end).';
