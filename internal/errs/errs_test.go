package errs_test

import (
	"errors"
	"testing"

	"github.com/waypost/waypost/internal/errs"
)

func TestProblemsReportsEveryFieldOnce(t *testing.T) {
	var p errs.Problems
	if p.Err() != nil {
		t.Fatal("no problems is nil")
	}
	p.Add(nil)
	p.Add(errs.Invalid("key", "is required"))
	p.Add(errs.Invalid("key", "a second message for the same field"))
	p.Add(&errs.Error{Kind: errs.KindInvalid, Code: "invalid", Field: "host", Message: "is required",
		Fields: []errs.FieldError{{Field: "host", Message: "is required"}, {Field: "user", Message: "is required"}}})
	e, ok := errs.As(p.Err())
	if !ok || e.Field != "key" || e.Message != "is required" || e.Kind != errs.KindInvalid {
		t.Fatalf("first problem: %+v", e)
	}
	want := []errs.FieldError{{Field: "key", Message: "is required"}, {Field: "host", Message: "is required"}, {Field: "user", Message: "is required"}}
	if len(e.Fields) != len(want) {
		t.Fatalf("fields %+v, want %+v", e.Fields, want)
	}
	for i := range want {
		if e.Fields[i] != want[i] {
			t.Fatalf("fields %+v, want %+v", e.Fields, want)
		}
	}

	// An error that is not about a field (the database is down) wins.
	down := errors.New("connection reset")
	p.Add(down)
	if !errors.Is(p.Err(), down) {
		t.Fatalf("got %v, want the non-field error", p.Err())
	}
}
