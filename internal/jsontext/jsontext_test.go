package jsontext

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/errs"
)

func TestCheckNamesTheField(t *testing.T) {
	t.Parallel()
	for body, field := range map[string]string{
		`{"name":"a\u0000b"}`: "name",
		`{"name":"ok","variants":[{"key":"on"},{"value":"x\u0000"}]}`: "variants[1].value",
		"{\"events\":[{\"userId\":\"u\"},{\"userId\":\"\xff\xfe\"}]}": "events[1].userId",
		"{\"a\":{\"b\":[1,2,\"\xc3\"]}}":                              "a.b[2]",
		`{"k\u0000":1}`:                                               "k\x00",
	} {
		err := Check([]byte(body))
		e, ok := errs.As(err)
		require.True(t, ok, "%q: %v", body, err)
		require.Equal(t, errs.KindBadRequest, e.Kind)
		require.Equal(t, field, e.Field, body)
	}
	for _, body := range []string{`{"name":"plain ü \\u0000 escaped backslash"}`, `{"a":[1,{"b":null}]}`, `not json`, `{"n":"\ufffd"}`} {
		require.NoError(t, Check([]byte(body)), body)
	}
}

// FuzzCheck: Check never panics, and a body it passes decodes to strings
// that are valid UTF-8 without NUL.
func FuzzCheck(f *testing.F) {
	f.Add([]byte(`{"name":"a\u0000b"}`))
	f.Add([]byte("{\"a\":[\"\xff\"]}"))
	f.Add([]byte(`{"a":{"b":[1,"x",{"c":"d"}]},"e":null}`))
	f.Add([]byte(`{"k\u0000":1}`))
	f.Add([]byte(`"\\u0000"`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if Check(body) != nil {
			return
		}
		var v any
		if json.Unmarshal(body, &v) != nil {
			return
		}
		var walk func(any)
		walk = func(v any) {
			switch x := v.(type) {
			case string:
				if strings.ContainsRune(x, 0) || (!utf8.Valid(body) && strings.ContainsRune(x, utf8.RuneError)) {
					t.Fatalf("passed %q", body)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			case map[string]any:
				for k, e := range x {
					walk(k)
					walk(e)
				}
			}
		}
		walk(v)
	})
}
