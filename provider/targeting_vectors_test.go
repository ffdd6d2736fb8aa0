package provider_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/provider"
	"github.com/waypost/waypost/sdk/eval"
)

// vectorCase is one case of the shared vectors (sdk/testdata/evaluation-cases.json).
type vectorCase struct {
	Name, FlagSet, Flag, TargetingKey, Type string
	Context                                 map[string]json.RawMessage
	Expected                                struct {
		Value                                             json.RawMessage
		Variant, Reason, ErrorCode, ExperimentKey, RuleID string
	}
}

type vectorFile struct {
	FlagSets map[string]json.RawMessage `json:"flagSets"`
	Cases    []vectorCase               `json:"cases"`
}

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	raw, err := os.ReadFile("../sdk/testdata/evaluation-cases.json")
	require.NoError(t, err)
	var f vectorFile
	require.NoError(t, json.Unmarshal(raw, &f))
	return f
}

// vectorProvider runs a provider serving the vectors' flag set name in
// production, and returns it with a client and a server key. Webhooks only
// announce revisions, so the set is installed directly, as a worker's load
// would.
func vectorProvider(t *testing.T, f vectorFile, name string) (prov *runningProvider, client, server string) {
	t.Helper()
	h := newHarness(t, false)
	h.createFlag("quote")
	prov = h.startProvider("", func(c *provider.Config) { c.DisableNotify = true })
	client, _ = h.sdkKey("client")
	server, _ = h.sdkKey("server")
	var set eval.FlagSet
	require.NoError(t, json.Unmarshal(f.FlagSets[name], &set))
	set.Revision = prov.p.Revision(h.prodID()) + 1
	require.NoError(t, prov.p.ApplyFlagSet(h.prodID(), &set))
	return prov, client, server
}

// ofrepContextBody is the OFREP request for a case: its targeting key and
// its attributes exactly as the vector file spells them.
func ofrepContextBody(c vectorCase) ([]byte, error) {
	ctx := make(map[string]json.RawMessage, len(c.Context)+1)
	for k, v := range c.Context {
		ctx[k] = v
	}
	tk, err := json.Marshal(c.TargetingKey)
	if err != nil {
		return nil, err
	}
	ctx["targetingKey"] = tk
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any{"context": ctx}); err != nil {
		return nil, fmt.Errorf("encode the context of %s: %w", c.Name, err)
	}
	return b.Bytes(), nil
}

type ofrepAnswer struct {
	Value                      json.RawMessage
	Variant, Reason, ErrorCode string
	Metadata                   struct {
		RuleID        string `json:"ruleId"`
		ExperimentKey string `json:"experimentKey"`
	}
}

// checkVectorCase evaluates c through POST /ofrep/v1/evaluate/flags/{flag}
// and describes how the answer differs from the vector ("" if it does not).
func checkVectorCase(hc *http.Client, base, key string, c vectorCase) (string, error) {
	body, err := ofrepContextBody(c)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequest("POST", base+"/ofrep/v1/evaluate/flags/"+c.Flag, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("request for %s: %w", c.Name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("evaluate %s: %w", c.Name, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return "", fmt.Errorf("read the answer to %s: %w", c.Name, err)
	}
	var got ofrepAnswer
	if err := json.Unmarshal(raw, &got); err != nil {
		return fmt.Sprintf("%s: %d %s", c.Name, res.StatusCode, raw), nil
	}
	want := c.Expected
	if want.ErrorCode != "" {
		if got.ErrorCode != want.ErrorCode {
			return fmt.Sprintf("%s: %s\n  want errorCode %s", c.Name, raw, want.ErrorCode), nil
		}
		return "", nil
	}
	if res.StatusCode != http.StatusOK || got.Variant != want.Variant || got.Reason != want.Reason ||
		got.Metadata.RuleID != want.RuleID || got.Metadata.ExperimentKey != want.ExperimentKey || !sameJSON(got.Value, want.Value) {
		return fmt.Sprintf("%s %s: %d %s\n  want value=%s variant=%q reason=%q ruleId=%q experimentKey=%q",
			c.Name, body, res.StatusCode, raw, want.Value, want.Variant, want.Reason, want.RuleID, want.ExperimentKey), nil
	}
	return "", nil
}

func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// TestOFREPMatchesTheTargetingVectors: every case of the vectors'
// "targeting" flag set (rules on every operator and attribute type,
// segments, prerequisites, audiences, layers), with its full context,
// evaluates through OFREP with a client key exactly as in local
// evaluation: value, variant, reason, rule id and experiment key. An
// attribute type the OFREP decoder dropped or mistyped fails here.
func TestOFREPMatchesTheTargetingVectors(t *testing.T) {
	t.Parallel()
	f := loadVectors(t)
	prov, client, _ := vectorProvider(t, f, "targeting")
	var cases []vectorCase
	withContext := 0
	for _, c := range f.Cases {
		if c.FlagSet != "targeting" || c.Expected.ErrorCode == "TYPE_MISMATCH" {
			continue // OFREP has no typed getters: type mismatches are the client's
		}
		cases = append(cases, c)
		if len(c.Context) > 0 {
			withContext++
		}
	}
	require.Greater(t, len(cases), 5000, "the targeting set's cases")
	require.Greater(t, withContext, 4000)

	const workers = 4
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	t.Cleanup(hc.CloseIdleConnections)
	todo := make(chan vectorCase)
	var (
		mu         sync.Mutex
		mismatches []string
		failure    error
		wg         sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for c := range todo {
				diff, err := checkVectorCase(hc, prov.url, client, c)
				mu.Lock()
				if err != nil && failure == nil {
					failure = err
				}
				if diff != "" {
					mismatches = append(mismatches, diff)
				}
				mu.Unlock()
			}
		})
	}
	for _, c := range cases {
		todo <- c
	}
	close(todo)
	wg.Wait()
	require.NoError(t, failure)
	shown := mismatches[:min(len(mismatches), 10)]
	require.Empty(t, mismatches, "%d of %d cases differ; the first:\n%s", len(mismatches), len(cases), strings.Join(shown, "\n"))
}

// TestClientKeyGetsValuesOnly: with the targeting vectors served, a client
// key is refused the full definitions (/v1/flags and /v1/stream), and its
// bulk OFREP answer holds values and rule ids, never a clause, segment or
// segment member.
func TestClientKeyGetsValuesOnly(t *testing.T) {
	t.Parallel()
	prov, client, server := vectorProvider(t, loadVectors(t), "targeting")
	get := func(path, key string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", prov.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(raw)
	}
	status, raw := get("/v1/flags", client)
	require.Equal(t, http.StatusForbidden, status, raw)
	require.NotContains(t, raw, "clauses")
	status, raw = get("/v1/flags", server)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, raw, "big-999", "a server key gets the segments (so the checks below can fail)")
	_, status = openStream(t, prov.url+"/v1/stream", client, "")
	require.Equal(t, http.StatusForbidden, status, "client keys never get the definitions' stream")
	_, status = openStream(t, prov.url+"/v1/stream?sdk_key="+client, "", "")
	require.Equal(t, http.StatusForbidden, status, "nor through the query parameter")

	status, _, body, bulk := ofrepPost(t, prov.url+"/ofrep/v1/evaluate/flags", client,
		`{"context":{"targetingKey":"big-7","country":"CA","plan":"enterprise"}}`)
	require.Equal(t, http.StatusOK, status, bulk)
	require.Contains(t, bulk, `"ruleId":"countries"`, "rules were evaluated")
	require.Contains(t, bulk, `"ruleId":"enterprise"`)
	for _, secret := range []string{"clauses", "segments", "included", "excluded", "prerequisites", "big-999", "user-3", "@waypost.dev"} {
		require.NotContains(t, bulk, secret)
	}
	allowed := map[string]bool{"flags": true, "key": true, "value": true, "reason": true, "variant": true, "metadata": true,
		"version": true, "ruleId": true, "experimentKey": true, "errorCode": true, "errorDetails": true, "revision": true,
		"eventStreams": true, "type": true, "url": true, "endpoint": true, "requestUri": true}
	for _, name := range memberNames(body) {
		require.True(t, allowed[name], "the bulk answer has a member %q: %s", name, bulk)
	}
}

// memberNames lists the member names of every object in v (flag values,
// which are the flags' own data, excepted).
func memberNames(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			out = append(out, k)
			if k != "value" {
				out = append(out, memberNames(e)...)
			}
		}
	case []any:
		for _, e := range v {
			out = append(out, memberNames(e)...)
		}
	}
	return out
}
