// Package provider is Waypost's flag provider (`waypost provider`): it holds
// every environment's flag set in memory and serves it to SDKs.
//
// Data in: at start it loads every environment from PostgreSQL (retrying
// with backoff; /readyz answers 503 until then, unless a snapshot file let
// it start from its last good state). Afterwards it learns of changes three
// ways, any one of which is enough: signed webhooks pushed by River jobs
// (webhook.go), LISTEN/NOTIFY on the waypost_revision channel (listen.go),
// and a slow periodic revision check. Every path ends in the same place:
// a newer revision replaces the environment's state; older ones are ignored.
//
// Data out: server-sent events (/v1/stream), the flag set (/v1/flags, with
// ETag), and OFREP evaluation (/ofrep/v1/...). Each revision is encoded once
// (state.go) and the same bytes go to every connection; the broadcaster
// never waits on a connection (stream.go). See docs/protocol.md.
package provider
