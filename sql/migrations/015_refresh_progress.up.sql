-- Refresh jobs report their progress: how many of the refresh's metric
-- statements have finished, out of how many (GET .../refreshes/{job}).
ALTER TABLE experiment_results
  ADD COLUMN metrics_done  integer NOT NULL DEFAULT 0 CHECK (metrics_done >= 0),
  ADD COLUMN metrics_total integer CHECK (metrics_total >= 0);
COMMENT ON COLUMN experiment_results.metrics_done IS 'Metric statements finished so far (progress of a running refresh).';
COMMENT ON COLUMN experiment_results.metrics_total IS 'Metric statements the refresh runs (NULL for refreshes recorded before progress was kept).';
