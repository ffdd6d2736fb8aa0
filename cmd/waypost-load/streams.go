package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"
)

type child struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func runStreams(mode string, args []string) error {
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	provider := fs.String("provider", "http://127.0.0.1:8081", "provider base URL")
	manager := fs.String("manager", "http://127.0.0.1:8080", "manager base URL (fanout)")
	key := fs.String("key", "", "server SDK key")
	streams := fs.Int("streams", 10000, "streams in total")
	procs := fs.Int("procs", 2, "client processes (each holds streams/procs)")
	changes := fs.Int("changes", 10, "changes to measure (fanout)")
	flagKey := fs.String("flag", "load-flag", "flag to toggle (fanout)")
	pid := fs.Int("provider-pid", 0, "provider process id, to read its RSS")
	_ = fs.Parse(args)

	baseRSS := rssKiB(*pid)
	baseGo := goMem(*provider)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var kids []*child
	start := time.Now()
	for i := 0; i < *procs; i++ {
		n := *streams / *procs
		if i == *procs-1 {
			n = *streams - n*(*procs-1)
		}
		cmd := exec.Command(self, "child", "-provider", *provider, "-key", *key, "-streams", strconv.Itoa(n))
		cmd.Stderr = os.Stderr
		in, _ := cmd.StdinPipe()
		outPipe, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			return err
		}
		sc := bufio.NewScanner(outPipe)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		kids = append(kids, &child{cmd: cmd, in: in, out: sc})
	}
	defer func() {
		for _, k := range kids {
			_ = k.in.Close()
			_ = k.cmd.Process.Kill()
			_ = k.cmd.Wait()
		}
	}()
	for _, k := range kids {
		if !k.out.Scan() || !strings.HasPrefix(k.out.Text(), "ready") {
			return fmt.Errorf("a client process failed to open its streams")
		}
	}
	fmt.Printf("streams: %d open and current after %s\n", *streams, time.Since(start).Round(time.Millisecond))
	time.Sleep(2 * time.Second) // let the provider settle (GC)
	if *pid > 0 {
		rss := rssKiB(*pid)
		fmt.Printf("provider RSS: %d KiB before, %d KiB with streams: %.2f KiB per stream\n",
			baseRSS, rss, float64(rss-baseRSS)/float64(*streams))
	}
	if g := goMem(*provider); g > 0 {
		fmt.Printf("provider Go heap+stack in use: %.2f KiB per stream\n", float64(g-baseGo)/1024/float64(*streams))
	}
	if mode != "fanout" {
		return nil
	}

	var all []float64
	for i := 0; i < *changes; i++ {
		cpuBefore := cpuTicks(*pid)
		before := applyTime(*provider)
		rev, err := toggle(*manager, *flagKey, i%2 == 0)
		if err != nil {
			return err
		}
		var applied int64
		for t0 := time.Now(); time.Since(t0) < 10*time.Second; time.Sleep(time.Millisecond) {
			if a := applyTime(*provider); a != before {
				applied = a
				break
			}
		}
		if applied == 0 {
			return fmt.Errorf("the provider did not apply revision %d", rev)
		}
		missed := 0
		for _, k := range kids {
			fmt.Fprintf(k.in, "wait %d\n", rev)
			if !k.out.Scan() {
				return fmt.Errorf("client process died")
			}
			var times []int64
			if err := json.Unmarshal([]byte(strings.TrimPrefix(k.out.Text(), "times ")), &times); err != nil {
				return err
			}
			for _, t := range times {
				if t == 0 {
					missed++
					continue
				}
				all = append(all, float64(t-applied)/1e6)
			}
		}
		fmt.Printf("change %d: provider handed it to all sockets in %ss, using %d ms of CPU\n", i,
			strings.TrimSpace(metricRaw(*provider, "waypost_provider_last_broadcast_seconds")), (cpuTicks(*pid)-cpuBefore)*10)
		if missed > 0 {
			fmt.Printf("change %d: %d streams did not receive revision %d within 10 s\n", i, missed, rev)
		}
		time.Sleep(300 * time.Millisecond)
	}
	sort.Float64s(all)
	q := func(p float64) float64 { return all[int(p*float64(len(all)-1))] }
	fmt.Printf("fan-out to %d streams x %d changes (ms from provider apply to client read): p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n",
		*streams, *changes, q(0.5), q(0.9), q(0.99), all[len(all)-1])
	return nil
}

func rssKiB(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// metric reads one series; Prometheus writes large values in exponent
// form (1.7646e+18), so it is parsed as a float.
func metric(provider, name string) int64 {
	f, _ := strconv.ParseFloat(metricRaw(provider, name), 64)
	return int64(f)
}

func metricRaw(provider, name string) string {
	res, err := http.Get(provider + "/metrics")
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, line := range bytes.Split(b, []byte("\n")) {
		if f := strings.Fields(string(line)); len(f) == 2 && f[0] == name {
			return f[1]
		}
	}
	return ""
}

func applyTime(provider string) int64 {
	return metric(provider, "waypost_provider_last_apply_unixnano")
}

func goMem(provider string) int64 {
	return metric(provider, "go_memstats_heap_inuse_bytes") + metric(provider, "go_memstats_stack_inuse_bytes")
}

// managerDo sends a request to the manager as WAYPOST_TOKEN (an API token,
// from `waypost tokens create`).
func managerDo(req *http.Request) (*http.Response, error) {
	req.Header.Set("Authorization", "Bearer "+os.Getenv("WAYPOST_TOKEN"))
	return http.DefaultClient.Do(req)
}

// toggle sets the flag in production and returns the new revision.
func toggle(manager, key string, on bool) (int64, error) {
	req, _ := http.NewRequest("PATCH", manager+"/api/v1/projects/default/flags/"+key+"/environments/production",
		strings.NewReader(fmt.Sprintf(`{"enabled":%t}`, on)))
	req.Header.Set("Content-Type", "application/json")
	res, err := managerDo(req)
	if err != nil {
		return 0, err
	}
	_ = res.Body.Close()
	if res.StatusCode != 200 {
		return 0, fmt.Errorf("toggle: %s", res.Status)
	}
	req, _ = http.NewRequest("GET", manager+"/api/v1/projects/default/environments", nil)
	res, err = managerDo(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var envs struct {
		Items []struct {
			Key      string
			Revision int64
		}
	}
	if err := json.NewDecoder(res.Body).Decode(&envs); err != nil {
		return 0, err
	}
	for _, e := range envs.Items {
		if e.Key == "production" {
			return e.Revision, nil
		}
	}
	return 0, fmt.Errorf("no production environment")
}

// cpuTicks is the process's user+system CPU time in clock ticks (1/100 s).
func cpuTicks(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}
