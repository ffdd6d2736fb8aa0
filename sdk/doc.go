// Package waypost is the Go server SDK of Waypost, a self-hosted feature
// flag platform.
//
// A Client holds one environment's flag set, kept current by a
// background connection to a Waypost provider (docs/protocol.md): an
// initial GET /v1/flags, then the /v1/stream Server-Sent Events stream of
// put and patch events. Evaluation (Bool, String, Float, Int, JSON and
// their Detail variants) reads an immutable compiled snapshot through an
// atomic pointer: it never blocks, never touches the network and does not
// allocate. The evaluation rules are those of package eval
// (docs/evaluation.md).
//
// While the provider is unreachable the client keeps serving the last
// flags it had, reconnecting with exponential backoff (full jitter); a
// rejected key (401, 403, key_revoked) stops the retries. Before the
// first fetch it can serve a bootstrap flag set (Config.Bootstrap, or
// Config.BootstrapFile, which PersistBootstrap keeps up to date).
//
// Evaluations that place a user in a running experiment call
// Config.OnExposure once per (user, experiment), from a separate
// goroutine. Config.OnChange and Client.Listen report changed flag keys
// and connection state changes; Status reports the current state.
//
// The sub-package openfeature adapts a Client to the OpenFeature Go SDK.
package waypost
