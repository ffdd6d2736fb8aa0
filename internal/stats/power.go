package stats

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// SampleSizeInput describes a planned test. Alpha defaults to 0.05 and
// Power to 0.8 when 0.
type SampleSizeInput struct {
	ControlMean       float64 `json:"control_mean"`
	ControlVariance   float64 `json:"control_variance"`
	TreatmentVariance float64 `json:"treatment_variance"`
	// MDE is the minimum detectable effect relative to the control mean
	// (0.05 = a 5% lift).
	MDE   float64 `json:"mde"`
	Alpha float64 `json:"alpha,omitempty"`
	Power float64 `json:"power,omitempty"`
	// CurrentUsersPerVariant, when known, gives RemainingUsersPerVariant.
	CurrentUsersPerVariant int64 `json:"current_users_per_variant,omitempty"`
}

// SampleSize is the answer of RequiredSampleSize.
type SampleSize struct {
	Status          Status `json:"status"`
	Message         string `json:"message,omitempty"`
	UsersPerVariant *int64 `json:"users_per_variant,omitempty"`
	// RemainingUsersPerVariant = max(0, UsersPerVariant − current users).
	RemainingUsersPerVariant *int64 `json:"remaining_users_per_variant,omitempty"`
}

// RequiredSampleSize returns the users per variant needed to detect a
// relative change MDE with a two-sided test at level Alpha and the given
// Power:
//
//	n = (z_{1−α/2} + z_{1−β})² (σ_c² + σ_t²) / (MDE·μ_c)²
//
// (normal approximation for two means with unequal variances; Chow, Shao &
// Wang 2008, §3.2.1; Kohavi et al. 2020, ch. 17). Pass the pooled variance
// as both variances when only one is known.
func RequiredSampleSize(in SampleSizeInput) SampleSize {
	alpha, power := in.Alpha, in.Power
	if alpha == 0 {
		alpha = 0.05
	}
	if power == 0 {
		power = 0.8
	}
	switch {
	case !(alpha > 0 && alpha < 1) || !(power > 0 && power < 1):
		return SampleSize{Status: StatusInvalidData, Message: "alpha and power must be between 0 and 1"}
	case !(in.MDE > 0) || !finite(in.MDE):
		return SampleSize{Status: StatusInvalidData, Message: "the minimum detectable effect must be positive"}
	case !finite(in.ControlMean) || !finite(in.ControlVariance) || !finite(in.TreatmentVariance) ||
		in.ControlVariance < 0 || in.TreatmentVariance < 0:
		return SampleSize{Status: StatusInvalidData, Message: "means and variances must be finite and variances non-negative"}
	case in.ControlMean == 0:
		return SampleSize{Status: StatusZeroControlMean, Message: "the control mean is 0, so a relative effect cannot be planned"}
	case in.ControlVariance+in.TreatmentVariance == 0:
		return SampleSize{Status: StatusZeroVariance, Message: "the observed variance is 0, so the sample size cannot be estimated"}
	}
	z := distuv.UnitNormal.Quantile(1-alpha/2) + distuv.UnitNormal.Quantile(power)
	delta := in.MDE * in.ControlMean
	n := math.Ceil(z * z * (in.ControlVariance + in.TreatmentVariance) / (delta * delta))
	if !finite(n) || n > math.MaxInt64/2 {
		return SampleSize{Status: StatusInvalidData, Message: "the required sample size is too large to represent"}
	}
	if n < 2 {
		n = 2
	}
	users := int64(n)
	remaining := max(0, users-max(0, in.CurrentUsersPerVariant))
	return SampleSize{Status: StatusOK, UsersPerVariant: &users, RemainingUsersPerVariant: &remaining}
}

// SampleSizeFromResult plans from an analysis: the control mean, the
// pooled variance of all variants, Σ(n_i−1)s_i²/Σ(n_i−1), used for both
// σ_c² and σ_t², and the smallest variant as the current users per
// variant. Alpha and power default to 0.05 and 0.8 when 0.
func SampleSizeFromResult(res Result, mde, alpha, power float64) SampleSize {
	var control *VariantSummary
	var num, den float64
	current := int64(-1)
	for i := range res.Variants {
		v := &res.Variants[i]
		if v.Variant == res.Control {
			control = v
		}
		if current < 0 || v.Users < current {
			current = v.Users
		}
		if v.Variance != nil && v.Users > 1 {
			num += float64(v.Users-1) * *v.Variance
			den += float64(v.Users - 1)
		}
	}
	if control == nil || control.Mean == nil || den == 0 {
		return SampleSize{Status: StatusInsufficientData, Message: "not enough data to estimate the mean and variance"}
	}
	pooled := num / den
	return RequiredSampleSize(SampleSizeInput{
		ControlMean: *control.Mean, ControlVariance: pooled, TreatmentVariance: pooled,
		MDE: mde, Alpha: alpha, Power: power, CurrentUsersPerVariant: current,
	})
}

// maxHorizon caps ExpectedEndDate so absurd rates cannot overflow time.Time.
const maxHorizon = 100 * 365 * 24 * time.Hour

// ExpectedEndDate estimates when neededUsers will be reached given
// currentUsers so far and an exposure rate in users per day (all three in
// the same unit, e.g. users per variant or total). It returns now when the
// target is already met, and ok=false when the rate is not positive or the
// date is more than 100 years away.
func ExpectedEndDate(currentUsers, neededUsers int64, usersPerDay float64, now time.Time) (end time.Time, ok bool) {
	if currentUsers >= neededUsers {
		return now, true
	}
	if !(usersPerDay > 0) || !finite(usersPerDay) {
		return time.Time{}, false
	}
	days := float64(neededUsers-currentUsers) / usersPerDay
	d := time.Duration(days * float64(24*time.Hour))
	if days*float64(24*time.Hour) > float64(maxHorizon) {
		return time.Time{}, false
	}
	return now.Add(d), true
}

// String describes a SampleSize for logs.
func (s SampleSize) String() string {
	if s.UsersPerVariant != nil {
		return fmt.Sprintf("%d users per variant", *s.UsersPerVariant)
	}
	return fmt.Sprintf("%s: %s", s.Status, s.Message)
}
