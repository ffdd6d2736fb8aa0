package metricsql

import (
	"fmt"
	"strings"
)

// forbid refuses a query naming one of the databases (as a qualifier,
// name.table) or calling one of the table functions (name(...)), outside
// string literals and comments; identifiers compare case-insensitively,
// quoted ("x", `x`) or not. It is the guard for what a read-only session
// still allows on ClickHouse and MySQL (reading the server's system
// tables, files or other servers); a connection should also use a user
// allowed to read only the events database (docs/warehouses.md).
func forbid(q string, databases, functions []string, engine string) error {
	isDB, isFn := set(databases), set(functions)
	n := len(q)
	for i := 0; i < n; {
		c := q[i]
		var ident string
		switch {
		case c == '-' && i+1 < n && q[i+1] == '-', c == '#':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				return nil
			}
			i += j + 1
			continue
		case c == '/' && i+1 < n && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			if j < 0 {
				return nil
			}
			i += j + 4
			continue
		case c == '\'':
			i = skipQuoted(q, i, '\'')
			continue
		case c == '"' || c == '`':
			j := skipQuoted(q, i, c)
			ident = strings.NewReplacer(string([]byte{c, c}), string(c)).Replace(q[i+1 : max(i+1, j-1)])
			i = j
		case isIdentChar(c):
			j := i
			for j < n && (isIdentChar(q[j]) || q[j] == '$') {
				j++
			}
			ident = q[i:j]
			i = j
		default:
			i++
			continue
		}
		next := byte(0)
		for k := i; k < n; k++ {
			if q[k] != ' ' && q[k] != '\t' && q[k] != '\n' && q[k] != '\r' {
				next = q[k]
				break
			}
		}
		name := strings.ToLower(ident)
		switch {
		case next == '.' && isDB[name]:
			return fmt.Errorf("%w: %s queries may not read the %s database", ErrInvalidQuery, engine, ident)
		case next == '(' && isFn[name]:
			return fmt.Errorf("%w: %s queries may not call %s(): read the events tables only", ErrInvalidQuery, engine, ident)
		}
	}
	return nil
}

// skipQuoted returns the offset past the quoted token at i (doubled
// quotes and backslash escapes inside), or len(q) if unterminated.
func skipQuoted(q string, i int, quote byte) int {
	for j := i + 1; j < len(q); j++ {
		switch q[j] {
		case '\\':
			j++
		case quote:
			if j+1 < len(q) && q[j+1] == quote {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(q)
}

func set(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, s := range names {
		m[s] = true
	}
	return m
}
