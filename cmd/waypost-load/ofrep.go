package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func runOFREP(args []string) error {
	fs := flag.NewFlagSet("ofrep", flag.ExitOnError)
	provider := fs.String("provider", "http://127.0.0.1:8081", "provider base URL")
	key := fs.String("key", "", "SDK key (client or server)")
	flagKey := fs.String("flag", "load-flag", "flag to evaluate")
	conc := fs.Int("c", 50, "concurrent requests")
	dur := fs.Duration("d", 10*time.Second, "duration")
	_ = fs.Parse(args)

	tr := &http.Transport{MaxIdleConnsPerHost: *conc, MaxConnsPerHost: *conc, DisableCompression: true}
	client := &http.Client{Transport: tr}
	url := *provider + "/ofrep/v1/evaluate/flags/" + *flagKey
	var ok, failed atomic.Int64
	lat := make([][]time.Duration, *conc)
	stop := time.Now().Add(*dur)
	var wg sync.WaitGroup
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				body := `{"context":{"targetingKey":"user-` + strconv.Itoa(w*1_000_000+i) + `"}}`
				req, _ := http.NewRequest("POST", url, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+*key)
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				_ = res.Body.Close()
				if res.StatusCode != 200 {
					failed.Add(1)
					continue
				}
				ok.Add(1)
				if i%16 == 0 {
					lat[w] = append(lat[w], time.Since(t0))
				}
			}
		}(w)
	}
	wg.Wait()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	p := func(q float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[int(q*float64(len(all)-1))]
	}
	fmt.Printf("ofrep single-flag: %d ok, %d failed in %s at concurrency %d: %.0f req/s (p50 %s, p99 %s)\n",
		ok.Load(), failed.Load(), *dur, *conc, float64(ok.Load())/dur.Seconds(), p(0.5), p(0.99))
	return nil
}
