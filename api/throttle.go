package api

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// throttle holds token buckets by key (a client address, an account),
// forgetting buckets that have been full for a while so memory stays
// bounded under an attack from many addresses.
type throttle struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	buckets map[string]*rate.Limiter
	swept   time.Time
}

func newThrottle(every time.Duration, burst int) *throttle {
	return &throttle{every: rate.Every(every), burst: burst, buckets: map[string]*rate.Limiter{}}
}

// allow takes one token from key's bucket, reporting false (and how long
// until the next token) when it is empty.
func (t *throttle) allow(key string, now time.Time) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.swept) > time.Minute {
		for k, b := range t.buckets {
			if b.TokensAt(now) >= float64(t.burst) {
				delete(t.buckets, k)
			}
		}
		t.swept = now
	}
	b, ok := t.buckets[key]
	if !ok {
		b = rate.NewLimiter(t.every, t.burst)
		t.buckets[key] = b
	}
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}
