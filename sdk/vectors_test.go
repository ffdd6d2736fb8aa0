package waypost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/waypost/waypost/sdk/eval"
	"github.com/waypost/waypost/sdk/internal/require"
)

// vectors mirrors the format of sdk/testdata/evaluation-cases.json
// (defined in sdk/eval/internal/vectors, which Go's internal rule keeps
// out of reach of this package).
var vectors = struct {
	TypeBoolean, TypeString, TypeNumber, TypeInteger, TypeJSON string
}{"boolean", "string", "number", "integer", "json"}

type vectorFile struct {
	FlagSets map[string]eval.FlagSet `json:"flagSets"`
	Cases    []vectorCase            `json:"cases"`
}

type vectorCase struct {
	Name         string          `json:"name"`
	FlagSet      string          `json:"flagSet"`
	Flag         string          `json:"flag"`
	TargetingKey string          `json:"targetingKey"`
	Type         string          `json:"type"`
	Default      json.RawMessage `json:"default"`
	Expected     vectorExpected  `json:"expected"`
}

type vectorExpected struct {
	Value         json.RawMessage `json:"value"`
	Variant       string          `json:"variant"`
	Reason        string          `json:"reason"`
	ErrorCode     string          `json:"errorCode"`
	ExperimentKey string          `json:"experimentKey"`
}

// TestSharedVectorsThroughClient evaluates every shared test vector
// through a Client whose flag set was loaded by the bootstrap file path.
func TestSharedVectorsThroughClient(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "evaluation-cases.json"))
	require.NoError(t, err)
	var file vectorFile
	require.NoError(t, json.Unmarshal(raw, &file))
	require.NotEmpty(t, file.Cases)

	clients := map[string]*Client{}
	for name, set := range file.FlagSets {
		path := filepath.Join(t.TempDir(), name+".json")
		b, err := json.Marshal(set)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, b, 0o600))
		c, err := New(t.Context(), Config{Offline: true, BootstrapFile: path, Logger: testLogger(t)})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		require.Equal(t, SourceBootstrap, c.Status().Source, name)
		clients[name] = c
	}

	for _, tc := range file.Cases {
		c := clients[tc.FlagSet]
		require.NotNil(t, c, tc.Name)
		got, err := runCase(c, tc)
		require.NoError(t, err, tc.Name)
		require.Equal(t, tc.Expected.Variant, got.Variant, tc.Name)
		require.Equal(t, tc.Expected.Reason, got.Reason, tc.Name)
		require.Equal(t, tc.Expected.ErrorCode, got.ErrorCode, tc.Name)
		require.Equal(t, tc.Expected.ExperimentKey, got.ExperimentKey, tc.Name)
		require.True(t, sameJSON(t, tc.Expected.Value, got.Value), "%s: value %s, want %s", tc.Name, got.Value, tc.Expected.Value)
	}
}

func runCase(c *Client, tc vectorCase) (vectorExpected, error) {
	var (
		val any
		r   eval.Result
	)
	switch tc.Type {
	case vectors.TypeBoolean:
		var def bool
		if err := json.Unmarshal(tc.Default, &def); err != nil {
			return vectorExpected{}, err
		}
		val, r = c.BoolDetail(tc.Flag, tc.TargetingKey, def)
	case vectors.TypeString:
		var def string
		if err := json.Unmarshal(tc.Default, &def); err != nil {
			return vectorExpected{}, err
		}
		val, r = c.StringDetail(tc.Flag, tc.TargetingKey, def)
	case vectors.TypeNumber:
		var def float64
		if err := json.Unmarshal(tc.Default, &def); err != nil {
			return vectorExpected{}, err
		}
		val, r = c.FloatDetail(tc.Flag, tc.TargetingKey, def)
	case vectors.TypeInteger:
		var def int64
		if err := json.Unmarshal(tc.Default, &def); err != nil {
			return vectorExpected{}, err
		}
		val, r = c.IntDetail(tc.Flag, tc.TargetingKey, def)
	case vectors.TypeJSON:
		val, r = c.JSONDetail(tc.Flag, tc.TargetingKey, tc.Default)
	default:
		return vectorExpected{}, fmt.Errorf("case %q: unknown type %q", tc.Name, tc.Type)
	}
	b, err := json.Marshal(val)
	if err != nil {
		return vectorExpected{}, err
	}
	return vectorExpected{Value: b, Variant: r.Variant, Reason: r.Reason, ErrorCode: r.ErrorCode, ExperimentKey: r.ExperimentKey}, nil
}

// sameJSON compares JSON values (numbers by value, key order ignored).
func sameJSON(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y any
	dec := func(raw json.RawMessage, v *any) {
		d := json.NewDecoder(bytes.NewReader(raw))
		require.NoError(t, d.Decode(v))
	}
	dec(a, &x)
	dec(b, &y)
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}
