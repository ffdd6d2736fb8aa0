package metricsql

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/waypost/waypost/internal/stats"
)

func TestValidateQuery(t *testing.T) {
	t.Parallel()
	ok := map[string]string{
		"SELECT 1":                                        "SELECT 1",
		"  select 1 ;  ":                                  "select 1",
		"SELECT 1; -- trailing comment\n":                 "SELECT 1",
		"SELECT 1;;":                                      "SELECT 1",
		"SELECT ';' AS s":                                 "SELECT ';' AS s",
		"SELECT 'it''s; fine'":                            "SELECT 'it''s; fine'",
		`SELECT E'a\'; b'`:                                `SELECT E'a\'; b'`,
		`SELECT "odd;name" FROM t`:                        `SELECT "odd;name" FROM t`,
		"SELECT $$ ; $$, $x$ ; $x$":                       "SELECT $$ ; $$, $x$ ; $x$",
		"SELECT 1 -- ; not a statement":                   "SELECT 1 -- ; not a statement",
		"SELECT 1 /* ; /* nested ; */ */":                 "SELECT 1 /* ; /* nested ; */ */",
		"-- header\nWITH a AS (SELECT 1) SELECT * FROM a": "-- header\nWITH a AS (SELECT 1) SELECT * FROM a",
		"(SELECT 1)":                                      "(SELECT 1)",
		"VALUES (1)":                                      "VALUES (1)",
		"SELECT a$b FROM t WHERE x = $1":                  "SELECT a$b FROM t WHERE x = $1",
	}
	for in, want := range ok {
		got, err := ValidateQuery(in)
		if err != nil || got != want {
			t.Errorf("ValidateQuery(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                                "empty",
		"  -- only a comment":             "empty",
		"SELECT 1; DROP TABLE users":      "more than one statement",
		"SELECT 1; DELETE FROM t; ":       "more than one statement",
		"SELECT 'unterminated":            "unterminated string",
		"SELECT 1 /* open":                "unterminated /*",
		"SELECT $q$ open":                 "unterminated dollar",
		`SELECT "open`:                    "unterminated quoted identifier",
		"DELETE FROM t RETURNING user_id": "must be a SELECT",
		"INSERT INTO t VALUES (1)":        "must be a SELECT",
		`SELECT E'\'; DROP TABLE t; --'`:  "", // valid: the ; is inside the E string
	}
	for in, want := range bad {
		_, err := ValidateQuery(in)
		if want == "" {
			if err != nil {
				t.Errorf("ValidateQuery(%q): %v", in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("ValidateQuery(%q) = %v, want an error containing %q", in, err, want)
		}
	}
}

func TestBuildRejects(t *testing.T) {
	t.Parallel()
	base := Spec{
		ExposuresSQL: "SELECT * FROM exposures", MetricSQL: "SELECT * FROM events",
		MetricType: stats.Revenue, ExperimentKey: "e", AnalysisEnd: time.Now(),
	}
	neg, zero, half, two := -1.0, 0.0, 0.5, 2.0
	cases := map[string]func(s *Spec){
		"exposures query":      func(s *Spec) { s.ExposuresSQL = "SELECT 1; DROP TABLE x" },
		"metric query":         func(s *Spec) { s.MetricSQL = "" },
		"unknown metric type":  func(s *Spec) { s.MetricType = "ratio" },
		"empty experiment key": func(s *Spec) { s.ExperimentKey = "" },
		"analysis end":         func(s *Spec) { s.AnalysisEnd = time.Time{} },
		"conversion window":    func(s *Spec) { s.ConversionWindowHours = &zero },
		"cap value":            func(s *Spec) { s.Cap = &Cap{Value: &neg} },
		"cap percentile":       func(s *Spec) { s.Cap = &Cap{Percentile: &two} },
		"not both":             func(s *Spec) { s.Cap = &Cap{Value: &two, Percentile: &half} },
		"empty cap":            func(s *Spec) { s.Cap = &Cap{} },
		"does not apply":       func(s *Spec) { s.MetricType = stats.Binomial; s.Cap = &Cap{Value: &two} },
	}
	for want, mutate := range cases {
		s := base
		mutate(&s)
		if _, _, err := Build(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
	sql, args, err := Build(base)
	if err != nil || len(args) != 4 || !strings.HasPrefix(sql, "WITH wp_exposures AS NOT MATERIALIZED (\nSELECT * FROM exposures\n)") {
		t.Errorf("valid spec: %v, %d args", err, len(args))
	}
	// User values are parameters, never spliced into the SQL.
	base.ExperimentKey = "x'; DROP TABLE users; --"
	sql, args, _ = Build(base)
	if strings.Contains(sql, "DROP") || args[0] != base.ExperimentKey {
		t.Errorf("experiment key was interpolated")
	}
}

func TestDialectCheckQueryRefusesServerTables(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		d       Dialect
		sql     string
		refused bool
	}{
		{ClickHouse, `SELECT * FROM system.tables`, true},
		{ClickHouse, "SELECT * FROM `System` . tables", true},
		{ClickHouse, `SELECT * FROM "system"."users"`, true},
		{ClickHouse, `SELECT * FROM url('http://x', CSV, 'a String')`, true},
		{ClickHouse, `SELECT 'system.tables' AS s, user_id FROM events -- system.tables`, false},
		{ClickHouse, `SELECT system_id FROM events.system_log`, false},
		{MySQL, "SELECT * FROM mysql.user", true},
		{MySQL, "SELECT * FROM `information_schema`.tables", true},
		{MySQL, "SELECT LOAD_FILE('/etc/passwd')", true},
		{MySQL, "SELECT 'mysql.user' FROM events /* mysql.user */", false},
		{Postgres, "SELECT * FROM system.tables", false},
	} {
		err := c.d.CheckQuery(c.sql)
		if (err != nil) != c.refused {
			t.Errorf("%s %q: err %v, want refused=%v", c.d.Kind(), c.sql, err, c.refused)
		}
		if err != nil && !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("%q: %v is not ErrInvalidQuery", c.sql, err)
		}
	}
}
