package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A child holds streams and talks to its parent over stdin/stdout:
//
//	-> "ready <n>"                 when every stream has its first event
//	<- "wait <revision>"           parent asks for the receive times of a revision
//	-> "times <json []int64>"      unix-nano receive times (0 = not received in time)
func runChild(args []string) error {
	fs := flag.NewFlagSet("child", flag.ExitOnError)
	provider := fs.String("provider", "", "provider base URL")
	key := fs.String("key", "", "server SDK key")
	n := fs.Int("streams", 1000, "streams to hold")
	_ = fs.Parse(args)
	u, err := url.Parse(*provider)
	if err != nil {
		return err
	}
	conns := make([]*clientStream, *n)
	var ready sync.WaitGroup
	for i := range conns {
		c := &clientStream{}
		conns[i] = c
		ready.Add(1)
		for attempt := 0; ; attempt++ {
			err = c.open(u.Host, *key, &ready)
			if err == nil || attempt > 20 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("stream %d: %w", i, err)
		}
	}
	ready.Wait()
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "ready %d\n", len(conns))
	out.Flush()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		if cmd != "wait" {
			continue
		}
		rev, _ := strconv.ParseInt(arg, 10, 64)
		deadline := time.Now().Add(10 * time.Second)
		times := make([]int64, len(conns))
		for i, c := range conns {
			for {
				if t := c.timeOf(rev); t != 0 {
					times[i] = t
					break
				}
				if time.Now().After(deadline) {
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
		b, _ := json.Marshal(times)
		fmt.Fprintf(out, "times %s\n", b)
		out.Flush()
	}
	return nil
}

// clientStream reads one SSE stream and remembers when each event id arrived.
type clientStream struct {
	lastID   atomic.Int64
	lastTime atomic.Int64
	mu       sync.Mutex
	times    map[int64]int64
}

func (c *clientStream) open(host, key string, ready *sync.WaitGroup) error {
	conn, err := net.Dial("tcp", host)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(conn, "GET /v1/stream HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", host, key); err != nil {
		return err
	}
	c.times = map[int64]int64{}
	go func() {
		defer conn.Close()
		r := bufio.NewReaderSize(conn, 64<<10)
		first := true
		for {
			line, err := r.ReadSlice('\n')
			if err != nil && err != bufio.ErrBufferFull {
				return
			}
			if len(line) > 4 && string(line[:4]) == "id: " {
				id, _ := strconv.ParseInt(strings.TrimSpace(string(line[4:])), 10, 64)
				c.mu.Lock()
				c.times[id] = 0 // seen the id; the time is set at the event's end
				c.lastID.Store(id)
				c.mu.Unlock()
			}
			if (len(line) == 1 && line[0] == '\n') || (len(line) == 2 && line[0] == '\r') {
				if id := c.lastID.Load(); id != 0 {
					now := time.Now().UnixNano()
					c.mu.Lock()
					if c.times[id] == 0 {
						c.times[id] = now
					}
					c.mu.Unlock()
					if first {
						first = false
						ready.Done()
					}
				}
			}
		}
	}()
	return nil
}

func (c *clientStream) timeOf(rev int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.times[rev]
}
