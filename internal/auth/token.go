package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// TokenPrefix starts every API token: wpt_<43 base64url characters>.
const TokenPrefix = "wpt_"

// tokenBodyLen is the length of 32 random bytes in unpadded base64url.
const tokenBodyLen = 43

// NewRandom returns 32 random bytes in unpadded base64url (43 characters).
func NewRandom() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// NewToken returns a fresh API token (wpt_...).
func NewToken() (string, error) {
	r, err := NewRandom()
	if err != nil {
		return "", err
	}
	return TokenPrefix + r, nil
}

// Hash is the stored form of a high-entropy secret (session id, API token):
// SHA-256 is enough, as the secret cannot be guessed.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// WellFormedToken reports whether s has the shape of an API token.
func WellFormedToken(s string) bool {
	return strings.HasPrefix(s, TokenPrefix) && wellFormedRandom(s[len(TokenPrefix):])
}

// WellFormedSessionID reports whether s has the shape of a session id.
func WellFormedSessionID(s string) bool { return wellFormedRandom(s) }

func wellFormedRandom(s string) bool {
	if len(s) != tokenBodyLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
