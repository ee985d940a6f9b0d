package simulations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/installation"
)

// SDK opens installation inst's SDK core on store outside a launch, as an
// app's own code would (a data sync, a refresh), on the stack.
func (s *DemoStack) SDK(ctx context.Context, store vitalsdk.Store, p fsm.Profile, inst, legacyURL string, log *slog.Logger) (*vitalsdk.Client, error) {
	return vitalsdk.New(ctx, vitalsdk.Options{Profile: p, Installation: inst, Store: store,
		APIBaseURL: s.APIURL, AuthBaseURL: s.AuthURL, LegacyAuthBaseURL: legacyURL, Now: s.Clock.Now, Logger: log,
		HTTPClient: &http.Client{Transport: s}})
}

// DemoDatabases lists the databases of a demo (issuer.db, device.db) that
// dir already holds: a demo on them starts from their state, not from the
// first run its story tells.
func DemoDatabases(dir string) []string {
	var kept []string
	for _, name := range []string{"issuer.db", "device.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			kept = append(kept, name)
		}
	}
	return kept
}

// DemoStep is one launch of the demo's story.
type DemoStep struct {
	Step         int
	Title        string
	Installation string
	Launch       installation.LaunchRecord
}

// Demo is the story `vitalsync demo` tells: alice signs in, relaunches,
// and signs out for bob; the backend deletes bob's Vital user and his next
// launch signs in as his new one; carol upgrades from a build that used the
// team API key and later signs out. Each launch is a real one
// (installation.RecordLaunch) on a device database, and the story checks
// what the SDK says between launches as the profile's documented
// behaviour has it (reference §10.1).
type Demo struct {
	Profile fsm.Profile
	// LegacyAuthURL is the legacy Firebase base URL on legacy profiles (""
	// means the stack's emulator).
	LegacyAuthURL string
	// Logger receives the launches' logs (nil: none).
	Logger *slog.Logger
	// Say receives each line of the narration between launches (nil: none).
	Say func(line string)
	// Launched receives each launch as it ends, before its error is
	// returned; an error of its own ends the story.
	Launched func(DemoStep) error

	s      *DemoStack
	device *sqlite.DB
	step   int
}

// Run tells the story on s, the device's database device.db in s's folder,
// and returns the number of launches.
func (d *Demo) Run(ctx context.Context, s *DemoStack) (int, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	d.s, d.step = s, 0
	var err error
	if d.device, err = sqlite.OpenDevice(ctx, filepath.Join(s.dir, "device.db"), sqlite.WithClock(s.Clock.Now)); err != nil {
		return 0, err
	}
	defer d.device.Close()
	const phone = "phone"
	for _, st := range []struct{ title, user string }{
		{"alice signs in to the app: the first launch signs the SDK in", "alice"},
		{"the app relaunches: SDK and app agree, so nothing happens", "alice"},
		{"alice signs out and bob signs in: the launch switches the SDK to bob", "bob"},
	} {
		if err := d.launch(ctx, st.title, phone, st.user, ""); err != nil {
			return d.step, err
		}
	}
	if err := d.deleteBob(ctx, phone); err != nil {
		return d.step, err
	}
	return d.step, d.upgradeCarol(ctx)
}

func (d *Demo) say(format string, args ...any) {
	if d.Say != nil {
		d.Say(fmt.Sprintf(format, args...))
	}
}

// launch runs one app launch on an installation, for an app that knows its
// user's Vital user (vital, "" when it does not); appUser "" is signed out.
func (d *Demo) launch(ctx context.Context, title, inst, appUser, vital string) error {
	d.step++
	cfg, err := d.s.AppConfig(d.device, d.Profile, inst, appUser, vital, d.s.LegacyURL(d.Profile, d.LegacyAuthURL))
	if err != nil {
		return err
	}
	cfg.Logger = d.Logger
	rep, err := installation.RecordLaunch(ctx, cfg)
	if d.Launched != nil {
		if err := d.Launched(DemoStep{Step: d.step, Title: title, Installation: inst, Launch: rep}); err != nil {
			return err
		}
	}
	return err
}

func (d *Demo) sdk(ctx context.Context, inst string) (*vitalsdk.Client, error) {
	return d.s.SDK(ctx, d.device, d.Profile, inst, d.s.LegacyURL(d.Profile, d.LegacyAuthURL), d.Logger)
}

// deleteBob has the backend delete bob's Vital user; the SDK notices at
// its next refresh, and bob's next launch signs in as his new one.
func (d *Demo) deleteBob(ctx context.Context, phone string) error {
	j, err := d.device.Journal(phone, d.Profile.Name).Load(ctx)
	if err != nil {
		return err
	}
	if err := d.s.Team.DeleteUser(ctx, j.VitalUserID); err != nil {
		return fmt.Errorf("demo: delete bob's Vital user: %w", err)
	}
	d.s.Clock.Advance(emulator.DefaultAccessTTL + time.Minute)
	sdk, err := d.sdk(ctx, phone)
	if err != nil {
		return err
	}
	_, refreshErr := sdk.AccessToken(ctx)
	title := "bob's next launch: the issuer maps bob to a new Vital user and the SDK signs in as it"
	if d.Profile.DetectsDeletion {
		if !errors.Is(refreshErr, vitalsdk.ErrInvalidUser) {
			return fmt.Errorf("demo: the refresh after deletion returned %v, want the user-deleted error", refreshErr)
		}
		d.say("\n   the backend deletes bob's Vital user; an hour later the SDK's token refresh answers invalid_token:")
		d.say("   the SDK now reports %s with no user (%s)", sdk.Status(), deletionNote(d.Profile))
	} else {
		// Android 4.2.1–4.2.2 cannot decode the token endpoint's error body
		// (reference §10.1): the deletion is never detected.
		if !errors.Is(refreshErr, vitalsdk.ErrUndecodableTokenError) {
			return fmt.Errorf("demo: the refresh after deletion returned %v, want the undecodable-error-body error", refreshErr)
		}
		d.say("\n   the backend deletes bob's Vital user; an hour later the SDK's token refresh answers")
		d.say("   invalid_token, which this profile cannot decode: the SDK still reports %s", sdk.Status())
		d.say("   as bob's deleted user and every refresh fails the same way (a day passes)")
		d.s.Clock.Advance(24 * time.Hour)
		title = "bob's next launch, a day later: the SDK still shows bob's deleted Vital user, so the launch asks the issuer again and signs in as bob's new one"
	}
	return d.launch(ctx, title, phone, "bob", "")
}

// upgradeCarol launches an installation upgraded from a build that used
// the team API key, then signs carol out.
func (d *Demo) upgradeCarol(ctx context.Context) error {
	const legacy = "legacy-phone"
	carol, err := d.s.Team.CreateUser(ctx, "carol")
	if err != nil {
		return err
	}
	old, err := d.sdk(ctx, legacy)
	if err != nil {
		return err
	}
	if err := old.Configure(ctx, d.s.Emulator.APIKey(), fsm.Sandbox, fsm.US); err != nil {
		return err
	}
	if err := old.SetUserID(ctx, carol.UserID); err != nil {
		return err
	}
	d.say("\n   carol's phone ran a build that signed the SDK in with the team API key: status %s", old.Status())
	// The API-key build's backend created carol's Vital user, so the app
	// knows it: the session is known to be hers and migrates in place.
	if err := d.launch(ctx, "carol's first launch of the new build: migrate the API-key session in place", legacy, "carol", carol.UserID); err != nil {
		return err
	}
	return d.launch(ctx, "carol signs out of the app: the launch signs the SDK out", legacy, "", "")
}

func deletionNote(p fsm.Profile) string {
	if p.AutoSignOutOnDeletion {
		return "this profile signs out on deletion"
	}
	return "this profile keeps its configuration after deletion, so only the last observed state tells"
}
