package migrate_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/migrate"
)

// An upgrade keeps what each phase ran with: migration 021 gives every
// existing phase the audience its experiment had (until then an audience
// could change only on a draft), and later phase changes log it.
func TestPhaseAudienceBackfill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := emptyDatabase(t)

	_, err := migrate.UpTo(ctx, pool, quiet, 20)
	require.NoError(t, err)
	var hasColumn bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
	  WHERE table_name = 'experiment_phases' AND column_name = 'audience')`).Scan(&hasColumn))
	require.False(t, hasColumn, "the database is as release 020 left it")

	// Two experiments as an older release stored them: one with an
	// audience and two phases, one open to everybody with one phase.
	var audienced, open int64
	require.NoError(t, pool.QueryRow(ctx, `
	  WITH p AS (SELECT id FROM projects WHERE key = 'default'),
	       e AS (SELECT id FROM environments WHERE project_id = (SELECT id FROM p) AND key = 'production'),
	       c AS (SELECT id FROM events_connections WHERE project_id = (SELECT id FROM p) AND is_default),
	       f AS (INSERT INTO flags (project_id, key, name, kind, variants)
	             SELECT id, 'checkout', 'Checkout', 'string',
	                    '[{"key":"red","name":"Red","value":"red"},{"key":"blue","name":"Blue","value":"blue"}]' FROM p
	             RETURNING id, project_id)
	  INSERT INTO experiments (project_id, flag_id, environment_id, connection_id, key, name, weights, traffic_bp, audience)
	  SELECT f.project_id, f.id, (SELECT id FROM e), (SELECT id FROM c), 'canada', 'Canada',
	         '[{"variant":"red","weight":5000},{"variant":"blue","weight":5000}]', 10000,
	         '[{"attribute":"country","op":"in","values":["CA"]}]'
	    FROM f RETURNING id`).Scan(&audienced))
	require.NoError(t, pool.QueryRow(ctx, `
	  INSERT INTO experiments (project_id, flag_id, environment_id, connection_id, key, name, weights, traffic_bp)
	  SELECT project_id, flag_id, environment_id, connection_id, 'everyone', 'Everyone', weights, 5000
	    FROM experiments WHERE id = $1 RETURNING id`, audienced).Scan(&open))
	_, err = pool.Exec(ctx, `
	  INSERT INTO experiment_phases (experiment_id, number, weights, traffic_bp, ended_at, ended_by, end_reason)
	  SELECT id, 1, weights, 10000, now(), 'alice', 'new_phase' FROM experiments WHERE id = $1`, audienced)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `
	  INSERT INTO experiment_phases (experiment_id, number, weights, traffic_bp)
	  SELECT id, 2, '[{"variant":"red","weight":2000},{"variant":"blue","weight":8000}]', 10000 FROM experiments WHERE id = $1`,
		audienced)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO experiment_phases (experiment_id, number, weights, traffic_bp)
	  SELECT id, 1, weights, traffic_bp FROM experiments WHERE id = $1`, open)
	require.NoError(t, err)

	_, err = migrate.Up(ctx, pool, quiet)
	require.NoError(t, err)

	audiences := func(experiment int64) []string {
		rows, err := pool.Query(ctx, `SELECT audience::text FROM experiment_phases WHERE experiment_id = $1 ORDER BY number`, experiment)
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var a string
			require.NoError(t, rows.Scan(&a))
			out = append(out, a)
		}
		require.NoError(t, rows.Err())
		return out
	}
	canada := `[{"op": "in", "values": ["CA"], "attribute": "country"}]`
	require.Equal(t, []string{canada, canada}, audiences(audienced), "both phases ran with the experiment's audience")
	require.Equal(t, []string{"[]"}, audiences(open), "a phase open to everybody gets []")

	// The column is required from now on, and a later phase change logs
	// the audience before and after.
	_, err = pool.Exec(ctx, `INSERT INTO experiment_phases (experiment_id, number, weights, traffic_bp, audience)
	  SELECT id, 2, weights, traffic_bp, NULL FROM experiments WHERE id = $1`, open)
	require.ErrorContains(t, err, "audience", "a phase without an audience is refused")
	_, err = pool.Exec(ctx, `UPDATE experiment_phases SET ended_at = now(), ended_by = 'bob', end_reason = 'new_phase'
	  WHERE experiment_id = $1 AND number = 1`, open)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO experiment_phases (experiment_id, number, weights, traffic_bp, audience)
	  SELECT id, 2, weights, traffic_bp, '[{"attribute":"plan","op":"in","values":["pro"]}]' FROM experiments WHERE id = $1`, open)
	require.NoError(t, err)
	var before, after json.RawMessage
	require.NoError(t, pool.QueryRow(ctx, `SELECT before->'audience', after->'audience' FROM flag_events
	  WHERE event_type = 'experiment_phase_changed' AND after->>'experiment' = 'everyone'`).Scan(&before, &after))
	require.JSONEq(t, `[]`, string(before))
	require.JSONEq(t, `[{"attribute":"plan","op":"in","values":["pro"]}]`, string(after))
}
