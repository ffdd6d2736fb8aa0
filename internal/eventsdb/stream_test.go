package eventsdb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/eventsdb"
	"github.com/waypost/waypost/internal/metricsql"
	"github.com/waypost/waypost/internal/warehousetest"
)

// TestPreviewBoundAppliesWhileStreaming: a caller bounding the bytes it
// keeps (the "test query" preview, 256 KiB) stops a 10 GB result at the
// row crossing the bound, on ClickHouse and MariaDB; it is never
// buffered first (that would end in "more than 100000 rows" after 1 GB).
// ClickHouse also refuses a single 20 MB row on the server
// (max_result_bytes) instead of sending it.
// chRepeat is 10,000 x's (ClickHouse 18.16 has no repeat()).
const chRepeat = "arrayStringConcat(arrayMap(i -> 'xxxxxxxxxx', range(1000)))"

func TestPreviewBoundAppliesWhileStreaming(t *testing.T) {
	t.Parallel()
	const bound = 256 << 10
	big := map[string]string{
		metricsql.KindClickHouse: "SELECT " + chRepeat + " AS user_id, now() AS timestamp FROM system.numbers LIMIT 1000000",
		metricsql.KindMySQL:      "SELECT REPEAT('x', 10000) AS user_id, NOW() AS `timestamp` FROM seq_1_to_1000000",
	}
	for _, kind := range []string{metricsql.KindClickHouse, metricsql.KindMySQL} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := warehousetest.MySQL
			if kind == metricsql.KindClickHouse {
				s = warehousetest.ClickHouse
			}
			srv := s(t)
			target := eventsdb.Target{Kind: kind, Host: srv.Host, Port: srv.Port, Database: srv.Database, User: srv.User,
				SSLMode: "disable", StatementTimeout: time.Minute}
			stop := errors.New("over the bound")
			err := eventsdb.With(context.Background(), target, nil, func(ctx context.Context, db metricsql.DB) error {
				rows, size := 0, 0
				_, err := metricsql.Each(ctx, db, time.Minute, big[kind], nil, bound, func(row []any) error {
					rows++
					if size += len(row[0].(string)); size > bound {
						return stop
					}
					return nil
				})
				if kind == metricsql.KindClickHouse && metricsql.ResultTooLarge(err) {
					// The server refused the first block (1,024 rows, 10 MB).
					require.Zero(t, rows)
				} else {
					require.ErrorIs(t, err, stop)
					require.Equal(t, bound/10000+1, rows, "the statement stopped at the row crossing the bound")
				}
				if kind == metricsql.KindClickHouse {
					_, err = metricsql.Each(ctx, db, time.Minute, "SELECT arrayStringConcat(arrayMap(i -> 'xxxxxxxxxxxxxxxxxxxx', range(1000000))) AS user_id", nil, bound,
						func([]any) error { t.Error("a 20 MB row reached the client"); return nil })
					require.True(t, metricsql.ResultTooLarge(err), "%v", err)
				}
				return nil
			})
			require.NoError(t, err)
		})
	}
}
