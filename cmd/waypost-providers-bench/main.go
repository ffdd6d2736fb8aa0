// Command waypost-providers-bench measures one manager and many provider
// processes sharing one PostgreSQL (run through scripts/bench-providers.sh,
// which starts them): it holds one SSE stream on every provider given,
// toggles a flag through the manager's API a few times, and for each
// change records
//
//   - per-provider delivery latency, from the change's commit (PostgreSQL's
//     commit timestamp of the environment row when track_commit_timestamp
//     is on, else the moment the request was sent) to the moment the
//     stream had read the event carrying the new revision;
//   - PostgreSQL load: statements and rows (pg_stat_statements, all users
//     but the observing one), net of the idle rate measured just before;
//   - River webhook jobs inserted (provider_webhook), and how many of them
//     name the -dead provider.
//
// It prints one markdown table row (see -header) and exits non-zero only
// on a set-up error. Usage:
//
//	waypost-providers-bench -phase "50 live" -manager URL -token T -key K \
//	    -db OBSERVER_URL -providers URL,URL,... [-dead URL] [-changes 3]
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "waypost-providers-bench:", err)
		os.Exit(1)
	}
}

// Header is the table the rows belong to.
const Header = "| phase | live providers | changes | delivery p50 | p99 | max | missed | statements / change | rows / change | webhook jobs / change | jobs for the dead provider |\n" +
	"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"

type options struct {
	phase, manager, token, key, db, flagKey, project, env, dead string
	providers                                                   []string
	changes                                                     int
}

func run() error {
	var o options
	var provs string
	header := flag.Bool("header", false, "print the table header and exit")
	flag.StringVar(&o.phase, "phase", "", "label of this row")
	flag.StringVar(&o.manager, "manager", "http://127.0.0.1:8080", "manager base URL")
	flag.StringVar(&o.token, "token", "", "API token (editor or more)")
	flag.StringVar(&o.key, "key", "", "server SDK key of the environment")
	flag.StringVar(&o.db, "db", "", "PostgreSQL URL of Waypost's database, as an observing user excluded from the counts")
	flag.StringVar(&o.flagKey, "flag", "load-flag", "flag to toggle")
	flag.StringVar(&o.project, "project", "default", "project key")
	flag.StringVar(&o.env, "env", "production", "environment key")
	flag.StringVar(&provs, "providers", "", "comma-separated provider base URLs, one stream each")
	flag.StringVar(&o.dead, "dead", "", "webhook base URL of a killed provider whose jobs are counted apart")
	flag.IntVar(&o.changes, "changes", 3, "changes to measure")
	flag.Parse()
	if *header {
		fmt.Println(Header)
		return nil
	}
	for _, p := range strings.Split(provs, ",") {
		if p = strings.TrimSpace(p); p != "" {
			o.providers = append(o.providers, p)
		}
	}
	if len(o.providers) == 0 || o.token == "" || o.key == "" || o.db == "" {
		return errors.New("-providers, -token, -key and -db are required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return measure(ctx, o)
}

// stream is one SSE connection; seen maps revision -> receive time.
type stream struct {
	mu   sync.Mutex
	seen map[int64]time.Time
}

func (s *stream) at(rev int64) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.seen[rev]
	return t, ok
}

func openStream(ctx context.Context, base, key string, ready chan<- error) *stream {
	s := &stream{seen: map[int64]time.Time{}}
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/stream", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Accept", "text/event-stream")
		res, err := http.DefaultClient.Do(req)
		if err == nil && res.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s: stream answered %s", base, res.Status)
		}
		if err != nil {
			ready <- err
			return
		}
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		var id int64
		first := true
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				id, _ = strconv.ParseInt(line[4:], 10, 64)
			case line == "" && id > 0:
				now := time.Now()
				s.mu.Lock()
				if _, ok := s.seen[id]; !ok {
					s.seen[id] = now
				}
				s.mu.Unlock()
				if first {
					first = false
					ready <- nil
				}
			}
		}
	}()
	return s
}

// pgCounters are cumulative statement and row counts of every user but
// the observer.
type pgCounters struct{ calls, rows float64 }

func readCounters(ctx context.Context, db *pgx.Conn) (pgCounters, error) {
	var c pgCounters
	err := db.QueryRow(ctx, `SELECT coalesce(sum(calls),0)::float8, coalesce(sum(rows),0)::float8
		FROM pg_stat_statements WHERE userid <> (SELECT oid FROM pg_roles WHERE rolname = current_user)`).Scan(&c.calls, &c.rows)
	return c, err
}

func maxJobID(ctx context.Context, db *pgx.Conn) (int64, error) {
	var id int64
	err := db.QueryRow(ctx, `SELECT coalesce(max(id),0) FROM river_job`).Scan(&id)
	return id, err
}

func measure(ctx context.Context, o options) error {
	db, err := pgx.Connect(ctx, o.db)
	if err != nil {
		return fmt.Errorf("observer connection: %w", err)
	}
	defer db.Close(ctx)
	var envID int64
	if err := db.QueryRow(ctx, `SELECT e.id FROM environments e JOIN projects p ON p.id = e.project_id
		WHERE p.key = $1 AND e.key = $2`, o.project, o.env).Scan(&envID); err != nil {
		return fmt.Errorf("environment %s/%s: %w", o.project, o.env, err)
	}
	var deadID string
	if o.dead != "" {
		_ = db.QueryRow(ctx, `SELECT id FROM providers WHERE webhook_url = $1 OR webhook_url LIKE $1 || '/%' LIMIT 1`, o.dead).Scan(&deadID)
	}

	ready := make(chan error, len(o.providers))
	streams := make([]*stream, len(o.providers))
	for i, p := range o.providers {
		streams[i] = openStream(ctx, p, o.key, ready)
	}
	for range o.providers {
		select {
		case err := <-ready:
			if err != nil {
				return err
			}
		case <-time.After(30 * time.Second):
			return errors.New("not every provider sent its first event within 30 s")
		}
	}

	// Idle rate: what heartbeats, River's polling and the providers' checks
	// cost with no change, subtracted from every change's window.
	const idle = 3 * time.Second
	c0, err := readCounters(ctx, db)
	if err != nil {
		return fmt.Errorf("pg_stat_statements: %w", err)
	}
	time.Sleep(idle)
	c1, _ := readCounters(ctx, db)
	idleCalls, idleRows := (c1.calls-c0.calls)/idle.Seconds(), (c1.rows-c0.rows)/idle.Seconds()

	var lat []float64
	var missed int
	var netCalls, netRows, jobs, deadJobs float64
	on := false
	for i := 0; i < o.changes; i++ {
		jobFloor, err := maxJobID(ctx, db)
		if err != nil {
			return err
		}
		var prevRev int64
		if err := db.QueryRow(ctx, `SELECT revision FROM environments WHERE id = $1`, envID).Scan(&prevRev); err != nil {
			return err
		}
		before, _ := readCounters(ctx, db)
		windowStart := time.Now()
		on = !on
		sent := time.Now()
		if err := toggle(ctx, o, on); err != nil {
			return err
		}
		var now int64
		if err := db.QueryRow(ctx, `SELECT revision FROM environments WHERE id = $1`, envID).Scan(&now); err != nil {
			return err
		}
		if now == prevRev { // the flag already had that state (an earlier run): flip the other way
			on = !on
			sent = time.Now()
			if err := toggle(ctx, o, on); err != nil {
				return err
			}
		}
		var rev int64
		var committed *time.Time
		if err := db.QueryRow(ctx, `SELECT revision, pg_xact_commit_timestamp(xmin) FROM environments WHERE id = $1`, envID).Scan(&rev, &committed); err != nil {
			// track_commit_timestamp off: fall back to the request's start.
			if err := db.QueryRow(ctx, `SELECT revision FROM environments WHERE id = $1`, envID).Scan(&rev); err != nil {
				return err
			}
			committed = nil
		}
		origin := sent
		if committed != nil {
			origin = *committed
		}
		deadline := time.Now().Add(10 * time.Second)
		got := make([]time.Time, len(streams))
		for {
			left := 0
			for j, s := range streams {
				if got[j].IsZero() {
					if t, ok := s.at(rev); ok {
						got[j] = t
					} else {
						left++
					}
				}
			}
			if left == 0 || time.Now().After(deadline) {
				missed += left
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		for _, t := range got {
			if !t.IsZero() {
				lat = append(lat, float64(t.Sub(origin))/float64(time.Millisecond))
			}
		}
		// Let the webhook jobs run before closing the window (they are
		// part of the change's cost), then count what the change inserted.
		settle(ctx, db, jobFloor)
		after, _ := readCounters(ctx, db)
		w := time.Since(windowStart).Seconds()
		netCalls += after.calls - before.calls - idleCalls*w
		netRows += after.rows - before.rows - idleRows*w
		var n, d float64
		if err := db.QueryRow(ctx, `SELECT count(*)::float8, count(*) FILTER (WHERE args->>'provider_id' = $2)::float8
			FROM river_job WHERE id > $1 AND kind = 'provider_webhook'`, jobFloor, deadID).Scan(&n, &d); err != nil {
			return err
		}
		jobs += n
		deadJobs += d
		var live int
		_ = db.QueryRow(ctx, `SELECT count(*) FROM live_providers`).Scan(&live)
		fmt.Fprintf(os.Stderr, "%s: change %d (revision %d): %d live provider rows, %.0f webhook jobs, %d/%d streams got it\n",
			o.phase, i+1, rev, live, n, len(streams)-countZero(got), len(streams))
	}
	sort.Float64s(lat)
	q := func(p float64) string {
		if len(lat) == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f ms", lat[int(p*float64(len(lat)-1)+0.5)])
	}
	k := float64(o.changes)
	dead := "-"
	if o.dead != "" {
		dead = fmt.Sprintf("%.0f", deadJobs/k)
		if deadID == "" {
			dead = "no row"
		}
	}
	fmt.Printf("| %s | %d | %d | %s | %s | %s | %d | %.0f | %.0f | %.1f | %s |\n",
		o.phase, len(o.providers), o.changes, q(0.5), q(0.99), q(1), missed, netCalls/k, netRows/k, jobs/k, dead)
	return nil
}

// settle waits (at most 5 s) until no webhook job newer than floor is
// waiting or running, then half a second more for the providers' reloads.
func settle(ctx context.Context, db *pgx.Conn, floor int64) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var pending int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE id > $1 AND kind = 'provider_webhook'
			AND state IN ('available','running','scheduled','pending')`, floor).Scan(&pending); err != nil || pending == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
}

func toggle(ctx context.Context, o options, on bool) error {
	u := fmt.Sprintf("%s/api/v1/projects/%s/flags/%s/environments/%s", o.manager, o.project, o.flagKey, o.env)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPatch, u, strings.NewReader(fmt.Sprintf(`{"enabled":%t}`, on)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+o.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("change: %w", err)
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("change: manager answered %s", res.Status)
	}
	return nil
}

func countZero(ts []time.Time) int {
	n := 0
	for _, t := range ts {
		if t.IsZero() {
			n++
		}
	}
	return n
}
