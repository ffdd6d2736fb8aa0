// Package faulttest is Waypost's fault-injection suite (tests only): a
// provider whose database connections go through a TCP proxy
// (dbtest.Proxy) that restarts, freezes and refuses the database, with
// LISTEN connections killed, webhooks lost, and the provider killed and
// restarted from its snapshot while the database is down. Each test
// asserts that a Go SDK converges to the database's latest revision within
// a bound and that no change is lost. It runs with the other packages
// (`make test`).
package faulttest
