package provider

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/waypost/waypost/sdk/eval"
)

// Fan-out at the kernel's floor. BenchmarkFanout writes one change to N
// loopback TCP sockets two ways in the same process, with the same number
// of writing goroutines (GOMAXPROCS) and the same chunking:
//
//   - bare: the event's bytes handed to write(2) on each socket's file
//     descriptor in a plain loop, nothing else (the floor);
//   - provider: hub.broadcast of a new revision to N hijacked streams
//     (what a change costs the provider once the revision is applied).
//
// Each reports cpu-ns/stream (process CPU time from getrusage, per stream
// per change) beside ns/op; the provider's figure over the bare one is
// the overhead multiple docs/benchmarks.md quotes. Receiving ends are
// drained with the timer stopped. Streams: WAYPOST_FANOUT_STREAMS
// (comma-separated, default 1000,5000; every stream costs two descriptors).
func BenchmarkFanout(b *testing.B) {
	counts := []int{1000, 5000}
	if v := os.Getenv("WAYPOST_FANOUT_STREAMS"); v != "" {
		counts = nil
		for _, f := range splitComma(v) {
			n, err := strconv.Atoi(f)
			if err != nil || n <= 0 {
				b.Fatalf("WAYPOST_FANOUT_STREAMS: %q", f)
			}
			counts = append(counts, n)
		}
	}
	for _, n := range counts {
		b.Run(fmt.Sprintf("bare/streams=%d", n), func(b *testing.B) { benchFanout(b, n, false) })
		b.Run(fmt.Sprintf("provider/streams=%d", n), func(b *testing.B) { benchFanout(b, n, true) })
	}
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

// loopbackPairs returns n connected loopback TCP pairs (server, client).
func loopbackPairs(tb testing.TB, n int) (servers, clients []net.Conn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, n)
	go func() {
		for i := 0; i < n; i++ {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			tb.Fatalf("dial %d: %v (each stream needs two descriptors: raise ulimit -n)", i, err)
		}
		clients = append(clients, c)
		s, ok := <-accepted
		if !ok {
			tb.Fatal("accept failed")
		}
		servers = append(servers, s)
	}
	tb.Cleanup(func() {
		for i := range servers {
			_ = servers[i].Close()
			_ = clients[i].Close()
		}
	})
	return servers, clients
}

// drain reads exactly want bytes from every client.
func drain(tb testing.TB, clients []net.Conn, want int) {
	if want == 0 {
		return
	}
	buf := make([]byte, 256<<10)
	for _, c := range clients {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		left := want
		for left > 0 {
			n, err := c.Read(buf[:min(left, len(buf))])
			if err != nil {
				tb.Fatalf("drain: %v with %d bytes missing", err, left)
			}
			left -= n
		}
	}
}

func cpuNanos() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func benchFanout(b *testing.B, n int, viaProvider bool) {
	servers, clients := loopbackPairs(b, n)
	p, secret := benchProvider(b)
	base := p.world.Load().envs[1]
	// A realistic change: one flag of the 20 toggled, sent as a patch.
	next := *base.set
	next.Revision++
	next.Flags = append([]eval.Flag(nil), base.set.Flags...)
	next.Flags[3].Enabled = false
	changed, err := newEnvState(1, &next, base)
	if err != nil || changed.patch == nil {
		b.Fatal("no patch", err)
	}
	ev := changed.patch.event
	event := ev.plain
	h := p.hub(1)
	h.cur.Store(base)
	fds := make([]int, n)
	for i, c := range servers {
		raw, err := c.(*net.TCPConn).SyscallConn()
		if err != nil {
			b.Fatal(err)
		}
		_ = raw.Control(func(fd uintptr) { fds[i] = int(fd) })
		if viaProvider {
			s := &stream{hub: h, key: hashKey(secret), kind: streamFlags, lastSent: base.revision, sink: newConnSink(c)}
			h.add(s)
		}
	}
	parts := runtime.GOMAXPROCS(0)
	if n < 256 {
		parts = 1
	}
	bare := func() {
		var wg sync.WaitGroup
		for i := 0; i < parts; i++ {
			chunk := fds[i*n/parts : (i+1)*n/parts]
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, fd := range chunk {
					if _, err := syscall.Write(fd, event); err != nil {
						panic(err)
					}
				}
			}()
		}
		wg.Wait()
	}
	rev := base.revision
	// Drain before the sockets' buffers could fill (a full socket would
	// send the provider to its slow lane, which the bare loop lacks).
	every := max(1, (64<<10)/len(event))
	var cpu int64
	pendingChanges := 0
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuNanos()
	for i := 0; i < b.N; i++ {
		if viaProvider {
			rev++
			h.broadcast(atRevision(changed, rev, &patchEvent{base: rev - 1, event: ev}), nil)
		} else {
			bare()
		}
		pendingChanges++
		if pendingChanges == every {
			cpu += cpuNanos() - c0
			b.StopTimer()
			drain(b, clients, pendingChanges*len(event))
			pendingChanges = 0
			b.StartTimer()
			c0 = cpuNanos()
		}
	}
	cpu += cpuNanos() - c0
	b.StopTimer()
	b.ReportMetric(float64(cpu)/float64(b.N)/float64(n), "cpu-ns/stream")
	drain(b, clients, pendingChanges*len(event))
	if viaProvider {
		if got := p.metrics.closedLagging.Load(); got != 0 {
			b.Fatalf("%d streams closed as lagging", got)
		}
	}
}
