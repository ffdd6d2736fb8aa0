package waypost

import (
	"hash/maphash"
	"log/slog"
	"sync"
	"time"
)

// Exposure records that a user was placed in a running experiment.
type Exposure struct {
	ExperimentKey string
	FlagKey       string
	Variant       string
	UserID        string
	Environment   string
	Timestamp     time.Time
}

const dedupeShards = 64

// dedupeSet remembers (experiment, user) pairs, bounded: each of its
// shards forgets its oldest entry when full. Entries are 64-bit hashes,
// so a lookup allocates nothing; a collision (probability ~n/2^64) would
// suppress one exposure.
type dedupeSet struct {
	seed   maphash.Seed
	shards [dedupeShards]dedupeShard
}

type dedupeShard struct {
	mu   sync.Mutex
	idx  map[uint64]int32 // hash -> slot in ring
	ring []uint64         // insertion order, for eviction
	next int
	_    [40]byte // keep shards on separate cache lines
}

func newDedupeSet(capacity int) *dedupeSet {
	per := max(capacity/dedupeShards, 1)
	d := &dedupeSet{seed: maphash.MakeSeed()}
	for i := range d.shards {
		d.shards[i].idx = make(map[uint64]int32)
		d.shards[i].ring = make([]uint64, 0, per)
	}
	return d
}

func (d *dedupeSet) hash(experiment, user string) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	h.WriteString(experiment)
	h.WriteByte(0)
	h.WriteString(user)
	return h.Sum64()
}

// add records h and reports whether it was new.
func (d *dedupeSet) add(h uint64) bool {
	s := &d.shards[h%dedupeShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.idx[h]; ok {
		return false
	}
	if len(s.ring) < cap(s.ring) {
		s.idx[h] = int32(len(s.ring))
		s.ring = append(s.ring, h)
		return true
	}
	old := s.ring[s.next]
	if slot, ok := s.idx[old]; ok && int(slot) == s.next {
		delete(s.idx, old)
	}
	s.ring[s.next] = h
	s.idx[h] = int32(s.next)
	s.next = (s.next + 1) % len(s.ring)
	return true
}

// remove forgets h (used when its exposure could not be queued).
func (d *dedupeSet) remove(h uint64) {
	s := &d.shards[h%dedupeShards]
	s.mu.Lock()
	delete(s.idx, h)
	s.mu.Unlock()
}

// exposer deduplicates exposures and hands them to the hook on one
// goroutine, never blocking the evaluating goroutine. Its queue grows with
// a burst up to ExposureBuffer entries; only beyond that (the hook cannot
// keep up for a sustained time) is an exposure dropped, counted and
// warned about, and offered again on that user's next evaluation.
type exposer struct {
	seen    *dedupeSet
	q       *queue[Exposure]
	hook    func(Exposure)
	log     *slog.Logger
	dropped dropCounter
	done    chan struct{}
	stopped chan struct{}
}

func newExposer(hook func(Exposure), buffer, dedupe int, log *slog.Logger) *exposer {
	e := &exposer{
		seen:    newDedupeSet(dedupe),
		q:       newQueue[Exposure](buffer),
		hook:    hook,
		log:     log,
		dropped: dropCounter{log: log, what: "exposures (ExposureBuffer full: the OnExposure hook cannot keep up)"},
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go e.run()
	return e
}

// offer queues an exposure unless this (experiment, user) pair was seen.
func (e *exposer) offer(experiment, flag, variant, user, env string) {
	h := e.seen.hash(experiment, user)
	if !e.seen.add(h) {
		return
	}
	if !e.q.push(Exposure{
		ExperimentKey: experiment, FlagKey: flag, Variant: variant,
		UserID: user, Environment: env, Timestamp: time.Now(),
	}) {
		e.seen.remove(h) // offer it again on the next evaluation
		e.dropped.add(1, "buffer full")
	}
}

func (e *exposer) run() {
	defer close(e.stopped)
	for {
		select {
		case <-e.q.ready:
			e.deliver()
		case <-e.done:
			e.deliver() // what is already queued, then stop
			return
		}
	}
}

func (e *exposer) deliver() {
	for {
		xs := e.q.pop(256)
		if xs == nil {
			return
		}
		for _, x := range xs {
			e.call(x)
		}
	}
}

func (e *exposer) call(x Exposure) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("waypost: exposure hook panicked", "panic", r, "experiment", x.ExperimentKey)
		}
	}()
	e.hook(x)
}

// close stops the goroutine after delivering the queued exposures.
func (e *exposer) close() {
	close(e.done)
	<-e.stopped
}
