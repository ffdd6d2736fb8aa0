package provider_test

import (
	"testing"
	"time"
	"unicode/utf8"

	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/provider"
)

// FuzzDecodeWebhook: any body either decodes to a positive announcement
// or is a typed client error; it never panics.
func FuzzDecodeWebhook(f *testing.F) {
	f.Add([]byte(`{"environmentId":1,"revision":42}`))
	f.Add([]byte(`{"environmentId":1,"revision":1125899906842624,"flagSet":{"flags":[]},"keys":[]}`))
	f.Add([]byte(`{"environmentId":0,"revision":-1}`))
	f.Add([]byte(`{"environmentId":1,"revision":2,"note":"a\u0000b"}`))
	f.Add([]byte("{\"environmentId\":1,\"revision\":2,\"x\":\"\xff\"}"))
	f.Add([]byte(`{"environmentId":1,"revision":2} {"environmentId":1}`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := provider.DecodeWebhook(body)
		if err != nil {
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.KindBadRequest {
				t.Fatalf("untyped or non-400 error %v for %q", err, body)
			}
			return
		}
		if in.EnvironmentID <= 0 || in.Revision <= 0 {
			t.Fatalf("accepted %+v from %q", in, body)
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted invalid UTF-8 %q", body)
		}
	})
}

// FuzzDecodeEvents: a batch is either refused with a typed 4xx error or
// every event in it is valid text (no NUL, valid UTF-8) and validated.
func FuzzDecodeEvents(f *testing.F) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ts := now.Add(-time.Minute).Format(time.RFC3339Nano)
	f.Add([]byte(`{"events":[{"type":"exposure","idempotencyKey":"k1","experimentKey":"exp","userId":"u1","variant":"on","timestamp":"` + ts + `"}]}`))
	f.Add([]byte(`{"events":[{"type":"metric","idempotencyKey":"k4","metric":"purchase","userId":"u1","value":12.5,"timestamp":"` + ts + `"}]}`))
	f.Add([]byte(`{"events":[{"type":"metric","idempotencyKey":"k","metric":"m","userId":"u\u0000","timestamp":"` + ts + `"}]}`))
	f.Add([]byte("{\"events\":[{\"type\":\"metric\",\"idempotencyKey\":\"k\",\"metric\":\"\xc3\",\"userId\":\"u\",\"timestamp\":\"" + ts + "\"}]}"))
	f.Add([]byte(`{"events":[],"extra":1}`))
	f.Add([]byte(`{"events":[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		batch, err := provider.DecodeEvents(body, now)
		if err != nil {
			e, ok := errs.As(err)
			if !ok || (e.Kind != errs.KindBadRequest && e.Kind != errs.KindInvalid) {
				t.Fatalf("untyped or non-4xx error %v for %q", err, body)
			}
			return
		}
		for i, ev := range batch.Events {
			for _, s := range []string{ev.UserID, ev.IdempotencyKey, ev.ExperimentKey, ev.Variant, ev.Metric} {
				if !utf8.ValidString(s) || containsNUL(s) {
					t.Fatalf("event %d accepted with text %q", i, s)
				}
			}
		}
	})
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}
