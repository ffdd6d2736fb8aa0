package provider

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A heartbeat skips the streams written to in the last half interval
// (an event is as good as a ping) and pings the others.
func TestHeartbeatSkipsStreamsJustWritten(t *testing.T) {
	p, secret := benchProvider(t)
	p.cfg.HeartbeatInterval = 10 * time.Second
	h := p.hub(1)
	now := time.Now().UnixNano()
	fresh := &stream{hub: h, key: hashKey(secret)}
	fresh.lastWrite.Store(now - int64(time.Second))
	idle := &stream{hub: h, key: hashKey(secret)}
	idle.lastWrite.Store(now - int64(6*time.Second))
	for _, s := range []*stream{fresh, idle} {
		s.closed.Store(true) // not queued for writing: only the marks matter
		h.add(s)
	}
	h.ping(now)
	require.False(t, fresh.needPing.Load(), "written a second ago: no ping")
	require.True(t, idle.needPing.Load(), "silent for 6 s of a 10 s interval: ping")
}

// Streams joining and leaving while changes are broadcast and heartbeats
// run: every stream still in the hub at the end has the last revision,
// and the hub's list stays consistent (run with -race).
func TestHubMembershipChangesDuringBroadcasts(t *testing.T) {
	p, secret := benchProvider(t)
	h := p.hub(1)
	base := p.world.Load().envs[1]
	servers, clients := loopbackPairs(t, 300)
	for _, c := range clients { // keep the receiving ends drained
		go func(c net.Conn) {
			buf := make([]byte, 4096)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
		}(c)
	}
	streams := make([]*stream, len(servers))
	for i, c := range servers {
		streams[i] = &stream{hub: h, key: hashKey(secret), lastSent: base.revision, sink: newConnSink(c)}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // churn: half the streams join and leave repeatedly
		defer wg.Done()
		for round := 0; round < 20; round++ {
			for _, s := range streams[:150] {
				h.add(s)
			}
			for _, s := range streams[:150] {
				h.remove(s)
			}
		}
	}()
	for _, s := range streams[150:] {
		h.add(s)
	}
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			h.ping(time.Now().UnixNano())
		}
	}()
	rev := base.revision
	for i := 0; i < 50; i++ {
		rev++
		h.broadcast(atRevision(base, rev, nil), nil)
	}
	wg.Wait()
	rev++
	h.broadcast(atRevision(base, rev, nil), nil)
	got := h.streams()
	require.Len(t, got, 150)
	for i, s := range got {
		require.Equal(t, i+1, s.idx)
		require.Equal(t, rev, s.lastSent)
	}
	for _, s := range streams[:150] {
		require.Zero(t, s.idx)
	}
}

// atRevision is st's events at another revision (for broadcasts in tests).
func atRevision(st *envState, rev int64, patch *patchEvent) *envState {
	return &envState{id: st.id, project: st.project, key: st.key, revision: rev, set: st.set, snap: st.snap,
		body: st.body, etag: st.etag, put: st.put, refetch: st.refetch, flagJSON: st.flagJSON, segJSON: st.segJSON, patch: patch}
}
