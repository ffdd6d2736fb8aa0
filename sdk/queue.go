package waypost

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// queue is an unbounded-looking FIFO with a hard bound: it grows as
// needed up to max entries (memory is only used while a burst is being
// drained) and refuses pushes beyond that. push never blocks, so an
// evaluating goroutine is never held up by a slow consumer; ready is
// signalled (capacity 1, never blocking) whenever something was pushed.
type queue[T any] struct {
	mu    sync.Mutex
	items []T
	head  int
	max   int
	ready chan struct{}
}

func newQueue[T any](max int) *queue[T] {
	return &queue[T]{max: max, ready: make(chan struct{}, 1)}
}

// push appends x and reports whether there was room.
func (q *queue[T]) push(x T) bool {
	q.mu.Lock()
	if len(q.items)-q.head >= q.max {
		q.mu.Unlock()
		return false
	}
	if q.head > 0 && len(q.items) == cap(q.items) && q.head >= len(q.items)/2 {
		// Reuse the consumed front half instead of growing.
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, x)
	q.mu.Unlock()
	q.signal()
	return true
}

// pushFront puts xs back at the head (a batch that could not be sent);
// they were already counted against the bound, so it always succeeds.
func (q *queue[T]) pushFront(xs []T) {
	if len(xs) == 0 {
		return
	}
	q.mu.Lock()
	rest := q.items[q.head:]
	items := make([]T, 0, len(xs)+len(rest))
	q.items = append(append(items, xs...), rest...)
	q.head = 0
	q.mu.Unlock()
	// No signal: the batch is retried on the next interval, not at once.
}

// pop removes and returns up to n entries from the head (nil if empty).
func (q *queue[T]) pop(n int) []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	avail := len(q.items) - q.head
	if avail == 0 {
		return nil
	}
	n = min(n, avail)
	out := make([]T, n)
	copy(out, q.items[q.head:q.head+n])
	clear(q.items[q.head : q.head+n])
	q.head += n
	if q.head == len(q.items) { // empty: release a grown buffer
		q.head = 0
		if cap(q.items) > 4096 {
			q.items = nil
		} else {
			q.items = q.items[:0]
		}
	}
	return out
}

func (q *queue[T]) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) - q.head
}

func (q *queue[T]) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// dropCounter counts dropped entries and logs a warning at most once per
// interval (not once per entry: an overloaded app must not also flood its
// log).
type dropCounter struct {
	n        atomic.Uint64
	lastWarn atomic.Int64
	log      *slog.Logger
	what     string
}

const dropWarnInterval = 10 * time.Second

func (d *dropCounter) add(n int, reason string) {
	total := d.n.Add(uint64(n))
	now := time.Now().UnixNano()
	last := d.lastWarn.Load()
	if now-last < int64(dropWarnInterval) || !d.lastWarn.CompareAndSwap(last, now) {
		return
	}
	d.log.Warn("waypost: dropping "+d.what, "reason", reason, "dropped_total", total)
}

func (d *dropCounter) load() uint64 { return d.n.Load() }
