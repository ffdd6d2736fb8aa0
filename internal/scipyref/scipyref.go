// Package scipyref gives tests the independent statistical reference in
// testdata/experiments: datasets written by generate.py and the numbers
// scipy computed for them (expected.json). It reads the expected numbers
// and loads a dataset's CSV files into a PostgreSQL database, so that every
// test comparing Waypost's statistics with scipy uses the same data the
// same way.
package scipyref

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waypost/waypost/internal/metricsql"
	"github.com/waypost/waypost/internal/stats"
)

// ExposuresSQL is the exposures query over a loaded dataset's tables.
const ExposuresSQL = `SELECT experiment_key, user_id, variant, ts AS "timestamp" FROM exposures`

// File is expected.json.
type File struct {
	Confidence float64   `json:"confidence"`
	Datasets   []Dataset `json:"datasets"`
}

// Dataset is one experiment's data and its expected results.
type Dataset struct {
	Name          string   `json:"name"`
	ExperimentKey string   `json:"experiment_key"`
	AnalysisEnd   string   `json:"analysis_end"`
	Variants      []string `json:"variants"`
	WeightsBP     []int    `json:"weights_bp"`
	SRM           *struct {
		Observed   []int64 `json:"observed"`
		ChiSquared float64 `json:"chi_squared"`
		PValue     float64 `json:"p_value"`
		Mismatch   bool    `json:"mismatch"`
	} `json:"srm"`
	Metrics []Metric `json:"metrics"`
}

// Metric is one metric of a dataset with scipy's numbers.
type Metric struct {
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	EventsFile  string         `json:"events_file"`
	Direction   string         `json:"direction"`
	WindowHours *float64       `json:"window_hours"`
	Cap         *metricsql.Cap `json:"cap"`
	// CUPEDWindowDays and Denominator are set for CUPED and ratio
	// metrics, whose expected numbers follow gbstats (testdata/stats).
	CUPEDWindowDays float64 `json:"cuped_window_days"`
	Denominator     *struct {
		EventsFile string `json:"events_file"`
		Type       string `json:"type"`
	} `json:"denominator"`
	Expected struct {
		Status        string `json:"status"`
		ExcludedUsers int64  `json:"excluded_users"`
		Variants      []struct {
			Variant    string   `json:"variant"`
			Users      int64    `json:"users"`
			Sum        float64  `json:"sum"`
			SumSquares float64  `json:"sum_squares"`
			Mean       *float64 `json:"mean"`
			Variance   *float64 `json:"variance"`
			// Pre and Denominator sums (CUPED, ratio metrics).
			Pre         *stats.PairedSums `json:"pre"`
			Denominator *stats.PairedSums `json:"denominator"`
		} `json:"variants"`
		Comparisons []Comparison `json:"comparisons"`
	} `json:"expected"`
}

// Comparison is one treatment's expected numbers.
type Comparison struct {
	Variant        string    `json:"variant"`
	Status         string    `json:"status"`
	Verdict        string    `json:"verdict"`
	AbsoluteEffect *float64  `json:"absolute_effect"`
	RelativeEffect *float64  `json:"relative_effect"`
	Statistic      *float64  `json:"statistic"`
	PValue         *float64  `json:"p_value"`
	DF             *float64  `json:"df"`
	AbsoluteCI     []float64 `json:"absolute_ci"`
	RelativeCI     []float64 `json:"relative_ci"`
	// gbstats-style estimates (CUPED, ratio metrics).
	Relative     *Estimate `json:"relative"`
	Absolute     *Estimate `json:"absolute"`
	CUPEDApplied bool      `json:"cuped_applied"`
	CUPED        *struct {
		Theta             float64 `json:"theta"`
		VarianceReduction float64 `json:"variance_reduction"`
	} `json:"cuped"`
}

// Mismatches lists how got differs from the gbstats-convention numbers of
// want (status, verdict, relative and absolute estimates, CUPED), at 1e-6
// relative (1e-12 absolute near zero).
func Mismatches(got stats.Comparison, want Comparison) []string {
	var out []string
	near := func(name string, g, w float64) {
		if d := math.Abs(g - w); d > 1e-12 && d > 1e-6*math.Abs(w) {
			out = append(out, fmt.Sprintf("%s %s = %.15g, want %.15g", want.Variant, name, g, w))
		}
	}
	if string(got.Status) != want.Status || string(got.Verdict) != want.Verdict {
		out = append(out, fmt.Sprintf("%s: %s/%s (%s), want %s/%s", want.Variant, got.Status, got.Verdict, got.Message, want.Status, want.Verdict))
	}
	for _, e := range []struct {
		name string
		got  *stats.Estimate
		want *Estimate
	}{{"relative", got.Relative, want.Relative}, {"absolute", got.Absolute, want.Absolute}} {
		switch {
		case e.want == nil:
			continue
		case e.got == nil || e.got.PValue == nil || e.got.DF == nil || e.got.CI == nil:
			out = append(out, fmt.Sprintf("%s: incomplete %s estimate %+v", want.Variant, e.name, e.got))
			continue
		}
		near(e.name+" effect", e.got.Effect, e.want.Effect)
		near(e.name+" se", e.got.StdError, e.want.StdError)
		near(e.name+" df", *e.got.DF, e.want.DF)
		near(e.name+" p", *e.got.PValue, e.want.PValue)
		near(e.name+" ci low", e.got.CI.Low, e.want.CI[0])
		near(e.name+" ci high", e.got.CI.High, e.want.CI[1])
	}
	if applied := got.CUPED != nil && got.CUPED.Applied; applied != want.CUPEDApplied {
		out = append(out, fmt.Sprintf("%s: CUPED applied %v, want %v (%+v)", want.Variant, applied, want.CUPEDApplied, got.CUPED))
	} else if want.CUPED != nil {
		near("theta", got.CUPED.Theta, want.CUPED.Theta)
		near("variance reduction", got.CUPED.VarianceReduction, want.CUPED.VarianceReduction)
	}
	return out
}

// Estimate is one expected effect with its test.
type Estimate struct {
	Effect    float64   `json:"effect"`
	StdError  float64   `json:"std_error"`
	Statistic float64   `json:"statistic"`
	DF        float64   `json:"df"`
	PValue    float64   `json:"p_value"`
	CI        []float64 `json:"ci"`
}

// DenominatorSQL is the ratio denominator's query over its loaded table.
func (m Metric) DenominatorSQL() string {
	if m.Denominator == nil {
		return ""
	}
	cols := `user_id, ts AS "timestamp"`
	if m.Denominator.Type == "duration" || m.Denominator.Type == "revenue" {
		cols += ", value"
	}
	return "SELECT " + cols + " FROM " + pgx.Identifier{strings.TrimSuffix(m.Denominator.EventsFile, ".csv")}.Sanitize()
}

// DenominatorSQLFor is DenominatorSQL in the SQL of an events-connection
// kind.
func (m Metric) DenominatorSQLFor(kind string) string {
	if m.Denominator == nil {
		return ""
	}
	d := Metric{EventsFile: m.Denominator.EventsFile, Type: m.Denominator.Type}
	return d.SQLFor(kind)
}

// Table is the name of the table Load creates for the metric's events.
func (m Metric) Table() string { return strings.TrimSuffix(m.EventsFile, ".csv") }

// SQL is the metric query over the loaded table (with value for the
// valued types).
func (m Metric) SQL() string {
	cols := `user_id, ts AS "timestamp"`
	if m.Type == "duration" || m.Type == "revenue" {
		cols += ", value"
	}
	return "SELECT " + cols + " FROM " + pgx.Identifier{m.Table()}.Sanitize()
}

// Dir is testdata/experiments, found from this source file so tests in
// any package can use it.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "experiments")
}

// Read parses expected.json.
func Read() (File, error) {
	var f File
	b, err := os.ReadFile(filepath.Join(Dir(), "expected.json"))
	if err != nil {
		return f, fmt.Errorf("read expected.json: %w", err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("parse expected.json: %w", err)
	}
	if len(f.Datasets) == 0 {
		return f, fmt.Errorf("expected.json has no datasets")
	}
	return f, nil
}

// Load creates the table exposures and one table per events file of the
// dataset (Metric.Table) and copies the CSVs in. A "timestamp" column is
// named ts, as a user's table would rarely call it "timestamp".
func (d Dataset) Load(ctx context.Context, conn *pgx.Conn) error {
	dir := filepath.Join(Dir(), d.Name)
	if err := loadCSV(ctx, conn, filepath.Join(dir, "exposures.csv"), "exposures"); err != nil {
		return err
	}
	loaded := map[string]bool{}
	for _, m := range d.Metrics {
		files := []string{m.EventsFile}
		if m.Denominator != nil {
			files = append(files, m.Denominator.EventsFile)
		}
		for _, f := range files {
			if !loaded[f] {
				if err := loadCSV(ctx, conn, filepath.Join(dir, f), strings.TrimSuffix(f, ".csv")); err != nil {
					return err
				}
				loaded[f] = true
			}
		}
	}
	return nil
}

func loadCSV(ctx context.Context, conn *pgx.Conn, path, table string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var defs []string
	for _, c := range strings.Split(strings.SplitN(string(b), "\n", 2)[0], ",") {
		typ := "text"
		switch c {
		case "timestamp":
			typ, c = "timestamptz", "ts"
		case "value":
			typ = "double precision"
		}
		defs = append(defs, pgx.Identifier{c}.Sanitize()+" "+typ)
	}
	name := pgx.Identifier{table}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE TABLE "+name+" ("+strings.Join(defs, ", ")+")"); err != nil {
		return fmt.Errorf("create %s: %w", table, err)
	}
	if _, err := conn.PgConn().CopyFrom(ctx, strings.NewReader(string(b)), "COPY "+name+" FROM STDIN WITH (FORMAT csv, HEADER true)"); err != nil {
		return fmt.Errorf("copy %s: %w", path, err)
	}
	return nil
}

// ExposuresSQLFor is ExposuresSQL in the SQL of an events-connection kind
// ("postgres", "clickhouse", "mysql").
func ExposuresSQLFor(kind string) string {
	if kind == "mysql" {
		return "SELECT experiment_key, user_id, variant, ts AS `timestamp` FROM exposures"
	}
	return ExposuresSQL
}

// SQLFor is SQL in the SQL of an events-connection kind.
func (m Metric) SQLFor(kind string) string {
	switch kind {
	case "mysql":
		cols := "user_id, ts AS `timestamp`"
		if m.Type == "duration" || m.Type == "revenue" {
			cols += ", value"
		}
		return "SELECT " + cols + " FROM `" + m.Table() + "`"
	case "clickhouse":
		return strings.Replace(m.SQL(), pgx.Identifier{m.Table()}.Sanitize(), m.Table(), 1)
	}
	return m.SQL()
}

// Table is one CSV file of a dataset with typed values: string,
// time.Time for "timestamp" (loaded as ts) and *float64 for value.
type Table struct {
	Name    string
	Columns []string
	Rows    [][]any
}

// CreateSQL creates the table on ClickHouse ("clickhouse": MergeTree,
// DateTime('UTC')) or MySQL/MariaDB ("mysql": DATETIME, read in UTC).
func (t Table) CreateSQL(kind string) string {
	var defs []string
	for _, c := range t.Columns {
		typ := map[string]string{"clickhouse": "String", "mysql": "VARCHAR(200)"}[kind]
		switch c {
		case "ts":
			typ = map[string]string{"clickhouse": "DateTime('UTC')", "mysql": "DATETIME"}[kind]
		case "value":
			typ = map[string]string{"clickhouse": "Nullable(Float64)", "mysql": "DOUBLE NULL"}[kind]
		}
		defs = append(defs, c+" "+typ)
	}
	create := "CREATE TABLE " + t.Name + " (" + strings.Join(defs, ", ") + ")"
	if kind == "clickhouse" {
		create += " ENGINE = MergeTree ORDER BY " + t.Columns[0]
	}
	return create
}

// Tables reads the dataset's CSV files (exposures and one per events
// file) as Load does.
func (d Dataset) Tables() ([]Table, error) {
	dir := filepath.Join(Dir(), d.Name)
	files := []struct{ path, table string }{{filepath.Join(dir, "exposures.csv"), "exposures"}}
	seen := map[string]bool{}
	for _, m := range d.Metrics {
		names := []string{m.EventsFile}
		if m.Denominator != nil {
			names = append(names, m.Denominator.EventsFile)
		}
		for _, f := range names {
			if !seen[f] {
				seen[f] = true
				files = append(files, struct{ path, table string }{filepath.Join(dir, f), strings.TrimSuffix(f, ".csv")})
			}
		}
	}
	var out []Table
	for _, f := range files {
		t, err := readTable(f.path, f.table)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// TablesFor is Tables for an events-connection kind: MySQL and MariaDB
// have no NaN (DOUBLE refuses it), so there a NaN value is loaded as NULL
// and the metrics expecting it (Metric.HasNaN) cannot be checked.
func (d Dataset) TablesFor(kind string) ([]Table, error) {
	tables, err := d.Tables()
	if err != nil || kind != "mysql" {
		return tables, err
	}
	for _, t := range tables {
		for _, r := range t.Rows {
			for j, v := range r {
				if f, ok := v.(*float64); ok && f != nil && math.IsNaN(*f) {
					r[j] = (*float64)(nil)
				}
			}
		}
	}
	return tables, nil
}

// HasNaN: the metric's events hold a NaN value, which makes its results
// invalid_data.
func (m Metric) HasNaN() bool { return m.Expected.Status == "invalid_data" }

func readTable(path, table string) (Table, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Table{}, fmt.Errorf("read %s: %w", path, err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	header := strings.Split(lines[0], ",")
	t := Table{Name: table}
	for _, c := range header {
		if c == "timestamp" {
			c = "ts"
		}
		t.Columns = append(t.Columns, c)
	}
	for _, line := range lines[1:] {
		fields := strings.Split(line, ",")
		row := make([]any, len(fields))
		for j, f := range fields {
			switch header[j] {
			case "value":
				if f != "" {
					v, err := strconv.ParseFloat(f, 64)
					if err != nil {
						return t, fmt.Errorf("%s: value %q: %w", path, f, err)
					}
					row[j] = &v
				} else {
					row[j] = (*float64)(nil)
				}
			case "timestamp":
				ts, err := time.Parse(time.RFC3339, f)
				if err != nil {
					return t, fmt.Errorf("%s: timestamp %q: %w", path, f, err)
				}
				row[j] = ts.UTC()
			default:
				row[j] = f
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}
