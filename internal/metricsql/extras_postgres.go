package metricsql

import (
	"fmt"

	"github.com/waypost/waypost/internal/stats"
)

// This file holds the PostgreSQL pieces Build adds to the per-metric
// statement for CUPED covariates and ratio denominators (Waypost
// statistics II). Each piece is a separate SQL fragment so another
// dialect can supply its own.
//
// Extra result columns, after variant, users, sum, sum_squares (all
// double precision, 0 for the NULL-variant row of excluded users):
//
//   - With CUPED (Spec.CUPEDWindowDays > 0): pre_sum = Σy, pre_sum_squares
//     = Σy², pre_sum_products = Σxy over the variant's users, where y is
//     the user's value of the same metric (same aggregation: binomial
//     0/1, count, sum of value) over events in [first_exposure − window,
//     first_exposure), capped like x, and x is the (capped) analysed value.
//   - With a ratio (Spec.Denominator): den_sum = Σd, den_sum_squares = Σd²,
//     den_sum_products = Σxd, where d is the user's count of denominator
//     events (count) or sum of their value (duration, revenue) in the
//     same window as the numerator, 0 without events. The numerator cap
//     applies to x only.
//
// Columns appear in that order (CUPED first) when both are requested.
//
// With a dimension (Spec.Dimension), two columns come first: dimension
// text (the user's value of that exposures-query column, min over their
// exposures, NULL as "(none)"; values outside the MaxDimensionValues most
// common by users as "(other)") and dimension_values bigint (how many
// distinct values there were); rows are per (dimension, variant). All
// sums are additive, so the overall result is the sum over dimensions.

// extras are the optional fragments of the statement.
type extras struct {
	args []any
	// value is the per-user post-exposure aggregate; preColumn adds
	// ", <pre aggregate> AS pre" to wp_per_user.
	value, preColumn string
	// windowStart is the lower bound of the joined metric events, over
	// the user's exposures (an aggregate).
	windowStart string
	// denominatorCTE defines wp_den (user_id, den); denominatorJoin joins
	// it to wp_per_user.
	denominatorCTE, denominatorJoin string
	sumColumns                      string
	cuped, ratio, dimension         bool
	// Dimension fragments (empty without a dimension).
	dimExposed, dimPerUser, dimGroup, dimCTE, dimSelect, dimInner, dimOuter string
}

// aggregate is the per-user value of metric type t over the joined rows
// of alias that satisfy filter ("" for all).
func aggregate(t stats.MetricType, alias, filter string) string {
	f := ""
	if filter != "" {
		f = " FILTER (WHERE " + filter + ")"
	}
	switch t {
	case stats.Binomial:
		return fmt.Sprintf("CASE WHEN count(%s.user_id)%s > 0 THEN 1.0 ELSE 0.0 END", alias, f)
	case stats.Count:
		return fmt.Sprintf("count(%s.user_id)%s::double precision", alias, f)
	default:
		return fmt.Sprintf("coalesce(sum(%s.value::double precision)%s, 0)", alias, f)
	}
}

// postgresExtras builds the fragments; next is the number of the first
// free bind parameter.
func postgresExtras(spec Spec, next int) extras {
	x := extras{windowStart: `min("timestamp")`}
	if spec.CUPEDWindowDays > 0 {
		x.cuped = true
		x.args = append(x.args, spec.CUPEDWindowDays)
		// One join reads both periods: pre-period rows are those before
		// the first exposure.
		x.windowStart = fmt.Sprintf(`min("timestamp") - $%d::double precision * interval '1 day'`, next)
		x.value = aggregate(spec.MetricType, "m", `m."timestamp" >= e.first_exposure`)
		x.preColumn = ",\n         " + aggregate(spec.MetricType, "m", `m."timestamp" < e.first_exposure`) + " AS pre"
		x.sumColumns += `,
       CASE WHEN variant IS NULL THEN 0 ELSE coalesce(sum(y), 0) END::double precision AS pre_sum,
       CASE WHEN variant IS NULL THEN 0 ELSE coalesce(sum(y * y), 0) END::double precision AS pre_sum_squares,
       CASE WHEN variant IS NULL THEN 0 ELSE coalesce(sum(v * y), 0) END::double precision AS pre_sum_products`
	} else {
		x.value = aggregate(spec.MetricType, "m", "")
	}
	if spec.Dimension != "" {
		x.dimension = true
		n := spec.MaxDimensionValues
		if n == 0 {
			n = DefaultMaxDimensionValues
		}
		col := `"` + spec.Dimension + `"` // validated by Build: letters, digits, _
		x.dimExposed = ",\n         coalesce(min(" + col + "::text), '" + NoDimension + "') AS dimension"
		x.dimPerUser = ", e.dimension"
		x.dimGroup = ", e.dimension"
		x.dimCTE = fmt.Sprintf(`,
wp_dimension_top AS (
  SELECT dimension FROM wp_exposed WHERE NOT multiple
  GROUP BY dimension ORDER BY count(*) DESC, dimension LIMIT %d
)`, n)
		x.dimSelect = "dimension, (SELECT count(DISTINCT dimension) FROM wp_exposed WHERE NOT multiple)::bigint AS dimension_values,\n       "
		x.dimInner = "CASE WHEN dimension IN (SELECT dimension FROM wp_dimension_top) THEN dimension ELSE '" + OtherDimension + "' END AS dimension, "
		x.dimOuter = "dimension, "
	}
	if d := spec.Denominator; d != nil {
		x.ratio = true
		x.denominatorCTE = `,
wp_den AS (
  SELECT e.user_id, ` + aggregate(d.Type, "d", "") + ` AS den
  FROM wp_exposed e
  JOIN wp_denominator d
    ON d.user_id = e.user_id
   AND d."timestamp" >= e.first_exposure
   AND d."timestamp" <= LEAST(e.first_exposure + $3::double precision * interval '1 hour', $2::timestamptz)
  WHERE NOT e.multiple
  GROUP BY e.user_id
)`
		x.denominatorJoin = " LEFT JOIN wp_den ON wp_den.user_id = wp_per_user.user_id"
		x.sumColumns += `,
       CASE WHEN variant IS NULL THEN 0 ELSE coalesce(sum(d), 0) END::double precision AS den_sum,
       CASE WHEN variant IS NULL THEN 0 ELSE coalesce(sum(d * d), 0) END::double precision AS den_sum_squares,
       CASE WHEN variant IS NULL THEN 0 ELSE coalesce(sum(v * d), 0) END::double precision AS den_sum_products`
	}
	return x
}

// perUserColumns are the extra columns of the capped per-user subquery.
func (x extras) perUserColumns(capExpr string) string {
	out := ""
	if x.cuped {
		if capExpr != "" {
			out += ", LEAST(pre, " + capExpr + ") AS y"
		} else {
			out += ", pre AS y"
		}
	}
	if x.ratio {
		out += ", coalesce(wp_den.den, 0) AS d"
	}
	return out
}

// scanTargets returns where the extra columns of a row go.
func (x extras) scanTargets(v *VariantRow) []any {
	var out []any
	if x.cuped {
		v.Pre = &stats.PairedSums{}
		out = append(out, &v.Pre.Sum, &v.Pre.SumSquares, &v.Pre.SumProducts)
	}
	if x.ratio {
		v.Denominator = &stats.PairedSums{}
		out = append(out, &v.Denominator.Sum, &v.Denominator.SumSquares, &v.Denominator.SumProducts)
	}
	return out
}

// VariantRow is one row of the statement.
type VariantRow = stats.VariantData
