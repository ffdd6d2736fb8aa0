package eventsdb

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waypost/waypost/internal/metricsql"
)

// ReaderRole may read only the built-in store's tables (migration 006).
const ReaderRole = "waypost_events_reader"

// builtinDB begins transactions on Waypost's own pool as ReaderRole, when
// the role exists and Waypost's user may assume it.
type builtinDB struct {
	pool  *pgxpool.Pool
	state atomic.Int32 // 0 unknown, 1 use the role, 2 role unavailable
}

// Builtin returns the built-in events store on Waypost's pool: every
// transaction it begins runs SET LOCAL ROLE waypost_events_reader, so user
// SQL there can read the events tables and nothing else.
func Builtin(pool *pgxpool.Pool) metricsql.Beginner { return &builtinDB{pool: pool} }

func (b *builtinDB) useRole(ctx context.Context) bool {
	switch b.state.Load() {
	case 1:
		return true
	case 2:
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var ok bool
	err := b.pool.QueryRow(ctx, "SELECT coalesce(pg_has_role(current_user, oid, 'MEMBER'), false) FROM pg_roles WHERE rolname = $1", ReaderRole).Scan(&ok)
	switch {
	case err == nil && ok:
		b.state.Store(1)
	case err == nil || err == pgx.ErrNoRows:
		b.state.Store(2)
	}
	return ok
}

// BeginTx begins a transaction and switches to the reader role.
func (b *builtinDB) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	use := b.useRole(ctx)
	tx, err := b.pool.BeginTx(ctx, opts)
	if err != nil || !use {
		return tx, err
	}
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+ReaderRole); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("switch to %s: %w", ReaderRole, err)
	}
	return tx, nil
}
