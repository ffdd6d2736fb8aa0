package stats

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// The reference numbers in testdata/stats/reference.json come from
// testdata/stats/generate.py: per-user data drawn with a fixed seed,
// reduced to sufficient statistics, analysed with scipy and mpmath
// (ttest_ind on the per-user or CUPED-adjusted values, chi2_contingency,
// fisher_exact, and gbstats' formulas at 50 digits). Every number is
// compared at 1e-6 relative.

type refEstimate struct {
	Effect    float64   `json:"effect"`
	StdError  *float64  `json:"std_error"`
	Statistic *float64  `json:"statistic"`
	DF        *float64  `json:"df"`
	PValue    float64   `json:"p_value"`
	CI        []float64 `json:"ci"`
}

type refComparison struct {
	Variant    string      `json:"variant"`
	Relative   refEstimate `json:"relative"`
	Absolute   refEstimate `json:"absolute"`
	Sequential struct {
		TuningParameter float64     `json:"tuning_parameter"`
		Relative        refEstimate `json:"relative"`
		Absolute        refEstimate `json:"absolute"`
	} `json:"sequential"`
	Bayesian struct {
		Expected      float64   `json:"expected"`
		StdDev        float64   `json:"std_dev"`
		ChanceToWin   float64   `json:"chance_to_win"`
		CI            []float64 `json:"ci"`
		RiskControl   float64   `json:"risk_control"`
		RiskTreatment float64   `json:"risk_treatment"`
	} `json:"bayesian"`
	ChiSquared *struct {
		Statistic    float64  `json:"statistic"`
		PValue       float64  `json:"p_value"`
		MinExpected  float64  `json:"min_expected"`
		FisherPValue *float64 `json:"fisher_p_value"`
	} `json:"chi_squared"`
	CUPED *struct {
		Theta             float64 `json:"theta"`
		VarianceReduction float64 `json:"variance_reduction"`
	} `json:"cuped"`
}

type refCase struct {
	Name    string `json:"name"`
	Options struct {
		MetricType       MetricType `json:"metric_type"`
		Direction        Direction  `json:"direction"`
		Confidence       float64    `json:"confidence"`
		SequentialTuning float64    `json:"sequential_tuning"`
		Prior            Prior      `json:"prior"`
		CUPED            bool       `json:"cuped"`
		Ratio            bool       `json:"ratio"`
	} `json:"options"`
	Variants    []VariantData   `json:"variants"`
	Comparisons []refComparison `json:"comparisons"`
}

type reference struct {
	Cases       []refCase `json:"cases"`
	Corrections struct {
		PValues []float64   `json:"p_values"`
		Holm    []float64   `json:"holm"`
		BH      []float64   `json:"benjamini_hochberg"`
		HolmCI  [][]float64 `json:"holm_ci"`
		BHCI    [][]float64 `json:"bh_ci"`
	} `json:"corrections"`
	Peeks struct {
		TuningParameter float64 `json:"tuning_parameter"`
		Looks           []struct {
			Variants     []VariantData `json:"variants"`
			FixedP       float64       `json:"fixed_p"`
			SequentialP  float64       `json:"sequential_p"`
			SequentialCI []float64     `json:"sequential_ci"`
			FixedCI      []float64     `json:"fixed_ci"`
		} `json:"looks"`
	} `json:"peeks"`
}

func readReference(t *testing.T) reference {
	t.Helper()
	b, err := os.ReadFile("../../testdata/stats/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// rel compares at 1e-6 relative (1e-12 absolute near zero).
func rel(t *testing.T, name string, got, want float64) {
	t.Helper()
	if d := math.Abs(got - want); d > 1e-12 && d > 1e-6*math.Abs(want) {
		t.Errorf("%s = %.15g, want %.15g", name, got, want)
	}
}

func relPtr(t *testing.T, name string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: nil, want %v", name, want)
		return
	}
	rel(t, name, *got, want)
}

func relCI(t *testing.T, name string, got *Interval, want []float64) {
	t.Helper()
	if got == nil || len(want) != 2 {
		t.Errorf("%s = %v, want %v", name, got, want)
		return
	}
	rel(t, name+" low", got.Low, want[0])
	rel(t, name+" high", got.High, want[1])
}

func checkEstimate(t *testing.T, name string, got *Estimate, want refEstimate) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: missing", name)
		return
	}
	rel(t, name+" effect", got.Effect, want.Effect)
	rel(t, name+" p", *got.PValue, want.PValue)
	relCI(t, name+" ci", got.CI, want.CI)
	if want.StdError != nil {
		rel(t, name+" se", got.StdError, *want.StdError)
	}
	if want.DF != nil {
		relPtr(t, name+" df", got.DF, *want.DF)
		relPtr(t, name+" statistic", got.Statistic, *want.Statistic)
	}
}

func optionsOf(c refCase, sequential bool) Options {
	o := c.Options
	opts := Options{MetricType: o.MetricType, Direction: o.Direction, Confidence: o.Confidence,
		Bayesian: &o.Prior, CUPED: o.CUPED, Ratio: o.Ratio}
	if sequential {
		opts.Sequential = &SequentialOptions{TuningParameter: o.SequentialTuning}
	}
	return opts
}

func TestAgainstReference(t *testing.T) {
	t.Parallel()
	ref := readReference(t)
	for _, rc := range ref.Cases {
		t.Run(rc.Name, func(t *testing.T) {
			t.Parallel()
			for _, seq := range []bool{false, true} {
				res := Analyze(rc.Variants, optionsOf(rc, seq))
				if res.Status != StatusOK || len(res.Comparisons) != len(rc.Comparisons) {
					t.Fatalf("status %s (%s), %d comparisons", res.Status, res.Message, len(res.Comparisons))
				}
				for i, w := range rc.Comparisons {
					g := res.Comparisons[i]
					checkEstimate(t, w.Variant+" relative", g.Relative, w.Relative)
					checkEstimate(t, w.Variant+" absolute", g.Absolute, w.Absolute)
					headRel, headAbs := w.Relative, w.Absolute
					if seq {
						if g.Sequential == nil || g.Method != Sequential {
							t.Fatalf("no sequential result")
						}
						checkEstimate(t, w.Variant+" sequential relative", g.Sequential.Relative, w.Sequential.Relative)
						checkEstimate(t, w.Variant+" sequential absolute", g.Sequential.Absolute, w.Sequential.Absolute)
						headRel, headAbs = w.Sequential.Relative, w.Sequential.Absolute
					}
					// The headline is the relative analysis: its p-value and CI agree.
					relPtr(t, "headline p", g.PValue, headRel.PValue)
					relCI(t, "headline relative ci", g.RelativeCI, headRel.CI)
					relCI(t, "headline absolute ci", g.AbsoluteCI, headAbs.CI)
					relPtr(t, "headline absolute p", g.AbsolutePValue, headAbs.PValue)
					if (headRel.PValue < 1-rc.Options.Confidence) != (g.RelativeCI.Low > 0 || g.RelativeCI.High < 0) {
						t.Errorf("p = %v but relative CI %v", headRel.PValue, *g.RelativeCI)
					}
					b := g.Bayesian
					if b == nil {
						t.Fatal("no Bayesian result")
					}
					rel(t, "bayes expected", b.Expected, w.Bayesian.Expected)
					rel(t, "bayes sd", b.StdDev, w.Bayesian.StdDev)
					rel(t, "bayes ctw", b.ChanceToWin, w.Bayesian.ChanceToWin)
					relCI(t, "bayes ci", &b.CI, w.Bayesian.CI)
					rel(t, "risk control", b.RiskControl, w.Bayesian.RiskControl)
					rel(t, "risk treatment", b.RiskTreatment, w.Bayesian.RiskTreatment)
					if w.ChiSquared != nil {
						cs := g.ChiSquared
						if cs == nil {
							t.Fatal("no chi-squared result")
						}
						rel(t, "chi2", cs.Statistic, w.ChiSquared.Statistic)
						rel(t, "chi2 p", cs.PValue, w.ChiSquared.PValue)
						rel(t, "min expected", cs.MinExpected, w.ChiSquared.MinExpected)
						if w.ChiSquared.FisherPValue != nil {
							relPtr(t, "fisher p", cs.FisherPValue, *w.ChiSquared.FisherPValue)
							if !cs.SmallSample || len(g.Warnings) == 0 {
								t.Errorf("small sample not flagged: %+v", g.Warnings)
							}
						} else if cs.FisherPValue != nil {
							t.Errorf("fisher p %v on a large sample", *cs.FisherPValue)
						}
					}
					if w.CUPED != nil {
						if g.CUPED == nil || !g.CUPED.Applied {
							t.Fatalf("CUPED not applied: %+v", g.CUPED)
						}
						rel(t, "theta", g.CUPED.Theta, w.CUPED.Theta)
						rel(t, "variance reduction", g.CUPED.VarianceReduction, w.CUPED.VarianceReduction)
					}
				}
			}
		})
	}
}

func TestCUPEDNarrowsTheInterval(t *testing.T) {
	t.Parallel()
	ref := readReference(t)
	var with, without Comparison
	for _, rc := range ref.Cases {
		switch rc.Name {
		case "cuped":
			with = Analyze(rc.Variants, optionsOf(rc, false)).Comparisons[0]
		case "uncorrected_same_data":
			without = Analyze(rc.Variants, optionsOf(rc, false)).Comparisons[0]
		}
	}
	if !(with.Relative.StdError < 0.6*without.Relative.StdError) {
		t.Errorf("CUPED se %v, unadjusted %v", with.Relative.StdError, without.Relative.StdError)
	}
}

func TestCorrectionsAgainstReference(t *testing.T) {
	t.Parallel()
	ref := readReference(t)
	c := ref.Corrections
	holm, bh := HolmBonferroni(c.PValues), BenjaminiHochberg(c.PValues)
	var effects []float64
	var cis []Interval
	for _, name := range []string{"three_variants", "three_variants_revenue"} {
		for _, rc := range ref.Cases {
			if rc.Name != name {
				continue
			}
			for _, cmp := range Analyze(rc.Variants, optionsOf(rc, false)).Comparisons {
				effects = append(effects, cmp.Relative.Effect)
				cis = append(cis, *cmp.Relative.CI)
			}
		}
	}
	if len(effects) != len(c.PValues) {
		t.Fatalf("%d comparisons, want %d", len(effects), len(c.PValues))
	}
	for i := range c.PValues {
		rel(t, "holm", holm[i], c.Holm[i])
		rel(t, "bh", bh[i], c.BH[i])
		for _, k := range []struct {
			name string
			p    float64
			want []float64
		}{{"holm ci", holm[i], c.HolmCI[i]}, {"bh ci", bh[i], c.BHCI[i]}} {
			got := AdjustedCI(k.p, effects[i], 0.05, cis[i])
			if k.want == nil {
				if got != nil {
					t.Errorf("%s %d = %v, want unbounded", k.name, i, *got)
				}
				continue
			}
			relCI(t, k.name, got, k.want)
		}
	}
}

// TestPeeking: at five looks the fixed-horizon test crosses alpha early
// while the always-valid sequential test never does.
func TestPeeking(t *testing.T) {
	t.Parallel()
	ref := readReference(t)
	crossed := false
	for k, look := range ref.Peeks.Looks {
		opts := Options{MetricType: Revenue, Sequential: &SequentialOptions{TuningParameter: ref.Peeks.TuningParameter}}
		c := Analyze(look.Variants, opts).Comparisons[0]
		rel(t, "fixed p", *c.Relative.PValue, look.FixedP)
		rel(t, "sequential p", *c.PValue, look.SequentialP)
		relCI(t, "sequential ci", c.RelativeCI, look.SequentialCI)
		relCI(t, "fixed ci", c.Relative.CI, look.FixedCI)
		if *c.Relative.PValue < 0.05 {
			crossed = true
		}
		if c.Significant || c.Verdict != Inconclusive {
			t.Errorf("look %d: sequential result significant (p = %v)", k+1, *c.PValue)
		}
	}
	if !crossed {
		t.Error("the fixed test never crossed alpha")
	}
}
