package secret

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runDevKeyScript runs scripts/dev-secret-key.sh (what `make run` calls
// without WAYPOST_SECRET_KEY) in dir and returns its stdout and stderr.
func runDevKeyScript(t *testing.T, dir string) (key, said string) {
	t.Helper()
	script, err := filepath.Abs("../../scripts/dev-secret-key.sh")
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(script)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("dev-secret-key.sh: %v: %s", err, errOut.String())
	}
	return strings.TrimSpace(out.String()), errOut.String()
}

// make run works with events-database passwords out of the box: the first
// run generates a key only its owner can read and says so; later runs
// reuse it quietly, so stored passwords stay readable.
func TestDevSecretKeyIsGeneratedOnceAndWorks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, said := runDevKeyScript(t, dir)
	if !strings.Contains(said, "generated a development WAYPOST_SECRET_KEY in .waypost-dev-secret") ||
		!strings.Contains(said, "In production set WAYPOST_SECRET_KEY yourself") {
		t.Fatalf("the first run should say it generated a key, said %q", said)
	}
	if strings.Contains(said, key) {
		t.Fatal("the key itself must not be printed on stderr")
	}
	st, err := os.Stat(filepath.Join(dir, ".waypost-dev-secret"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	if len(key) < MinKeyLen {
		t.Fatalf("generated key has %d characters, the manager needs %d", len(key), MinKeyLen)
	}
	box, err := New(key)
	if err != nil {
		t.Fatalf("the generated key is refused: %v", err)
	}
	sealed, err := box.Seal([]byte("events-db-password"))
	if err != nil {
		t.Fatal(err)
	}

	again, said2 := runDevKeyScript(t, dir)
	if again != key || said2 != "" {
		t.Fatalf("the second run should reuse the key quietly: same key %v, said %q", again == key, said2)
	}
	box2, err := New(again)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := box2.Open(sealed); err != nil || string(p) != "events-db-password" {
		t.Fatalf("a password stored with the first run's key must open with the second's: %q, %v", p, err)
	}

	other, _ := runDevKeyScript(t, t.TempDir())
	if other == key {
		t.Fatal("two checkouts must not get the same key")
	}
}
