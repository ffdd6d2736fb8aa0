package config

import "net/url"

// RedactURL hides the password of a connection URL for logs.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return "(connection string hidden)"
	}
	return u.Redacted()
}
