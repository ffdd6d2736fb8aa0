// Package require is the subset of testify's require that the SDK's tests
// use, so that the SDK module needs no test dependency its users would
// inherit in their go.sum. Each assertion stops the test on failure.
package require

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func fail(t testing.TB, msg string, msgAndArgs []any) {
	t.Helper()
	if len(msgAndArgs) > 0 {
		if f, ok := msgAndArgs[0].(string); ok {
			msg += ": " + fmt.Sprintf(f, msgAndArgs[1:]...)
		} else {
			msg += ": " + fmt.Sprint(msgAndArgs...)
		}
	}
	t.Fatal(msg)
}

func equal(a, b any) bool {
	if ab, ok := a.([]byte); ok {
		bb, ok := b.([]byte)
		return ok && bytes.Equal(ab, bb)
	}
	return reflect.DeepEqual(a, b)
}

// Equal asserts reflect.DeepEqual(expected, actual) (bytes compared as bytes).
func Equal(t testing.TB, expected, actual any, msgAndArgs ...any) {
	t.Helper()
	if !equal(expected, actual) {
		fail(t, fmt.Sprintf("not equal:\nexpected: %#v\nactual:   %#v", expected, actual), msgAndArgs)
	}
}

// EqualValues asserts equality after converting actual to expected's type.
func EqualValues(t testing.TB, expected, actual any, msgAndArgs ...any) {
	t.Helper()
	if equal(expected, actual) {
		return
	}
	ev, av := reflect.ValueOf(expected), reflect.ValueOf(actual)
	if ev.IsValid() && av.IsValid() && av.Type().ConvertibleTo(ev.Type()) && equal(expected, av.Convert(ev.Type()).Interface()) {
		return
	}
	fail(t, fmt.Sprintf("not equal values:\nexpected: %#v\nactual:   %#v", expected, actual), msgAndArgs)
}

// NoError asserts err == nil.
func NoError(t testing.TB, err error, msgAndArgs ...any) {
	t.Helper()
	if err != nil {
		fail(t, "unexpected error: "+err.Error(), msgAndArgs)
	}
}

// Error asserts err != nil.
func Error(t testing.TB, err error, msgAndArgs ...any) {
	t.Helper()
	if err == nil {
		fail(t, "an error is expected", msgAndArgs)
	}
}

// ErrorIs asserts errors.Is(err, target).
func ErrorIs(t testing.TB, err, target error, msgAndArgs ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		fail(t, fmt.Sprintf("error %v is not %v", err, target), msgAndArgs)
	}
}

// ErrorAs asserts errors.As(err, target).
func ErrorAs(t testing.TB, err error, target any, msgAndArgs ...any) {
	t.Helper()
	if !errors.As(err, target) {
		fail(t, fmt.Sprintf("error %v is not a %T", err, target), msgAndArgs)
	}
}

// True asserts v.
func True(t testing.TB, v bool, msgAndArgs ...any) {
	t.Helper()
	if !v {
		fail(t, "should be true", msgAndArgs)
	}
}

// False asserts !v.
func False(t testing.TB, v bool, msgAndArgs ...any) {
	t.Helper()
	if v {
		fail(t, "should be false", msgAndArgs)
	}
}

func length(v any) (int, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Array, reflect.Chan, reflect.Map, reflect.Slice, reflect.String:
		return rv.Len(), true
	}
	return 0, false
}

// Len asserts that v (slice, map, string, array, chan) has n elements.
func Len(t testing.TB, v any, n int, msgAndArgs ...any) {
	t.Helper()
	if l, ok := length(v); !ok || l != n {
		fail(t, fmt.Sprintf("%#v should have %d elements, has %d", v, n, l), msgAndArgs)
	}
}

func isZero(v any) bool {
	if v == nil {
		return true
	}
	if l, ok := length(v); ok {
		return l == 0
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		return rv.IsNil()
	}
	return rv.IsZero()
}

// Empty asserts v is nil, zero or of length 0.
func Empty(t testing.TB, v any, msgAndArgs ...any) {
	t.Helper()
	if !isZero(v) {
		fail(t, fmt.Sprintf("should be empty: %#v", v), msgAndArgs)
	}
}

// NotEmpty is the opposite of Empty.
func NotEmpty(t testing.TB, v any, msgAndArgs ...any) {
	t.Helper()
	if isZero(v) {
		fail(t, fmt.Sprintf("should not be empty: %#v", v), msgAndArgs)
	}
}

// Zero asserts v is its type's zero value.
func Zero(t testing.TB, v any, msgAndArgs ...any) {
	t.Helper()
	if v != nil && !reflect.ValueOf(v).IsZero() {
		fail(t, fmt.Sprintf("should be zero: %#v", v), msgAndArgs)
	}
}

// NotNil asserts v is not nil (nor a nil pointer, map, slice...).
func NotNil(t testing.TB, v any, msgAndArgs ...any) {
	t.Helper()
	if v == nil {
		fail(t, "should not be nil", msgAndArgs)
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface:
		if rv.IsNil() {
			fail(t, "should not be nil", msgAndArgs)
		}
	}
}

// LessOrEqual asserts a <= b for integers, floats and strings.
func LessOrEqual(t testing.TB, a, b any, msgAndArgs ...any) {
	t.Helper()
	av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
	ok := false
	if av.Kind() == bv.Kind() {
		switch {
		case av.CanInt():
			ok = av.Int() <= bv.Int()
		case av.CanUint():
			ok = av.Uint() <= bv.Uint()
		case av.CanFloat():
			ok = av.Float() <= bv.Float()
		case av.Kind() == reflect.String:
			ok = strings.Compare(av.String(), bv.String()) <= 0
		}
	}
	if !ok {
		fail(t, fmt.Sprintf("%v should be <= %v", a, b), msgAndArgs)
	}
}

// Eventually asserts that cond returns true within wait, checking every tick.
func Eventually(t testing.TB, cond func() bool, wait, tick time.Duration, msgAndArgs ...any) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			fail(t, "condition not met within "+wait.String(), msgAndArgs)
		}
		time.Sleep(tick)
	}
}
