package eval

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"testing"
)

// jsonScalar is what encoding/json makes of raw (trimmed), the reference
// the scanner must agree with: ok false when raw is not one JSON value.
func jsonScalar(raw []byte) (x any, ok bool) {
	raw = bytes.TrimSpace(raw)
	if !json.Valid(raw) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		return nil, false
	}
	return x, true
}

var scalarSeeds = []string{
	`"CA"`, ` "a b" `, `""`, `"\u00e9\n\"\\"`, `"\ud83d\ude80"`, "\"\xff\xfe\"", "\"tab\there\"", `"unterminated`,
	`"a"b`, `"a" "b"`, `"a"]`, `0`, `-0`, `01`, `-`, `1.`, `.5`, `1.5e3`, `1E+2`, `1e`, `-12.25e-3`, `1e400`,
	`1e-400`, `18 ]`, `1 2`, `true`, `false`, `truex`, `tru`, `null`, `[1]`, `{"a":1}`, `[`, ``, "\v1", "\u00a01",
}

// FuzzScalar checks the clause value scanner against encoding/json: the
// same strings, booleans and numbers, and an error exactly when
// encoding/json sees no single value (or a number out of range).
func FuzzScalar(f *testing.F) {
	for _, s := range scalarSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := decodeScalar(raw)
		x, ok := jsonScalar(raw)
		if !ok {
			if err == nil {
				t.Fatalf("%q: not JSON, decoded as %+v", raw, got)
			}
			return
		}
		switch v := x.(type) {
		case string:
			if err != nil || got.kind != 's' || got.s != v {
				t.Fatalf("%q: want string %q, got %+v, %v", raw, v, got, err)
			}
		case bool:
			if err != nil || got.kind != 'b' || got.b != v {
				t.Fatalf("%q: want bool %v, got %+v, %v", raw, v, got, err)
			}
		case json.Number:
			fl, perr := strconv.ParseFloat(string(v), 64)
			if perr != nil || math.IsInf(fl, 0) {
				if err == nil {
					t.Fatalf("%q: out of range, decoded as %+v", raw, got)
				}
				return
			}
			if err != nil || got.kind != 'n' || got.n != fl {
				t.Fatalf("%q: want number %v, got %+v, %v", raw, fl, got, err)
			}
		default:
			if err == nil {
				t.Fatalf("%q: not a scalar, decoded as %+v", raw, got)
			}
		}
	})
}

// FuzzVariantValue checks variant value decoding against encoding/json
// for every kind: same value, same compact Raw, an error exactly when
// encoding/json has no value of that kind.
func FuzzVariantValue(f *testing.F) {
	for _, s := range scalarSeeds {
		for k := range 4 {
			f.Add([]byte(s), uint8(k))
		}
	}
	kinds := []Kind{KindBoolean, KindString, KindNumber, KindJSON}
	f.Fuzz(func(t *testing.T, raw []byte, k uint8) {
		kind := kinds[int(k)%len(kinds)]
		got, err := decodeValue(kind, raw)
		x, ok := jsonScalar(raw)
		var compact bytes.Buffer
		if ok {
			ok = json.Compact(&compact, bytes.TrimSpace(raw)) == nil
		}
		want := Value{Kind: kind, Raw: compact.Bytes()}
		switch v := x.(type) {
		case bool:
			want.Bool = v
			ok = ok && kind != KindString && kind != KindNumber
		case string:
			want.String = v
			ok = ok && kind != KindBoolean && kind != KindNumber
		case json.Number:
			ok = ok && kind != KindBoolean && kind != KindString
			if ok && kind == KindNumber {
				fl, perr := strconv.ParseFloat(string(v), 64)
				ok = perr == nil
				want.Float = fl
				if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
					want.Int, want.IsInt = i, true
				} else if fl == math.Trunc(fl) && fl >= -(1<<63) && fl < 1<<63 {
					want.Int, want.IsInt = int64(fl), true
				}
			}
		default:
			ok = ok && kind == KindJSON
		}
		if kind == KindJSON {
			want.Bool, want.String = false, ""
		}
		if !ok {
			if err == nil {
				t.Fatalf("%s %q: want an error, got %+v", kind, raw, got)
			}
			return
		}
		if err != nil || !bytes.Equal(got.Raw, want.Raw) || got.Bool != want.Bool || got.String != want.String ||
			got.Int != want.Int || got.IsInt != want.IsInt || !(got.Float == want.Float || math.IsNaN(got.Float) && math.IsNaN(want.Float)) {
			t.Fatalf("%s %q: want %+v, got %+v, %v", kind, raw, want, got, err)
		}
	})
}
