package eventsdb

import (
	"crypto/tls"
	"fmt"
)

// tlsFor returns the TLS configurations to try in order for t's SSL mode,
// as libpq does (nil = plaintext). verify-ca and verify-full use the
// system roots.
func tlsFor(t Target) ([]*tls.Config, error) {
	insecure := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // sslmode=require/prefer do not verify, like libpq
	switch t.SSLMode {
	case "disable":
		return []*tls.Config{nil}, nil
	case "allow":
		return []*tls.Config{nil, insecure}, nil
	case "", "prefer":
		return []*tls.Config{insecure, nil}, nil
	case "require":
		return []*tls.Config{insecure}, nil
	case "verify-ca", "verify-full":
		return []*tls.Config{{ServerName: t.Host}}, nil
	}
	return nil, fmt.Errorf("unknown ssl mode %q", t.SSLMode)
}

// tlsOne is the TLS configuration of a ClickHouse or MySQL connection,
// which has no plaintext/TLS negotiation like PostgreSQL's (ClickHouse
// serves TLS on its own port, 9440): disable, allow and prefer connect in
// plaintext (MySQL: "preferred", see openMySQL); require encrypts
// without verifying; verify-ca and verify-full verify against the system
// roots.
func tlsOne(t Target) (*tls.Config, error) {
	switch t.SSLMode {
	case "", "disable", "allow", "prefer":
		return nil, nil
	case "require":
		return &tls.Config{InsecureSkipVerify: true}, nil //nolint:gosec // sslmode=require does not verify, like libpq
	case "verify-ca", "verify-full":
		return &tls.Config{ServerName: t.Host}, nil
	}
	return nil, fmt.Errorf("unknown ssl mode %q", t.SSLMode)
}
