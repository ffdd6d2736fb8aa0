// Command warehousebench measures the metric statements of package
// metricsql on ClickHouse or MariaDB, as metricbench does on PostgreSQL,
// with data generated inside the engine (ClickHouse numbers(), MariaDB's
// SEQUENCE engine): every user has 1-3 exposures (or -exposures each),
// 0.1% of users in both variants, 10% extra exposures of another
// experiment, and two metrics (pageviews: count; purchases: revenue with
// a 72 h window and a p99 cap) of about -events events per user each. It
// runs each metric statement through Waypost's connector (read-only,
// bounded), then the results-refresh path (analysis.Run: both statements
// concurrently plus the statistics), prints timings and, on ClickHouse,
// the memory each statement used (system.query_log), then drops the
// scratch database.
//
//	go run ./internal/metricsql/cmd/warehousebench -engine clickhouse -users 10000000
//	go run ./internal/metricsql/cmd/warehousebench -engine clickhouse -users 10000000 -exposures 10 -events 1
//	go run ./internal/metricsql/cmd/warehousebench -engine mysql -users 1000000
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/go-sql-driver/mysql"

	"github.com/waypost/waypost/internal/analysis"
	"github.com/waypost/waypost/internal/eventsdb"
	"github.com/waypost/waypost/internal/metricsql"
	"github.com/waypost/waypost/internal/stats"
)

func main() {
	engine := flag.String("engine", "clickhouse", "clickhouse or mysql (MariaDB)")
	users := flag.Int("users", 100000, "number of users in the experiment")
	events := flag.Int("events", 5, "average events per user per metric")
	exposures := flag.Int("exposures", 0, "exposures per user (0: 1 to 3)")
	addr := flag.String("addr", "", "server address (default 127.0.0.1:9000 or 127.0.0.1:3306)")
	user := flag.String("user", "", "user (default: default or root), no password")
	keep := flag.Bool("keep", false, "keep the scratch database")
	flag.Parse()
	if *addr == "" {
		*addr = map[string]string{"clickhouse": "127.0.0.1:9000", "mysql": "127.0.0.1:3306"}[*engine]
	}
	if *user == "" {
		*user = map[string]string{"clickhouse": "default", "mysql": "root"}[*engine]
	}
	if err := run(*engine, *addr, *user, *users, *events, *exposures, *keep); err != nil {
		log.Fatal(err)
	}
}

// admin runs the generating statements (not read-only).
type admin struct {
	exec  func(ctx context.Context, q string) error
	query func(ctx context.Context, q string) ([][]string, error)
	close func()
}

func run(engine, addr, user string, users, events, exposures int, keep bool) error {
	ctx := context.Background()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "waypost_bench_" + hex.EncodeToString(b[:])
	a, err := openAdmin(ctx, engine, addr, user)
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.exec(ctx, "CREATE DATABASE "+name); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	if !keep {
		defer func() {
			if err := a.exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
				log.Printf("drop %s: %v", name, err)
			}
		}()
	} else {
		fmt.Println("database:", name)
	}

	fmt.Printf("%s: users %d, exposures per user %s, ~%d events per user per metric (2 metrics)\n", engine, users,
		map[bool]string{true: "1-3", false: strconv.Itoa(exposures)}[exposures == 0], events)
	start := time.Now()
	gen := generateClickHouse(name, users, events, exposures)
	if engine == "mysql" {
		gen = generateMariaDB(name, users, events, exposures)
	}
	for _, step := range gen {
		t := time.Now()
		if err := a.exec(ctx, step); err != nil {
			return fmt.Errorf("generate: %w\n%s", err, step)
		}
		fmt.Printf("  %-60.60s %s\n", strings.Join(strings.Fields(step), " "), time.Since(t).Round(time.Millisecond))
	}
	fmt.Printf("data generation: %s\n", time.Since(start).Round(time.Millisecond))
	counts, err := a.query(ctx, fmt.Sprintf("SELECT %[2]s(SELECT count(*) FROM %[1]s.exposures)%[3]s, %[2]s(SELECT count(*) FROM %[1]s.events)%[3]s",
		name, map[bool]string{true: "toString(", false: "CAST("}[engine == "clickhouse"], map[bool]string{true: ")", false: " AS CHAR)"}[engine == "clickhouse"]))
	if err != nil {
		return err
	}
	fmt.Printf("rows: %s exposures, %s events\n", counts[0][0], counts[0][1])
	benchStart := time.Now().Add(-time.Second)
	if out, err := exec.Command("uptime").Output(); err == nil {
		fmt.Printf("load before the statements: %s", out)
	}

	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	target := eventsdb.Target{ID: 1, Version: 1, Kind: engine, Host: host, Port: p, Database: name, User: user,
		SSLMode: "disable", StatementTimeout: 30 * time.Minute}
	pools := eventsdb.NewPools(nil, 4)
	defer pools.Close()
	db, err := pools.Get(ctx, target)
	if err != nil {
		return err
	}

	q := func(s string) string {
		if engine == "mysql" {
			return strings.ReplaceAll(s, `"timestamp"`, "`timestamp`")
		}
		return s
	}
	end := time.Date(2026, 1, 29, 0, 0, 0, 0, time.UTC)
	window, p99 := 72.0, 0.99
	exposuresSQL := q(`SELECT experiment_key, user_id, variant, ts AS "timestamp" FROM exposures`)
	specs := []metricsql.Spec{
		{MetricType: stats.Count, ExperimentKey: "bench", AnalysisEnd: end, ExposuresSQL: exposuresSQL,
			MetricSQL: q(`SELECT user_id, ts AS "timestamp" FROM events WHERE event = 'pageview'`)},
		{MetricType: stats.Revenue, ExperimentKey: "bench", AnalysisEnd: end, ExposuresSQL: exposuresSQL,
			ConversionWindowHours: &window, Cap: &metricsql.Cap{Percentile: &p99},
			MetricSQL: q(`SELECT user_id, ts AS "timestamp", value FROM events WHERE event = 'purchase'`)},
	}
	names := []string{"pageviews (count)", "revenue (72h window, p99 cap)"}
	// A bare baseline on the same rows: the minimum any per-user analysis
	// reads and groups (exposures and one metric's events by user id),
	// so the figures can be read as a ratio on a loaded machine.
	if engine == "clickhouse" {
		t := time.Now()
		if _, err := a.query(ctx, `SELECT toString(count()), toString(sum(n)) FROM (SELECT user_id, count() AS n FROM (
  SELECT user_id FROM `+name+`.exposures WHERE experiment_key = 'bench' UNION ALL SELECT user_id FROM `+name+`.events WHERE event = 'pageview')
  GROUP BY user_id)`); err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		fmt.Printf("%-32s SQL %8s\n", "baseline: GROUP BY user_id", time.Since(t).Round(time.Millisecond))
	}
	for i, s := range specs {
		t := time.Now()
		c, err := metricsql.Run(ctx, db, s, target.StatementTimeout)
		if err != nil {
			return err
		}
		fmt.Printf("%-32s SQL %8s  users %v excluded %d\n", names[i], time.Since(t).Round(time.Millisecond), userCounts(c), c.ExcludedUsers)
	}
	plan := analysis.Plan{ExperimentKey: "bench", Variants: []string{"control", "treatment"}, WeightsBP: []int{5000, 5000},
		ExposuresSQL: exposuresSQL, AnalysisEnd: end}
	plan.SetTimeout(target.StatementTimeout)
	for i, s := range specs {
		plan.Metrics = append(plan.Metrics, analysis.Metric{Key: fmt.Sprintf("m%d", i), Name: names[i], Type: s.MetricType,
			SQL: s.MetricSQL, ConversionWindowHours: s.ConversionWindowHours, Cap: s.Cap, Direction: stats.HigherIsBetter, Primary: i == 0})
	}
	t := time.Now()
	if _, _, err := analysis.Run(ctx, db, plan, 0, time.Now()); err != nil {
		return err
	}
	fmt.Printf("%-32s %s\n", "both metrics, concurrent (refresh job path)", time.Since(t).Round(time.Millisecond))
	if out, err := exec.Command("uptime").Output(); err == nil {
		fmt.Printf("load after: %s", out)
	}

	if engine == "clickhouse" {
		// Waypost's connector logs its statements (log_queries = 1).
		if err := a.exec(ctx, "SYSTEM FLUSH LOGS"); err != nil {
			return fmt.Errorf("flush logs: %w", err)
		}
		rows, err := a.query(ctx, `SELECT toString(query_duration_ms), toString(memory_usage), toString(read_rows)
FROM system.query_log
WHERE type = 2 AND event_time >= toDateTime(`+strconv.FormatInt(benchStart.Unix(), 10)+`)
  AND query LIKE '%wp_kind%' AND query NOT LIKE '%system.query_log%'
ORDER BY event_time, query_start_time`)
		if err != nil {
			return fmt.Errorf("read system.query_log: %w", err)
		}
		fmt.Println("metric statements in system.query_log (server-side duration, memory_usage, rows read):")
		for _, r := range rows {
			ms, _ := strconv.ParseInt(r[0], 10, 64)
			mem, _ := strconv.ParseInt(r[1], 10, 64)
			fmt.Printf("  %8.3f s  %6d MiB  %s rows\n", float64(ms)/1000, mem>>20, r[2])
		}
	}
	return nil
}

func userCounts(c metricsql.Counts) []int64 {
	var out []int64
	for _, v := range c.Variants {
		out = append(out, v.Users)
	}
	return out
}

func openAdmin(ctx context.Context, engine, addr, user string) (*admin, error) {
	switch engine {
	case "clickhouse":
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, Auth: clickhouse.Auth{Username: user},
			ReadTimeout: time.Hour, Settings: clickhouse.Settings{"max_memory_usage": 16 << 30}})
		if err != nil {
			return nil, err
		}
		return &admin{
			exec: func(ctx context.Context, q string) error { return conn.Exec(ctx, q) },
			query: func(ctx context.Context, q string) ([][]string, error) {
				rows, err := conn.Query(ctx, q)
				if err != nil {
					return nil, err
				}
				defer rows.Close()
				var out [][]string
				n := len(rows.Columns())
				for rows.Next() {
					vals := make([]any, n)
					for i := range vals {
						vals[i] = new(string)
					}
					if err := rows.Scan(vals...); err != nil {
						return nil, err
					}
					r := make([]string, n)
					for i, v := range vals {
						r[i] = *(v.(*string))
					}
					out = append(out, r)
				}
				return out, rows.Err()
			},
			close: func() { _ = conn.Close() },
		}, nil
	case "mysql":
		cfg := mysql.NewConfig()
		cfg.User, cfg.Net, cfg.Addr, cfg.DBName = user, "tcp", addr, "mysql" // a current database for the seq_ tables
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		return &admin{
			exec: func(ctx context.Context, q string) error { _, err := db.ExecContext(ctx, q); return err },
			query: func(ctx context.Context, q string) ([][]string, error) {
				var a, b string
				if err := db.QueryRowContext(ctx, q).Scan(&a, &b); err != nil {
					return nil, err
				}
				return [][]string{{a, b}}, nil
			},
			close: func() { _ = db.Close() },
		}, nil
	}
	return nil, fmt.Errorf("unknown engine %q", engine)
}

func generateClickHouse(db string, users, events, exposures int) []string {
	k := "1 + arrayJoin(range(toUInt32(1 + (number + 1) % 3)))"
	if exposures > 0 {
		k = fmt.Sprintf("1 + arrayJoin(range(%d))", exposures)
	}
	return []string{
		`CREATE TABLE ` + db + `.exposures (experiment_key String, user_id String, variant String, ts DateTime('UTC'))
ENGINE = MergeTree ORDER BY (experiment_key, user_id)`,
		fmt.Sprintf(`INSERT INTO %s.exposures
SELECT 'bench', concat('user-', toString(g)),
       if(k = 2 AND g %% 1000 = 0, 'treatment', if(g %% 2 = 0, 'control', 'treatment')),
       toDateTime(1767225600 + g %% 1209600 + (k - 1) * 10800, 'UTC')
FROM (SELECT number + 1 AS g, %s AS k FROM numbers(%d))`, db, k, users),
		fmt.Sprintf(`INSERT INTO %s.exposures
SELECT 'other', concat('user-', toString(number + 1)), if((number + 1) %% 2 = 0, 'a', 'b'), toDateTime(1767571200 + (number + 1) %% 86400, 'UTC')
FROM numbers(%d) WHERE number %% 10 = 0`, db, users),
		`CREATE TABLE ` + db + `.events (user_id String, event String, ts DateTime('UTC'), value Nullable(Float64))
ENGINE = MergeTree ORDER BY (event, user_id)`,
		fmt.Sprintf(`INSERT INTO %s.events
SELECT concat('user-', toString(1 + rand(1) %% %d)), 'pageview', toDateTime(1767139200 + rand(2) %% 2592000, 'UTC'), NULL
FROM numbers(%d)`, db, users, users*events),
		fmt.Sprintf(`INSERT INTO %s.events
SELECT concat('user-', toString(1 + rand(3) %% %d)), 'purchase', toDateTime(1767139200 + rand(4) %% 2592000, 'UTC'),
       exp(3 + 1.2 * sqrt(-2 * log(1 - rand(5) / 4294967296)) * cos(2 * pi() * rand(6) / 4294967296))
FROM numbers(%d)`, db, users, users*events),
	}
}

func generateMariaDB(db string, users, events, exposures int) []string {
	k := "JOIN seq_1_to_3 AS r ON r.seq <= 1 + g.seq % 3"
	if exposures > 0 {
		k = fmt.Sprintf("JOIN seq_1_to_%d AS r", exposures)
	}
	return []string{
		`CREATE TABLE ` + db + `.exposures (experiment_key VARCHAR(32) NOT NULL, user_id VARCHAR(32) NOT NULL, variant VARCHAR(32) NOT NULL, ts DATETIME NOT NULL)`,
		fmt.Sprintf(`INSERT INTO %s.exposures
SELECT 'bench', CONCAT('user-', g.seq),
       CASE WHEN r.seq = 2 AND g.seq %% 1000 = 0 THEN 'treatment' WHEN g.seq %% 2 = 0 THEN 'control' ELSE 'treatment' END,
       TIMESTAMPADD(SECOND, g.seq %% 1209600 + (r.seq - 1) * 10800, '2026-01-01')
FROM seq_1_to_%d AS g %s`, db, users, k),
		fmt.Sprintf(`INSERT INTO %s.exposures
SELECT 'other', CONCAT('user-', seq), IF(seq %% 2 = 0, 'a', 'b'), TIMESTAMPADD(SECOND, seq %% 86400, '2026-01-05')
FROM seq_1_to_%d_step_10`, db, users),
		`CREATE TABLE ` + db + `.events (user_id VARCHAR(32) NOT NULL, event VARCHAR(16) NOT NULL, ts DATETIME NOT NULL, value DOUBLE NULL)`,
		fmt.Sprintf(`INSERT INTO %s.events
SELECT CONCAT('user-', 1 + FLOOR(RAND() * %d)), 'pageview', TIMESTAMPADD(SECOND, FLOOR(RAND() * 2592000), '2025-12-31'), NULL
FROM seq_1_to_%d`, db, users, users*events),
		fmt.Sprintf(`INSERT INTO %s.events
SELECT CONCAT('user-', 1 + FLOOR(RAND() * %d)), 'purchase', TIMESTAMPADD(SECOND, FLOOR(RAND() * 2592000), '2025-12-31'),
       EXP(3 + 1.2 * SQRT(-2 * LN(1 - RAND())) * COS(2 * PI() * RAND()))
FROM seq_1_to_%d`, db, users, users*events),
		`CREATE INDEX exposures_key ON ` + db + `.exposures (experiment_key)`,
		`CREATE INDEX events_event ON ` + db + `.events (event)`,
		`ANALYZE TABLE ` + db + `.exposures, ` + db + `.events`,
	}
}
