package issuer_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/issuer"
)

// A backend mounts the issuer behind its own authentication; here the
// HMAC sessions stand in for it and the emulator for the Junction API.
func Example() {
	ctx := context.Background()
	api := httptest.NewServer(emulator.New(emulator.WithAPIKey("sk_us_example")))
	defer api.Close()

	dir, err := os.MkdirTemp("", "issuer-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.OpenIssuer(ctx, filepath.Join(dir, "users.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	secret := []byte("a-session-secret-of-32-bytes-abc")
	auth, err := issuer.NewHMACAuthenticator(secret, time.Now)
	if err != nil {
		log.Fatal(err)
	}
	h, err := issuer.New(issuer.Config{
		Team:  junction.NewClient(api.URL, "sk_us_example"),
		Store: db,
		Auth:  auth,
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	// The app, signed in as app user "alice", asks for a Sign-In Token.
	session, err := issuer.NewSession(secret, "alice", time.Hour, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	c := issuer.NewClient(srv.URL, session)
	vitalUser, token, err := c.SignInToken(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	again, err := c.ResolveVitalUser(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("token issued:", token != "")
	fmt.Println("same Vital user:", again == vitalUser)

	// Another app user's session cannot ask for alice.
	bobSession, _ := issuer.NewSession(secret, "bob", time.Hour, time.Now())
	_, _, err = issuer.NewClient(srv.URL, bobSession).SignInToken(ctx, "alice")
	fmt.Println("bob for alice:", errors.Is(err, issuer.ErrForbidden))
	// Output:
	// token issued: true
	// same Vital user: true
	// bob for alice: true
}
