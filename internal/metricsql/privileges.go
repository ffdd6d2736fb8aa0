package metricsql

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ErrDangerousRole matches (errors.Is) a refusal to run user SQL on a
// connection whose role could escape READ ONLY: a superuser, a role that
// may create roles, or a member of a role that may read or write server
// files or run programs. READ ONLY does not bind what such a role can do
// through dblink's own connection, COPY ... TO PROGRAM or pg_read_file.
var ErrDangerousRole = errors.New("the connection's role is too powerful for user SQL")

// RoleError names why the role was refused.
type RoleError struct {
	Role     string
	Problems []string
}

func (e *RoleError) Error() string {
	return fmt.Sprintf("role %q may not run metric SQL: %s; connect as a role that may only read the events tables",
		e.Role, strings.Join(e.Problems, "; "))
}

// Is makes errors.Is(err, ErrDangerousRole) true.
func (e *RoleError) Is(target error) bool { return target == ErrDangerousRole }

// roleCheck lists, for the session's login role (session_user: SET ROLE
// cannot hide it), every attribute or membership that makes user SQL unsafe.
const roleCheck = `
SELECT session_user::text, array_remove(ARRAY[
  CASE WHEN EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolsuper AND pg_has_role(session_user, r.oid, 'MEMBER'))
       THEN 'it is (or may become) a superuser' END,
  CASE WHEN EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolcreaterole AND pg_has_role(session_user, r.oid, 'MEMBER'))
       THEN 'it may create roles' END,
  CASE WHEN EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname IN ('pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files')
                       AND pg_has_role(session_user, r.oid, 'MEMBER'))
       THEN 'it may read or write server files or run programs (pg_execute_server_program, pg_read_server_files, pg_write_server_files)' END
], NULL)`

// privilegeWarnings lists dangerous privileges that do not refuse the role
// but are worth removing: functions that reach outside the transaction.
const privilegeWarnings = `
SELECT DISTINCT format('it may execute %s (%s)', p.proname,
         CASE WHEN p.proname LIKE 'dblink%' THEN 'opens its own connection, outside READ ONLY'
              WHEN p.proname LIKE 'lo\_%' THEN 'large objects'
              ELSE 'reads server files' END)
  FROM pg_proc p
 WHERE (p.proname IN ('dblink', 'dblink_exec', 'dblink_connect', 'dblink_connect_u', 'dblink_open', 'dblink_send_query',
                      'lo_import', 'lo_export', 'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir'))
   AND has_function_privilege(session_user, p.oid, 'EXECUTE')
UNION ALL
SELECT format('it is a member of %s', r.rolname)
  FROM pg_roles r
 WHERE r.rolname IN ('pg_read_all_data', 'pg_write_all_data', 'pg_signal_backend')
   AND pg_has_role(session_user, r.oid, 'MEMBER')
ORDER BY 1`

func refuseDangerousRole(ctx context.Context, tx pgx.Tx) error {
	var role string
	var problems []string
	if err := tx.QueryRow(ctx, roleCheck).Scan(&role, &problems); err != nil {
		return &QueryError{Op: "check the connection's role", Err: err}
	}
	if len(problems) > 0 {
		return &QueryError{Op: "check the connection's role", Err: &RoleError{Role: role, Problems: problems}}
	}
	return nil
}

// PrivilegeWarnings returns, for the connection's login role, each
// dangerous privilege that does not stop it from running user SQL but
// should be revoked ("Test connection" shows them).
func PrivilegeWarnings(ctx context.Context, db Beginner) ([]string, error) {
	var out []string
	err := ReadOnly(ctx, db, 0, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, privilegeWarnings)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if out == nil {
		out = []string{}
	}
	return out, err
}
