// Command metricbench measures the metric statements of package metricsql
// and the results-refresh job's path (package analysis: concurrent metric
// statements, then the statistics) on a synthetic events database. It creates a scratch database on the
// given server, generates exposures and two metrics (about -events events
// per user each) with generate_series, indexes them as a user typically
// would (user_id, experiment_key, event), runs both metric statements
// (sequentially, then concurrently) plus the statistics, prints timings
// and drops the database.
//
//	go run ./internal/metricsql/cmd/metricbench -users 1000000
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waypost/waypost/internal/analysis"
	"github.com/waypost/waypost/internal/metricsql"
	"github.com/waypost/waypost/internal/stats"
)

func main() {
	users := flag.Int("users", 100000, "number of users in the experiment")
	events := flag.Int("events", 5, "average events per user per metric")
	server := flag.String("url", envOr("WAYPOST_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "maintenance database URL of the server to use")
	keep := flag.Bool("keep", false, "keep the scratch database")
	explain := flag.Bool("explain", false, "print EXPLAIN ANALYZE of each statement")
	repeat := flag.Int("repeat", 1, "measure this many times")
	cuped := flag.Float64("cuped", 0, "CUPED pre-exposure window in days for both metrics (0 = no CUPED)")
	flag.StringVar(&reuse, "db", "", "reuse this scratch database (from an earlier -keep run) instead of generating one")
	flag.BoolVar(&printSQL, "print", false, "print each metric statement and its arguments")
	flag.Parse()
	cupedDays = *cuped
	if err := run(*server, *users, *events, *keep, *explain, *repeat); err != nil {
		log.Fatal(err)
	}
}

// cupedDays, reuse and printSQL are the -cuped, -db and -print flags.
var (
	cupedDays float64
	reuse     string
	printSQL  bool
)

// readerRole is the role the statements run as: metricsql refuses to run
// user SQL as a superuser, so the benchmark reads like a real connection.
const readerRole = "waypost_bench_reader"

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run(server string, users, events int, keep, explain bool, repeat int) error {
	ctx := context.Background()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "waypost_bench_" + hex.EncodeToString(b[:])
	generateData := reuse == ""
	if !generateData {
		name = reuse
		keep = true
	}

	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer admin.Close(ctx)
	if generateData {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return fmt.Errorf("create database: %w", err)
		}
	}
	if !keep {
		defer func() {
			if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
				log.Printf("drop %s: %v", name, err)
			}
		}()
	} else {
		fmt.Println("database:", name)
	}
	u, err := url.Parse(server)
	if err != nil {
		return fmt.Errorf("parse url: %w", err)
	}
	u.Path = "/" + name
	pool, err := pgxpool.New(ctx, u.String())
	if err != nil {
		return fmt.Errorf("connect scratch database: %w", err)
	}
	defer pool.Close()

	if generateData {
		fmt.Printf("users %d, ~%d events per user per metric (2 metrics), server %s\n", users, events, u.Redacted())
		start := time.Now()
		for _, step := range generate(users, events) {
			if _, err := pool.Exec(ctx, step); err != nil {
				return fmt.Errorf("generate: %w\n%s", err, step)
			}
		}
		fmt.Printf("data generation (tables, indexes, ANALYZE): %s\n", time.Since(start).Round(time.Millisecond))
	}
	for _, sql := range []string{
		`DO $$ BEGIN CREATE ROLE ` + readerRole + ` LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
		`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ` + readerRole,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			return fmt.Errorf("reader role: %w", err)
		}
	}
	ru := *u
	ru.User = url.User(readerRole)
	reader, err := pgxpool.New(ctx, ru.String())
	if err != nil {
		return fmt.Errorf("connect as %s: %w", readerRole, err)
	}
	defer reader.Close()
	var exposures, eventRows int64
	_ = pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM exposures), (SELECT count(*) FROM events)").Scan(&exposures, &eventRows)
	fmt.Printf("rows: %d exposures, %d events\n", exposures, eventRows)

	end := time.Date(2026, 1, 29, 0, 0, 0, 0, time.UTC)
	window := 72.0
	p99 := 0.99
	specs := []metricsql.Spec{
		{
			MetricType: stats.Count, ExperimentKey: "bench", AnalysisEnd: end,
			ExposuresSQL: `SELECT experiment_key, user_id, variant, ts AS "timestamp" FROM exposures`,
			MetricSQL:    `SELECT user_id, ts AS "timestamp" FROM events WHERE event = 'pageview'`,
		},
		{
			MetricType: stats.Revenue, ExperimentKey: "bench", AnalysisEnd: end,
			ConversionWindowHours: &window, Cap: &metricsql.Cap{Percentile: &p99},
			ExposuresSQL: `SELECT experiment_key, user_id, variant, ts AS "timestamp" FROM exposures`,
			MetricSQL:    `SELECT user_id, ts AS "timestamp", value FROM events WHERE event = 'purchase'`,
		},
	}
	names := []string{"pageviews (count)", "revenue (72h window, p99 cap)"}
	if cupedDays > 0 {
		for i := range specs {
			specs[i].CUPEDWindowDays = cupedDays
			names[i] += " +CUPED"
		}
		fmt.Printf("CUPED: %g-day pre-exposure window\n", cupedDays)
	}

	if printSQL {
		for i, s := range specs {
			sql, args, err := metricsql.Build(s)
			if err != nil {
				return err
			}
			fmt.Printf("== %s\n%s\n-- args: %v\n", names[i], sql, args)
		}
	}
	if explain {
		for i, s := range specs {
			plan, err := metricsql.Explain(ctx, reader, s, 10*time.Minute)
			if err != nil {
				return err
			}
			fmt.Println("==", names[i])
			fmt.Println(plan)
		}
	}

	for r := 0; r < repeat; r++ {
		if err := measure(ctx, metricsql.PostgresDB(reader), specs, names); err != nil {
			return err
		}
	}
	return nil
}

func measure(ctx context.Context, pool metricsql.DB, specs []metricsql.Spec, names []string) error {
	// Sequential, as a simple refresher would run them.
	total := time.Now()
	for i, s := range specs {
		t := time.Now()
		counts, err := metricsql.Run(ctx, pool, s, 10*time.Minute)
		if err != nil {
			return err
		}
		q := time.Since(t)
		t = time.Now()
		res := stats.Analyze(counts.Ordered([]string{"control", "treatment"}), stats.Options{MetricType: s.MetricType, WeightsBP: []int{5000, 5000},
			CUPED: s.CUPEDWindowDays > 0, Sequential: &stats.SequentialOptions{}, Bayesian: &stats.Prior{}})
		fmt.Printf("%-32s SQL %8s  stats %8s  users %v excluded %d  %s\n", names[i], q.Round(time.Millisecond),
			time.Since(t).Round(time.Microsecond), userCounts(counts), counts.ExcludedUsers, res.Status)
	}
	fmt.Printf("%-32s %s\n", "both metrics, sequential", time.Since(total).Round(time.Millisecond))

	// Concurrently, one connection per metric.
	total = time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(specs))
	for i, s := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = metricsql.Run(ctx, pool, s, 10*time.Minute)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	fmt.Printf("%-32s %s\n", "both metrics, concurrent", time.Since(total).Round(time.Millisecond))

	// The results-refresh job's path: analysis.Run builds both statements,
	// runs them concurrently on separate connections of the pool, then
	// stats (per metric, SRM, Holm across metrics, power estimate).
	plan := analysis.Plan{ExperimentKey: "bench", Variants: []string{"control", "treatment"}, WeightsBP: []int{5000, 5000},
		ExposuresSQL: specs[0].ExposuresSQL, AnalysisEnd: specs[0].AnalysisEnd}
	plan.SetTimeout(10 * time.Minute)
	plan.Settings = analysis.Settings{Sequential: true, SequentialTuning: stats.DefaultSequentialTuning, Bayesian: true,
		CUPED: cupedDays > 0, CUPEDWindowDays: cupedDays}
	mde := 0.02
	plan.MDE = &mde
	for i, s := range specs {
		plan.Metrics = append(plan.Metrics, analysis.Metric{Key: fmt.Sprintf("m%d", i), Name: names[i], Type: s.MetricType,
			SQL: s.MetricSQL, ConversionWindowHours: s.ConversionWindowHours, Cap: s.Cap, Direction: stats.HigherIsBetter, Primary: i == 0})
	}
	total = time.Now()
	res, _, err := analysis.Run(ctx, pool, plan, 0, time.Now())
	if err != nil {
		return err
	}
	fmt.Printf("%-32s %s  (users %v, srm p=%s, needed/variant %s)\n", "refresh job path (analysis.Run)", time.Since(total).Round(time.Millisecond),
		res.Users, fmtP(res.SRM), res.Power.SampleSize)
	return nil
}

func fmtP(s *stats.SRMResult) string {
	if s == nil || s.PValue == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.3g", *s.PValue)
}

func userCounts(c metricsql.Counts) []int64 {
	var out []int64
	for _, v := range c.Variants {
		out = append(out, v.Users)
	}
	return out
}

// generate returns the statements creating the synthetic data: every user
// has 1-3 exposures (0.1% of users in both variants), 10% extra exposures
// belong to another experiment, and each metric has about `events` events
// per user spread over 4 weeks (some before exposure, some after the end).
func generate(users, events int) []string {
	return []string{
		`CREATE TABLE exposures (experiment_key text NOT NULL, user_id text NOT NULL, variant text NOT NULL, ts timestamptz NOT NULL)`,
		fmt.Sprintf(`INSERT INTO exposures
SELECT 'bench', 'user-' || g,
       CASE WHEN r.k = 2 AND g %% 1000 = 0 THEN 'treatment'
            WHEN g %% 2 = 0 THEN 'control' ELSE 'treatment' END,
       timestamptz '2026-01-01' + (g %% 1209600) * interval '1 second' + (r.k - 1) * interval '3 hours'
FROM generate_series(1, %d) AS g
CROSS JOIN LATERAL generate_series(1, 1 + g %% 3) AS r(k)`, users),
		fmt.Sprintf(`INSERT INTO exposures
SELECT 'other', 'user-' || g, CASE WHEN g %% 2 = 0 THEN 'a' ELSE 'b' END, timestamptz '2026-01-05' + (g %% 86400) * interval '1 second'
FROM generate_series(1, %d, 10) AS g`, users),
		`CREATE TABLE events (user_id text NOT NULL, event text NOT NULL, ts timestamptz NOT NULL, value double precision)`,
		fmt.Sprintf(`INSERT INTO events
SELECT 'user-' || (1 + floor(random() * %d)::int), 'pageview',
       timestamptz '2025-12-31' + random() * interval '30 days', NULL
FROM generate_series(1, %d)`, users, users*events),
		fmt.Sprintf(`INSERT INTO events
SELECT 'user-' || (1 + floor(random() * %d)::int), 'purchase',
       timestamptz '2025-12-31' + random() * interval '30 days', exp(3 + 1.2 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))
FROM generate_series(1, %d)`, users, users*events),
		`CREATE INDEX ON exposures (experiment_key)`,
		`CREATE INDEX ON exposures (user_id)`,
		`CREATE INDEX ON events (user_id)`,
		`CREATE INDEX ON events (event, ts)`,
		`VACUUM ANALYZE exposures`,
		`VACUUM ANALYZE events`,
	}
}
