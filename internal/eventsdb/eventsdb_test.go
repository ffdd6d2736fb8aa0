package eventsdb

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestTargetNeverShowsPassword(t *testing.T) {
	t.Parallel()
	tg := Target{Host: "db.example", Port: 5432, Database: "events", User: "reader", Password: "s3cret-pw"}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "target", tg)
	for _, s := range []string{buf.String(), tg.String(), fmt.Sprintf("%v %+v %#v %s", tg, tg, tg, tg)} {
		if strings.Contains(s, "s3cret-pw") {
			t.Fatalf("password leaked: %s", s)
		}
	}
}
