package worker

import (
	"fmt"
	"time"
)

// DailyAt is a river.PeriodicSchedule firing once a day at a UTC time.
type DailyAt struct{ Hour, Minute int }

// ParseDailyAt reads "HH:MM" (UTC).
func ParseDailyAt(s string) (DailyAt, error) {
	var d DailyAt
	if _, err := fmt.Sscanf(s, "%d:%d", &d.Hour, &d.Minute); err != nil || d.Hour < 0 || d.Hour > 23 || d.Minute < 0 || d.Minute > 59 {
		return DailyAt{}, fmt.Errorf("%q is not a UTC time of day such as 03:00", s)
	}
	return d, nil
}

// Next returns the next occurrence strictly after current.
func (d DailyAt) Next(current time.Time) time.Time {
	c := current.UTC()
	t := time.Date(c.Year(), c.Month(), c.Day(), d.Hour, d.Minute, 0, 0, time.UTC)
	if !t.After(c) {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

func (d DailyAt) String() string { return fmt.Sprintf("%02d:%02d UTC", d.Hour, d.Minute) }
