package issuer

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Headers of POST /v1/installation-report that prove where a report comes
// from (docs/reference/report-schema.md). They are not part of the report:
// an audit's input never holds them.
const (
	// HeaderInstallationKey carries the installation's key: 32 random
	// bytes the device generated with its installation ID, in unpadded
	// base64url. The issuer keeps only its SHA-256.
	HeaderInstallationKey = "Vitalsync-Installation-Key"
	// HeaderReportSequence carries the report's sequence: a decimal number
	// the device increments for every report it sends, from 1.
	HeaderReportSequence = "Vitalsync-Report-Sequence"
)

// InstallationKeySize is the size of an installation key in bytes.
const InstallationKeySize = 32

// MaxReportSkew is how far in the future (by the issuer's clock) a report's
// reported_at may lie; a later one is refused with ErrFutureReport.
const MaxReportSkew = 5 * time.Minute

// Errors of a report the issuer refuses for where or when it comes from.
var (
	// ErrInstallationBound means the report's installation is bound to
	// another app user, and the report does not prove it comes from the
	// installation with that user now signed in there (403,
	// CodeInstallationBound). It matches ErrForbidden. A device that meets
	// it reports under a new installation ID.
	ErrInstallationBound = fmt.Errorf("%w: installation bound to another app user", ErrForbidden)
	// ErrStaleSequence means the report's sequence is not above the last
	// one its installation sent (409, CodeStaleSequence): another copy of
	// the installation's database (a restored backup) reports under the
	// same ID. A device that meets it reports under a new installation ID.
	ErrStaleSequence = errors.New("report sequence not above the installation's last")
	// ErrFutureReport means reported_at lies more than MaxReportSkew after
	// the issuer's clock (400, CodeFutureReport). It matches ErrBadReport
	// through the *ReportFieldError that carries it.
	ErrFutureReport = errors.New("reported_at is in the future")
	// ErrTimeOutOfRange means a time lies outside what the stores hold
	// (MinTime to MaxTime). It matches ErrBadReport through the
	// *ReportFieldError that carries it.
	ErrTimeOutOfRange = errors.New("time out of range")
	// ErrConflict is a Client call's Kind for a 409 answer.
	ErrConflict = errors.New("conflict")
)

// The range of times a report may hold: the stores keep Unix nanoseconds in
// 64 bits, which reach 2262; the range stops well before.
var (
	MinTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// CheckTime reports whether t lies in [MinTime, MaxTime); the zero time
// (none) is not checked.
func CheckTime(t time.Time) error {
	if t.IsZero() || (!t.Before(MinTime) && t.Before(MaxTime)) {
		return nil
	}
	return ErrTimeOutOfRange
}

// Submission is a report as the issuer received it: the report, who sent
// it, what proves its installation, and when it arrived.
type Submission struct {
	Report Report
	// Caller is the authenticated app user who sent it; required.
	Caller string
	// KeyHash is the SHA-256 of the installation key sent with it (nil:
	// none), Sequence its sequence (0: none).
	KeyHash  []byte
	Sequence uint64
	// ReceivedAt is the issuer's clock when it arrived; required. Reports
	// are ordered by it.
	ReceivedAt time.Time
}

// Validate checks the report (Report.Validate), the caller and the times.
func (s *Submission) Validate() error {
	if err := s.Report.Validate(); err != nil {
		return err
	}
	switch {
	case ValidateAppUserID(s.Caller) != nil:
		return fmt.Errorf("%w: submission without a valid caller", ErrBadReport)
	case s.ReceivedAt.IsZero() || CheckTime(s.ReceivedAt) != nil:
		return &ReportFieldError{Field: "received_at", Err: ErrTimeOutOfRange}
	case s.KeyHash != nil && len(s.KeyHash) != sha256.Size:
		return fmt.Errorf("%w: key hash of %d bytes", ErrBadReport, len(s.KeyHash))
	}
	return nil
}

// Binding is an installation's binding to an app user, as a ReportStore
// keeps it.
type Binding struct {
	InstallationID string
	AppUserID      string
	KeyHash        []byte // nil: the installation never sent a key
	Sequence       uint64 // the highest sequence it sent; 0: none
	BoundAt        time.Time
	ReceivedAt     time.Time // when its last report arrived
}

// Bind is the one rule every ReportStore applies, inside the transaction
// that stores the report: given the installation's current binding (found
// false: none), it returns the binding to store and, on a rebind, the one
// it replaces (for the history), or the error that refuses s.
//
//   - The first report of an installation binds it to its caller.
//   - A report from another app user than the bound one is refused with
//     ErrInstallationBound unless it carries the key the installation
//     first sent and names its caller as the app user signed in: the
//     session of the user now signed in on that installation. It then
//     rebinds the installation to the caller.
//   - Once an installation has sent a sequence, every report must carry a
//     higher one, or it is refused with ErrStaleSequence: two copies of one
//     device database (a restored backup beside the original) never share
//     the installation's row for more than one report.
//   - The first key an installation sends is kept; a later report of the
//     same app user with another key or none is accepted (it cannot harm
//     another user) and does not change it.
func Bind(cur Binding, found bool, s Submission) (next Binding, replaced *Binding, err error) {
	s.ReceivedAt = s.ReceivedAt.UTC()
	if !found {
		return Binding{InstallationID: s.Report.InstallationID, AppUserID: s.Caller, KeyHash: s.KeyHash,
			Sequence: s.Sequence, BoundAt: s.ReceivedAt, ReceivedAt: s.ReceivedAt}, nil, nil
	}
	next = cur
	if cur.AppUserID != s.Caller {
		keyOK := cur.KeyHash != nil && s.KeyHash != nil && subtle.ConstantTimeCompare(cur.KeyHash, s.KeyHash) == 1
		if !keyOK || !s.Report.AppSignedIn || s.Report.AppUserID != s.Caller {
			return cur, nil, ErrInstallationBound
		}
		old := cur
		replaced = &old
		next.AppUserID, next.BoundAt = s.Caller, s.ReceivedAt
	}
	if cur.Sequence != 0 && s.Sequence <= cur.Sequence {
		return cur, nil, ErrStaleSequence
	}
	if next.KeyHash == nil {
		next.KeyHash = s.KeyHash
	}
	next.Sequence = s.Sequence
	if s.ReceivedAt.After(next.ReceivedAt) {
		next.ReceivedAt = s.ReceivedAt
	}
	return next, replaced, nil
}

// HashInstallationKey is the SHA-256 of an installation key, as the issuer
// keeps it.
func HashInstallationKey(key []byte) []byte {
	h := sha256.Sum256(key)
	return h[:]
}

// EncodeInstallationKey is key as HeaderInstallationKey carries it.
func EncodeInstallationKey(key []byte) string { return base64.RawURLEncoding.EncodeToString(key) }

// errBadProof is a malformed installation key or sequence header.
type errBadProof struct{ header string }

func (e *errBadProof) Error() string { return "malformed " + e.header + " header" }
func (e *errBadProof) Is(target error) bool {
	return target == ErrBadReport
}

// submissionProof reads the installation key and sequence headers of r: a
// header sent more than once, a key that is not InstallationKeySize bytes
// of unpadded base64url, or a sequence that is not a decimal number from 1
// is an error matching ErrBadReport.
func submissionProof(r *http.Request) (keyHash []byte, seq uint64, err error) {
	if v := r.Header.Values(HeaderInstallationKey); len(v) > 0 {
		key, derr := base64.RawURLEncoding.Strict().DecodeString(v[0])
		if len(v) > 1 || derr != nil || len(key) != InstallationKeySize {
			return nil, 0, &errBadProof{HeaderInstallationKey}
		}
		keyHash = HashInstallationKey(key)
	}
	if v := r.Header.Values(HeaderReportSequence); len(v) > 0 {
		n, perr := strconv.ParseUint(v[0], 10, 63)
		if len(v) > 1 || perr != nil || n == 0 || strconv.FormatUint(n, 10) != v[0] {
			return nil, 0, &errBadProof{HeaderReportSequence}
		}
		seq = n
	}
	return keyHash, seq, nil
}

// PastBinding is a binding a rebind replaced, as a store's history keeps it.
type PastBinding struct {
	AppUserID string
	BoundAt   time.Time
	UnboundAt time.Time
}
