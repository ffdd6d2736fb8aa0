// Package sqlschema embeds Waypost's SQL: the numbered migrations under
// migrations/ (applied by internal/migrate) and the sqlc queries under
// queries/ (compiled into package db by `sqlc generate`).
package sqlschema

import "embed"

// Migrations holds migrations/NNN_name.up.sql, applied in order.
//
//go:embed migrations/*.up.sql
var Migrations embed.FS
