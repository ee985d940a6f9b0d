package audit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// FleetOptions configure GenerateFleet.
type FleetOptions struct {
	// Installs is the number of rows; Seed decides everything else.
	Installs int
	Seed     uint64
	// Now is the fleet's "today": reports are taken in the week before it,
	// stale ones two months before. Truth's counts hold for an audit with
	// Now and a Stale of 30 days.
	Now time.Time
}

// TruthStale is the --stale a generated fleet's Truth assumes.
const TruthStale = 30 * 24 * time.Hour

// Truth is what an audit of a generated fleet must count: per class, per
// profile and class, and the seed and time it holds for.
type Truth struct {
	Seed      uint64                     `json:"seed"`
	Now       time.Time                  `json:"now"`
	Stale     string                     `json:"stale"`
	Rows      int64                      `json:"rows"`
	Classes   map[Class]int64            `json:"classes"`
	ByProfile map[string]map[Class]int64 `json:"by_profile"`
}

func (t *Truth) add(profile string, cs ...Class) {
	if t.ByProfile[profile] == nil {
		t.ByProfile[profile] = map[Class]int64{}
	}
	for _, c := range cs {
		t.Classes[c]++
		t.ByProfile[profile][c]++
	}
}

// fleetVersions are the SDK releases installations run, per profile.
var fleetVersions = map[string][]string{
	"ios-1.3":       {"1.2.0", "1.3.4"},
	"ios-1.8.1":     {"1.4.2", "1.6.0", "1.8.1"},
	"ios-1.8":       {"1.8.2", "1.8.3", "1.8.8"},
	"android-4.2.0": {"4.1.0", "4.2.0"},
	"android-4.2.2": {"4.2.2"}, // 4.2.1 is android-4.2.1, which also crashes on a 401's retry
	"android-5.0":   {"4.3.0", "4.5.0", "5.0.2"},
}

// The generated kinds and their rates, in per mille; the rest is
// consistent.
var fleetKinds = []struct {
	kind string
	rate int
}{
	{"sdk-signed-out", 30}, {"app-signed-out", 25}, {"api-key-mode", 20}, {"wrong-user", 8},
	{"deleted-remapped", 10}, {"deleted-unmapped", 5}, {"user-deleted", 6}, {"reauth", 8},
	{"backing-off", 8}, {"unknown-profile", 5}, {"invalid", 2}, {"stale", 15},
}

// GenerateFleet makes a realistic synthetic fleet of opts.Installs report
// rows, each given to emit as its columns' text in Columns order (the
// slice is reused): a mix of profiles and versions, a consistent majority,
// each other kind at the rate of fleetKinds (SDKs signed out, apps signed
// out, API-key builds, wrong users, deleted users remapped or not, reauth,
// backoff, unknown versions, malformed rows, stale reports), with upper-case
// IDs where the SDK reports them. It returns the counts an audit must find.
func GenerateFleet(opts FleetOptions, emit func(rec []string) error) (Truth, error) {
	rng := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	now := opts.Now.UTC().Truncate(time.Second)
	truth := Truth{Seed: opts.Seed, Now: now, Stale: TruthStale.String(), Classes: map[Class]int64{},
		ByProfile: map[string]map[Class]int64{}}
	// The native SDK lines a fleet runs; Android 4.2.1–4.2.2 joins for the
	// deletions only it cannot detect.
	profiles := []string{"ios-1.3", "ios-1.8.1", "ios-1.8", "android-4.2.0", "android-5.0"}
	rec := make([]string, numColumns)
	uuid := func() string {
		return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff,
			rng.Uint32()&0xfff, rng.Uint64()&0xffffffffffff)
	}
	for i := range opts.Installs {
		kind := "consistent"
		roll := rng.IntN(1000)
		for _, k := range fleetKinds {
			if roll < k.rate {
				kind = k.kind
				break
			}
			roll -= k.rate
		}
		pname := profiles[rng.IntN(len(profiles))]
		switch kind {
		case "user-deleted":
			pname = "android-5.0" // the SDK that never signs out a deleted user
		case "deleted-remapped", "deleted-unmapped":
			pname = "android-4.2.2" // the SDK that never detects a deleted user
		case "reauth":
			if pname == "ios-1.8" || pname == "ios-1.8.1" {
				pname = "ios-1.3" // iOS 1.4+ never shows pendingReauthentication
			}
		}
		p, _ := fsm.ParseProfile(pname)
		versions := fleetVersions[pname]
		version := versions[rng.IntN(len(versions))]
		env := []fsm.Environment{fsm.Production, fsm.Sandbox}[rng.IntN(2)]
		region := []fsm.Region{fsm.US, fsm.EU}[rng.IntN(2)]
		app, vital := fmt.Sprintf("user-%d", i), uuid()
		sdkUser := func(id string) string {
			if p.UpperCaseUserID {
				return strings.ToUpper(id)
			}
			return id
		}
		for j := range rec {
			rec[j] = ""
		}
		rec[colInstallationID] = uuid()
		rec[colPlatform], rec[colSDKVersion] = string(p.Platform), version
		rec[colAppSignedIn], rec[colAppUserID], rec[colAppVitalUserID] = "true", app, vital
		rec[colAppEnvironment], rec[colAppRegion] = string(env), string(region)
		rec[colSDKStatus], rec[colSDKCurrentUserID] = "configured,signedIn,useSignInToken", sdkUser(vital)
		rec[colSDKEnvironment], rec[colSDKRegion] = string(env), string(region)
		rec[colLastObserved] = string(fsm.Token)
		reported := now.Add(-time.Duration(rng.IntN(7*24*3600)) * time.Second)
		rec[colMappedVitalUserID] = vital
		classes := []Class{Class(reconcile.Consistent)}
		switch kind {
		case "sdk-signed-out":
			rec[colSDKStatus], rec[colSDKCurrentUserID], rec[colLastObserved] = "", "", string(fsm.SignedOut)
			rec[colSDKEnvironment], rec[colSDKRegion] = "", ""
			classes = []Class{Class(reconcile.SDKSignedOut)}
		case "app-signed-out":
			rec[colAppSignedIn], rec[colAppUserID], rec[colAppVitalUserID], rec[colMappedVitalUserID] = "false", "", "", ""
			classes = []Class{Class(reconcile.AppSignedOut)}
		case "api-key-mode":
			rec[colSDKStatus], rec[colLastObserved] = "configured,signedIn,useApiKey", string(fsm.APIKey)
			classes = []Class{Class(reconcile.APIKeyMode)}
		case "wrong-user":
			rec[colSDKCurrentUserID] = sdkUser(uuid())
			classes = []Class{Class(reconcile.WrongUser), MappingMismatch}
		case "deleted-remapped":
			rec[colMappedVitalUserID] = uuid() // the backend made a new Vital user
			classes = []Class{Class(reconcile.WrongUser), MappingMismatch}
		case "deleted-unmapped":
			rec[colMappedVitalUserID] = "" // deleted, not yet replaced
			classes = []Class{Class(reconcile.Consistent), MappingMismatch}
		case "user-deleted":
			rec[colSDKStatus], rec[colSDKCurrentUserID] = "configured", ""
			classes = []Class{Class(reconcile.UserDeletedDiscrepancy)}
		case "reauth":
			rec[colSDKStatus] = "configured,signedIn,useSignInToken,pendingReauthentication"
			rec[colLastObserved] = string(fsm.ReauthRequired)
			classes = []Class{Class(reconcile.ReauthNeeded)}
		case "backing-off":
			rec[colSDKStatus], rec[colSDKCurrentUserID], rec[colLastObserved] = "", "", string(fsm.SignedOut)
			rec[colSDKEnvironment], rec[colSDKRegion] = "", ""
			rec[colLastError] = string(reconcile.ErrNetwork)
			rec[colNextAttemptAt] = reported.Add(10 * time.Minute).Format(time.RFC3339)
			classes = []Class{Class(reconcile.BackingOff)}
		case "unknown-profile":
			rec[colSDKVersion] = "9." + string(rune('0'+rng.IntN(10))) + ".0"
			pname = UnknownProfileName
			classes = []Class{UnknownProfile}
		case "invalid":
			pname = UnknownProfileName
			if rng.IntN(2) == 0 {
				rec[colSDKStatus] = "configured,signedIn,bogus"
			} else {
				rec[colLastObserved] = "asleep"
			}
			classes = []Class{Invalid}
		case "stale":
			reported = now.Add(-60 * 24 * time.Hour)
			classes = []Class{Class(reconcile.Consistent), Stale}
		}
		rec[colReportedAt] = reported.Format(time.RFC3339)
		truth.Rows++
		truth.add(pname, classes...)
		if err := emit(rec); err != nil {
			return truth, err
		}
	}
	return truth, nil
}

// CSVWriter writes rows in the report schema as CSV.
type CSVWriter struct {
	w       *bufio.Writer
	started bool
}

// NewCSVWriter returns a writer to w; call Flush at the end.
func NewCSVWriter(w io.Writer) *CSVWriter { return &CSVWriter{w: bufio.NewWriterSize(w, 1<<16)} }

// Write writes one record (Columns order), after the header on the first
// call. Fields holding a comma or a quote are quoted.
func (c *CSVWriter) Write(rec []string) error {
	if !c.started {
		c.started = true
		c.writeLine(columns[:])
	}
	c.writeLine(rec)
	return nil
}

func (c *CSVWriter) writeLine(fields []string) {
	for i, f := range fields {
		if i > 0 {
			c.w.WriteByte(',')
		}
		if strings.ContainsAny(f, ",\"\n") {
			c.w.WriteByte('"')
			c.w.WriteString(strings.ReplaceAll(f, `"`, `""`))
			c.w.WriteByte('"')
		} else {
			c.w.WriteString(f)
		}
	}
	c.w.WriteByte('\n')
}

// Flush writes out what is buffered.
func (c *CSVWriter) Flush() error { return c.w.Flush() }

// JSONLWriter writes rows in the report schema as JSON Lines.
type JSONLWriter struct{ w *bufio.Writer }

// NewJSONLWriter returns a writer to w; call Flush at the end.
func NewJSONLWriter(w io.Writer) *JSONLWriter { return &JSONLWriter{w: bufio.NewWriterSize(w, 1<<16)} }

// Write writes one record (Columns order) as an object: app_signed_in a
// boolean, sdk_status an array, next_attempt_at omitted when empty.
func (j *JSONLWriter) Write(rec []string) error {
	m := make(map[string]any, numColumns)
	for i, c := range columns {
		switch i {
		case colAppSignedIn:
			m[c] = rec[i] == "true"
		case colSDKStatus:
			flags := []string{}
			if rec[i] != "" {
				flags = strings.Split(rec[i], ",")
			}
			m[c] = flags
		case colNextAttemptAt, colProfile:
			if rec[i] != "" {
				m[c] = rec[i]
			}
		default:
			m[c] = rec[i]
		}
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	j.w.Write(data)
	return j.w.WriteByte('\n')
}

// Flush writes out what is buffered.
func (j *JSONLWriter) Flush() error { return j.w.Flush() }
