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
