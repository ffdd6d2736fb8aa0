package api

import "time"

// RouteLevels exposes the access rules to the black-box tests: method and
// pattern -> level name (public, signedIn, personal, owner, viewer,
// editor, admin) and whether protected environments need admin.
func RouteLevels() map[string]struct {
	Level   string
	Protect bool
} {
	names := map[level]string{public: "public", signedIn: "signedIn", personal: "personal", owner: "owner",
		viewer: "viewer", editor: "editor", admin: "admin"}
	out := map[string]struct {
		Level   string
		Protect bool
	}{}
	for k, r := range routeRules {
		out[k] = struct {
			Level   string
			Protect bool
		}{names[r.level], r.protect}
	}
	return out
}

// RuleKey is ruleKey for the tests.
var RuleKey = ruleKey

// LoginThrottle is the address throttle's refill interval and burst.
func LoginThrottle() (time.Duration, int) { return loginAddrEvery, loginAddrBurst }
