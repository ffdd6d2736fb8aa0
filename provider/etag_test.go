package provider

import (
	"strings"
	"testing"
)

func FuzzIfNoneMatch(f *testing.F) {
	f.Add(`"42-abc"`, `"42-abc"`)
	f.Add(`W/"1", "2" ,*`, `"2"`)
	f.Add(`"a,b", W/"c`, `"c"`)
	f.Add(`garbage "x"`, `"x"`)
	f.Fuzz(func(t *testing.T, header, etag string) {
		got := ifNoneMatch([]string{header}, etag)
		o := opaqueTag(etag)
		tagged := len(o) >= 2 && o[0] == '"' && o[len(o)-1] == '"' && !strings.Contains(o[1:len(o)-1], `"`)
		if tagged && !ifNoneMatch([]string{etag}, etag) {
			t.Fatalf("%s does not match itself", etag)
		}
		if tagged && !ifNoneMatch([]string{"W/" + o}, etag) {
			t.Fatalf("W/%s does not match %s weakly", o, etag)
		}
		if got && !tagged && !strings.Contains(header, "*") {
			t.Fatalf("%q matched %q, which is not an entity tag", header, etag)
		}
		if !ifNoneMatch([]string{"*"}, etag) {
			t.Fatal(`"*" must match`)
		}
	})
}
