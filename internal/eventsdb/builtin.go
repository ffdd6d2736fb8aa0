package eventsdb

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/metricsql"
)

// ReaderRole may read only the built-in store's tables (migrations 006 and
// 008). It is a login role: user SQL on the built-in store runs on a
// connection that logged in as ReaderRole, never on Waypost's own
// connection, so no query can switch back to a more privileged role.
const ReaderRole = "waypost_events_reader"

// builtinDB begins transactions on a fresh connection, logged in as
// ReaderRole, to Waypost's own database.
type builtinDB struct {
	pool *pgxpool.Pool // Waypost's pool: its connection settings, and the one-time password set-up

	once     sync.Mutex
	prepared bool
}

// Builtin returns the built-in events store on Waypost's database: every
// transaction it begins runs on its own connection as ReaderRole (closed
// when the transaction ends), so user SQL there can read the events tables
// and nothing else.
func Builtin(pool *pgxpool.Pool) metricsql.Beginner { return &builtinDB{pool: pool} }

// readerPassword derives the reader's password from Waypost's own database
// password, so every Waypost process computes the same one without another
// setting. Empty when Waypost connects without a password (trust, peer).
func readerPassword(waypostPassword string) string {
	if waypostPassword == "" {
		return ""
	}
	m := hmac.New(sha256.New, []byte(waypostPassword))
	m.Write([]byte(ReaderRole))
	return hex.EncodeToString(m.Sum(nil))
}

// scramVerifier returns the SCRAM-SHA-256 verifier PostgreSQL stores for
// password (RFC 7677), so the password itself never appears in a statement
// the server could log.
func scramVerifier(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	const iter = 4096
	salted, err := pbkdf2.Key(sha256.New, password, salt, iter, sha256.Size)
	if err != nil {
		return "", err
	}
	mac := func(key []byte, s string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	stored := sha256.Sum256(mac(salted, "Client Key"))
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iter, b64(salt), b64(stored[:]), b64(mac(salted, "Server Key"))), nil
}

// prepare sets the reader's password once per process, when Waypost's
// user may (it created the role); failures are left to the login to report.
func (b *builtinDB) prepare(ctx context.Context, password string) {
	b.once.Lock()
	defer b.once.Unlock()
	if b.prepared || password == "" {
		return
	}
	v, err := scramVerifier(password)
	if err != nil {
		return
	}
	// The verifier is base64 and '$', ':' only: safe inside a literal.
	if _, err := b.pool.Exec(ctx, "ALTER ROLE "+ReaderRole+" PASSWORD '"+v+"'"); err == nil {
		b.prepared = true
	}
}

// BeginTx connects as ReaderRole and begins a transaction on that
// connection; the connection closes when the transaction ends.
func (b *builtinDB) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	cc := b.pool.Config().ConnConfig.Copy()
	cc.User = ReaderRole
	cc.Password = readerPassword(b.pool.Config().ConnConfig.Password)
	b.prepare(ctx, cc.Password)
	cc.RuntimeParams = map[string]string{"application_name": "waypost-events-reader"}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		if _, ok := metricsql.DatabaseMessage(err); ok {
			return nil, &errs.Error{Kind: errs.KindInvalid, Code: "reader_unavailable",
				Message: fmt.Sprintf("the built-in events store cannot log in as %s (%v); run `waypost migrate` as a user that may alter roles", ReaderRole, rootCause(err)), Err: err}
		}
		return nil, fmt.Errorf("connect as %s: %w", ReaderRole, err)
	}
	tx, err := conn.BeginTx(ctx, opts)
	if err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return &connTx{Tx: tx, conn: conn}, nil
}

// connTx is a transaction that owns its connection.
type connTx struct {
	pgx.Tx
	conn *pgx.Conn
}

func (t *connTx) Commit(ctx context.Context) error {
	err := t.Tx.Commit(ctx)
	return errors.Join(err, t.conn.Close(context.WithoutCancel(ctx)))
}

func (t *connTx) Rollback(ctx context.Context) error {
	err := t.Tx.Rollback(ctx)
	if errors.Is(err, pgx.ErrTxClosed) {
		err = nil
	}
	return errors.Join(err, t.conn.Close(context.WithoutCancel(ctx)))
}
