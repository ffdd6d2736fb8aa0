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

type colKind int

const (
	kindText colKind = iota
	kindTime
	kindNumber
)

func (k colKind) String() string {
	return [...]string{"text", "a timestamp (timestamptz)", "a number"}[k]
}

var acceptedOIDs = map[colKind]map[uint32]bool{
	kindText:   {pgtype.TextOID: true, pgtype.VarcharOID: true, pgtype.BPCharOID: true, pgtype.NameOID: true},
	kindTime:   {pgtype.TimestamptzOID: true, pgtype.TimestampOID: true},
	kindNumber: {pgtype.Int2OID: true, pgtype.Int4OID: true, pgtype.Int8OID: true, pgtype.Float4OID: true, pgtype.Float8OID: true, pgtype.NumericOID: true},
}

type wantCol struct {
	name string
	kind colKind
}

// CheckExposureColumns verifies that an exposures query returns
// experiment_key, user_id and variant as text and "timestamp" as a
// timestamp. Extra columns are allowed. A timestamp without time zone is
// accepted and interpreted in the session time zone.
func CheckExposureColumns(fields []pgconn.FieldDescription) error {
	return checkColumns("exposures", fields, []wantCol{
		{"experiment_key", kindText}, {"user_id", kindText}, {"variant", kindText}, {"timestamp", kindTime},
	})
}

// CheckMetricColumns verifies that a metric query returns user_id (text),
// "timestamp" and, for duration and revenue metrics, a numeric value.
func CheckMetricColumns(fields []pgconn.FieldDescription, t stats.MetricType) error {
	want := []wantCol{{"user_id", kindText}, {"timestamp", kindTime}}
	if t == stats.Duration || t == stats.Revenue {
		want = append(want, wantCol{"value", kindNumber})
	}
	return checkColumns("metric", fields, want)
}

var typeNames = pgtype.NewMap()

func typeName(oid uint32) string {
	if t, ok := typeNames.TypeForOID(oid); ok {
		return t.Name
	}
	return fmt.Sprintf("of type OID %d", oid)
}

func checkColumns(query string, fields []pgconn.FieldDescription, want []wantCol) error {
	byName := map[string][]pgconn.FieldDescription{}
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
		case !acceptedOIDs[w.kind][got[0].DataTypeOID]:
			problems = append(problems, fmt.Sprintf("column %q is %s, want %s", w.name, typeName(got[0].DataTypeOID), w.kind))
		}
	}
	if len(problems) > 0 {
		return &ColumnError{Query: query, Problems: problems}
	}
	return nil
}
