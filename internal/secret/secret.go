// Package secret encrypts credentials at rest (events-database passwords)
// with AES-256-GCM. The key is derived from WAYPOST_SECRET_KEY with HKDF-
// SHA256, so any string of 32+ characters works as a key. A Box is passed
// explicitly to whoever needs it; there is no global key.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// ErrNoKey is returned by a nil Box: no WAYPOST_SECRET_KEY is configured.
var ErrNoKey = errors.New("no secret key configured: set WAYPOST_SECRET_KEY (32+ characters, e.g. `openssl rand -base64 32`) on the manager and the workers to store passwords")

// MinKeyLen is the shortest accepted secret key.
const MinKeyLen = 32

// Box seals and opens secrets. A nil *Box has no key: Seal and Open fail
// with ErrNoKey.
type Box struct{ aead cipher.AEAD }

// New derives the encryption key from key; an empty key gives a nil Box.
func New(key string) (*Box, error) {
	if key == "" {
		return nil, nil
	}
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("secret key must be at least %d characters", MinKeyLen)
	}
	k, err := hkdf.Key(sha256.New, []byte(key), nil, "waypost credentials v1", 32)
	if err != nil {
		return nil, fmt.Errorf("derive key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext; the result is nonce || ciphertext || tag.
func (b *Box) Seal(plaintext []byte) ([]byte, error) {
	if b == nil {
		return nil, ErrNoKey
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	return b.aead.Seal(nonce, nonce, plaintext, nil), nil
}

// Open decrypts what Seal produced with the same key.
func (b *Box) Open(sealed []byte) ([]byte, error) {
	if b == nil {
		return nil, ErrNoKey
	}
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return nil, errors.New("secret: ciphertext too short")
	}
	out, err := b.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return nil, errors.New("secret: cannot decrypt (was WAYPOST_SECRET_KEY changed?)")
	}
	return out, nil
}
