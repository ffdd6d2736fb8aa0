// Package authtest gives tests signed-in callers of the manager API: an
// owner account with a personal token, accounts with a role in a project,
// and a handler wrapper that signs every request without credentials in
// as the owner, so harnesses written before authentication keep working.
package authtest

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/waypost/waypost/internal/auth"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/store"
)

// FastParams are cheap argon2id parameters for tests (real hashing, low cost).
var FastParams = auth.Params{Memory: 64, Time: 1, Threads: 1}

// OwnerEmail is the email of the owner made by Owner.
const OwnerEmail = "owner@waypost.test"

var seq atomic.Int64

// Owner creates an instance owner and returns a personal token for it.
func Owner(t testing.TB, st *store.Store) string {
	t.Helper()
	return User(t, st, OwnerEmail, true, "", "")
}

// User creates an account (owner or not; with role in project unless
// role is "") and returns a personal token acting as it.
func User(t testing.TB, st *store.Store, email string, owner bool, project, role string) string {
	t.Helper()
	st.UsePasswordParams(FastParams)
	ctx := store.WithActor(context.Background(), "authtest")
	u, err := st.CreateUser(ctx, model.CreateUser{Email: email, Name: email, Owner: owner})
	if err != nil {
		t.Fatalf("authtest: create user %s: %v", email, err)
	}
	if role != "" {
		if _, err := st.SetMember(ctx, project, model.SetMember{Email: email, Role: role}); err != nil {
			t.Fatalf("authtest: member %s: %v", email, err)
		}
	}
	tok, err := st.CreatePersonalToken(ctx, u.ID, model.CreateToken{Name: fmt.Sprintf("test %d", seq.Add(1))})
	if err != nil {
		t.Fatalf("authtest: token for %s: %v", email, err)
	}
	return tok.Secret
}

// AsOwner wraps h (a manager API) so that requests without an
// Authorization header or session cookie act as a fresh owner.
func AsOwner(t testing.TB, st *store.Store, h http.Handler) http.Handler {
	t.Helper()
	bearer := "Bearer " + Owner(t, st)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			if _, err := r.Cookie("waypost_session"); err != nil {
				r.Header.Set("Authorization", bearer)
			}
		}
		h.ServeHTTP(w, r)
	})
}
