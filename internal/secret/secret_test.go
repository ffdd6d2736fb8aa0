package secret

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	b, err := New("0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := b.Seal([]byte("hunter2"))
	c2, _ := b.Seal([]byte("hunter2"))
	if bytes.Equal(c1, c2) || bytes.Contains(c1, []byte("hunter2")) {
		t.Fatal("ciphertexts must differ and hide the plaintext")
	}
	p, err := b.Open(c1)
	if err != nil || string(p) != "hunter2" {
		t.Fatalf("open: %q %v", p, err)
	}
	other, _ := New("another-key-another-key-another-key")
	if _, err := other.Open(c1); err == nil {
		t.Fatal("opened with the wrong key")
	}
	var none *Box
	if _, err := none.Seal([]byte("x")); !errors.Is(err, ErrNoKey) {
		t.Fatalf("nil box: %v", err)
	}
	if _, err := New("short"); err == nil {
		t.Fatal("short key accepted")
	}
}
