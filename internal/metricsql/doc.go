// Package metricsql turns a user's exposures query and metric query into
// one SQL statement that runs in the user's events database (any
// PostgreSQL) and returns per-variant sufficient statistics — users, Σx,
// Σx² of the per-user metric values — for package stats. The per-user work
// happens in the database; only one row per variant comes back.
//
// Per-user semantics of the statement built by Build:
//
//   - Only exposures to the experiment key with timestamp <= the analysis
//     end count; rows with a NULL user_id or variant are ignored.
//   - A user's variant is the variant of their exposures; a user exposed
//     to more than one variant is excluded from every variant and counted
//     in a separate row whose variant is NULL (users = the count, sums 0).
//     That row is absent when no user was excluded.
//   - A user's first exposure starts their window; events count when
//     first_exposure <= event timestamp <= least(first_exposure +
//     conversion window, analysis end) (both ends inclusive; without a
//     window the window ends at the analysis end). Events before the first
//     exposure or after the analysis end are ignored.
//   - Per-user value: binomial 1 if at least one qualifying event, else 0;
//     count = number of qualifying events; duration and revenue = sum of
//     the value column of qualifying events (NULL values ignored). Users
//     without qualifying events count with value 0.
//   - An optional cap replaces each per-user value x by least(x, cap),
//     where cap is an absolute value or percentile_cont(q) over the
//     per-user values of all analysed users (excluded users left out,
//     users with value 0 included). Caps are upper caps only.
//
// The user queries are validated (a single SELECT-like statement; a
// trailing semicolon is tolerated) and wrapped as CTEs (WITH wp_exposures AS (<exposures query>), wp_metric AS
// (<metric query>), ...); user-supplied
// values (experiment key, analysis end, window, cap) are always bind
// parameters. ReadOnly runs any events-database work inside BEGIN READ
// ONLY with SET LOCAL statement_timeout, so even a data-modifying query
// that slips past validation is refused by the database itself.
package metricsql
