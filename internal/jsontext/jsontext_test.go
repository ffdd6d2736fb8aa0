package jsontext

import (
	"testing"

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
