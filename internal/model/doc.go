// Package model holds Waypost's domain types (projects, environments, flags,
// per-environment state, custom assignments, SDK keys, flag events) and the
// request types that change them. Request types validate themselves and
// return *errs.Error values of KindInvalid naming the offending field, so
// the same rules hold for every caller (REST API, tests, future CLIs).
//
// JSON field names are snake_case, as in the REST API.
package model
