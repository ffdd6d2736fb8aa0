package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A child holds streams and talks to its parent over stdin/stdout:
//
//	-> "ready <n>"                 when every stream has its first event
//	<- "wait <revision>"           parent asks for the receive times of a revision
//	-> "times <json []int64>"      unix-nano receive times (0 = not received in time)
//
// It reads every socket from one epoll loop on one thread, so that the
// client's own cost (and its competition with the provider for the same
// cores) is as small as possible: the figures are the provider's.
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
	addr, err := net.ResolveTCPAddr("tcp", u.Host)
	if err != nil {
		return err
	}
	ep, err := syscall.EpollCreate1(0)
	if err != nil {
		return fmt.Errorf("epoll: %w", err)
	}
	req := []byte(fmt.Sprintf("GET /v1/stream HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", u.Host, *key))
	conns := map[int32]*rawStream{}
	order := make([]*rawStream, 0, *n)
	for i := 0; i < *n; i++ {
		fd, err := dialRaw(addr)
		if err != nil {
			return fmt.Errorf("stream %d: %w", i, err)
		}
		if _, err := syscall.Write(fd, req); err != nil {
			return fmt.Errorf("stream %d: send request: %w", i, err)
		}
		if err := syscall.SetNonblock(fd, true); err != nil {
			return err
		}
		rs := &rawStream{fd: fd, times: map[int64]int64{}}
		conns[int32(fd)] = rs
		order = append(order, rs)
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
		if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return err
		}
	}

	var mu sync.Mutex // guards every rawStream's times and first
	readyLeft := *n
	readyCh := make(chan struct{})
	go func() {
		events := make([]syscall.EpollEvent, 1024)
		buf := make([]byte, 256<<10)
		for {
			k, err := syscall.EpollWait(ep, events, -1)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return
			}
			for _, ev := range events[:k] {
				rs := conns[ev.Fd]
				for {
					m, err := syscall.Read(rs.fd, buf)
					if m <= 0 || err != nil {
						break
					}
					now := time.Now().UnixNano()
					mu.Lock()
					if rs.consume(buf[:m], now) && !rs.first {
						rs.first = true
						readyLeft--
						if readyLeft == 0 {
							close(readyCh)
						}
					}
					mu.Unlock()
				}
			}
		}
	}()
	select {
	case <-readyCh:
	case <-time.After(120 * time.Second):
		return fmt.Errorf("not every stream got its first event")
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "ready %d\n", len(order))
	out.Flush()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		if cmd != "wait" {
			continue
		}
		rev, _ := strconv.ParseInt(arg, 10, 64)
		deadline := time.Now().Add(10 * time.Second)
		times := make([]int64, len(order))
		for {
			missing := 0
			mu.Lock()
			for i, rs := range order {
				if times[i] == 0 {
					times[i] = rs.times[rev]
					if times[i] == 0 {
						missing++
					}
				}
			}
			mu.Unlock()
			if missing == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		b, _ := json.Marshal(times)
		fmt.Fprintf(out, "times %s\n", b)
		out.Flush()
	}
	return nil
}

func dialRaw(addr *net.TCPAddr) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return 0, err
	}
	sa := &syscall.SockaddrInet4{Port: addr.Port}
	copy(sa.Addr[:], addr.IP.To4())
	for attempt := 0; ; attempt++ {
		err = syscall.Connect(fd, sa)
		if err == nil || attempt > 20 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		syscall.Close(fd)
		return 0, err
	}
	return fd, nil
}

// rawStream parses server-sent events incrementally and records when each
// event id was completely received.
type rawStream struct {
	fd     int
	carry  []byte // partial line
	lastID int64
	times  map[int64]int64
	first  bool
}

// consume feeds bytes; it reports whether an event completed.
func (rs *rawStream) consume(b []byte, now int64) bool {
	done := false
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(rs.carry) < 64 { // only a line's start matters ("id: ")
				rs.carry = append(rs.carry, b[:min(len(b), 64-len(rs.carry))]...)
			}
			return done
		}
		line := b[:i]
		if len(rs.carry) > 0 {
			line = append(rs.carry, line[:min(len(line), 64)]...)
			rs.carry = rs.carry[:0]
		}
		b = b[i+1:]
		line = bytes.TrimSuffix(line, []byte("\r"))
		switch {
		case len(line) == 0:
			if rs.lastID > 0 {
				if rs.times[rs.lastID] == 0 {
					rs.times[rs.lastID] = now
				}
				done = true
			}
		case bytes.HasPrefix(line, []byte("id: ")):
			rs.lastID, _ = strconv.ParseInt(string(line[4:]), 10, 64)
		}
	}
	return done
}
