package stats

import (
	"fmt"
	"strings"
)

// summarize writes the plain-words sentence for a comparison.
func summarize(c Comparison, dir Direction, conf float64) string {
	if c.Status != StatusOK && c.Status != StatusZeroControlMean {
		return fmt.Sprintf("No conclusion for %q vs %q: %s.", c.Variant, c.Control, c.Message)
	}
	level := formatPercent(conf, false)
	var change string
	switch {
	case c.RelativeEffect != nil && c.RelativeCI != nil:
		change = fmt.Sprintf("changed the metric by %s (%s CI %s to %s)", formatPercent(*c.RelativeEffect, true),
			level, formatPercent(c.RelativeCI.Low, true), formatPercent(c.RelativeCI.High, true))
	case c.AbsoluteEffect != nil && c.AbsoluteCI != nil:
		change = fmt.Sprintf("changed the metric by %+.4g in absolute terms (%s CI %+.4g to %+.4g)",
			*c.AbsoluteEffect, level, c.AbsoluteCI.Low, c.AbsoluteCI.High)
	default:
		change = "changed the metric by an amount that could not be estimated"
	}
	p := "p not available"
	if c.PValue != nil {
		p = formatP(*c.PValue)
	}
	better := "higher is better"
	if dir == LowerIsBetter {
		better = "lower is better"
	}
	switch c.Verdict {
	case Better:
		return fmt.Sprintf("%q is better than %q: it %s, %s; %s.", c.Variant, c.Control, change, p, better)
	case Worse:
		return fmt.Sprintf("%q is worse than %q: it %s, %s; %s.", c.Variant, c.Control, change, p, better)
	}
	return fmt.Sprintf("No significant difference between %q and %q at %s confidence: %q %s, %s.",
		c.Variant, c.Control, level, c.Variant, change, p)
}

func formatPercent(x float64, signed bool) string {
	s := fmt.Sprintf("%.2f", x*100)
	if signed {
		s = fmt.Sprintf("%+.2f", x*100)
	}
	s = strings.TrimSuffix(strings.TrimSuffix(s, "0"), ".0")
	return s + "%"
}

func formatP(p float64) string {
	if p < 0.0001 {
		return "p < 0.0001"
	}
	return fmt.Sprintf("p = %.4f", p)
}
