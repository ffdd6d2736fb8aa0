package metricsql

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/waypost/waypost/internal/stats"
)

// ColumnError lists what is wrong with the columns of a user query.
type ColumnError struct {
	Query    string   // "exposures" or "metric"
	Problems []string // e.g. `missing column "variant"`
}

func (e *ColumnError) Error() string {
	return e.Query + " query: " + strings.Join(e.Problems, "; ")
}

// pgKinds maps PostgreSQL type OIDs to column kinds.
var pgKinds = map[uint32]ColKind{
	pgtype.TextOID: KindText, pgtype.VarcharOID: KindText, pgtype.BPCharOID: KindText, pgtype.NameOID: KindText,
	pgtype.TimestamptzOID: KindTime, pgtype.TimestampOID: KindTime,
	pgtype.Int2OID: KindNumber, pgtype.Int4OID: KindNumber, pgtype.Int8OID: KindNumber, pgtype.Float4OID: KindNumber,
	pgtype.Float8OID: KindNumber, pgtype.NumericOID: KindNumber,
}

// PostgresColumns turns PostgreSQL field descriptions into Columns.
func PostgresColumns(fields []pgconn.FieldDescription) []Column {
	out := make([]Column, len(fields))
	for i, f := range fields {
		out[i] = Column{Name: f.Name, Type: typeName(f.DataTypeOID), Kind: pgKinds[f.DataTypeOID]}
	}
	return out
}

type wantCol struct {
	name string
	kind ColKind
}

// CheckExposureColumns verifies that an exposures query returns
// experiment_key, user_id and variant as text and "timestamp" as a
// timestamp. Extra columns are allowed. A timestamp without time zone is
// accepted and interpreted in the session time zone.
func CheckExposureColumns(fields []Column) error {
	return checkColumns("exposures", fields, []wantCol{
		{"experiment_key", KindText}, {"user_id", KindText}, {"variant", KindText}, {"timestamp", KindTime},
	})
}

// CheckMetricColumns verifies that a metric query returns user_id (text),
// "timestamp" and, for duration and revenue metrics, a numeric value.
func CheckMetricColumns(fields []Column, t stats.MetricType) error {
	want := []wantCol{{"user_id", KindText}, {"timestamp", KindTime}}
	if t == stats.Duration || t == stats.Revenue {
		want = append(want, wantCol{"value", KindNumber})
	}
	return checkColumns("metric", fields, want)
}

var typeNames = pgtype.NewMap()

func typeName(oid uint32) string {
	if t, ok := typeNames.TypeForOID(oid); ok {
		return t.Name
	}
	return fmt.Sprintf("type OID %d", oid)
}

func checkColumns(query string, fields []Column, want []wantCol) error {
	byName := map[string][]Column{}
	for _, f := range fields {
		byName[f.Name] = append(byName[f.Name], f)
	}
	var problems []string
	for _, w := range want {
		got := byName[w.name]
		switch {
		case len(got) == 0:
			p := fmt.Sprintf("missing column %q", w.name)
			for name := range byName {
				if strings.EqualFold(name, w.name) {
					p += fmt.Sprintf(" (found %q: names are case-sensitive when quoted)", name)
				}
			}
			problems = append(problems, p)
		case len(got) > 1:
			problems = append(problems, fmt.Sprintf("column %q appears %d times", w.name, len(got)))
		case got[0].Kind != w.kind:
			problems = append(problems, fmt.Sprintf("column %q is %s, want %s", w.name, got[0].Type, w.kind))
		}
	}
	if len(problems) > 0 {
		return &ColumnError{Query: query, Problems: problems}
	}
	return nil
}
