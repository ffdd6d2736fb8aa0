package migrate

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
)

// UpTo applies the Waypost migrations up to version last, River's not: the
// database an older release left.
func UpTo(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger, last int) ([]int, error) {
	return up(ctx, pool, log, last, false)
}
