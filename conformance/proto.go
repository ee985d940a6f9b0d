package conformance

import (
	"encoding/json"
	"time"
)

// ProtocolVersion is the protocol's version (docs/conformance/protocol.md).
const ProtocolVersion = 1

// The engine's capabilities (hello's "capabilities").
const (
	CapPlan   = "plan"
	CapDecode = "decode"
	CapLaunch = "launch"
	CapRecord = "record"
)

// The commands.
const (
	CmdHello      = "hello"
	CmdPlan       = "plan"
	CmdLaunch     = "launch"
	CmdRecord     = "record"
	CmdJournalPut = "journal.put"
	CmdJournalGet = "journal.get"
)

// The calls an engine makes into the world.
const (
	CallStatus        = "sdk.status"
	CallCurrentUserID = "sdk.currentUserId"
	CallEnvironment   = "sdk.environment"
	CallInitialize    = "sdk.initialize"
	CallProtectedData = "sdk.protectedDataAvailable"
	CallSignIn        = "sdk.signIn"
	CallIdentify      = "sdk.identifyExternalUser"
	CallSignOut       = "sdk.signOut"
	CallSignInToken   = "tokens.signInToken"
	CallResolve       = "tokens.resolveVitalUser"
	CallJournalSaved  = "journal.saved"
	CallRand          = "rand"
)

// message is any line of the protocol; which keys are set says its kind.
type message struct {
	// A command (harness → engine).
	ID  *int64 `json:"id,omitempty"`
	Cmd string `json:"cmd,omitempty"`
	// A call (engine → harness) has Call and ID.
	Call string          `json:"call,omitempty"`
	Args json.RawMessage `json:"args,omitempty"`
	// A command's reply (engine → harness).
	Reply *int64 `json:"reply,omitempty"`
	// A call's answer (harness → engine).
	Answer *int64 `json:"answer,omitempty"`
	Now    string `json:"now,omitempty"`
	// The result or error of a reply or an answer.
	Result json.RawMessage `json:"result,omitempty"`
	Error  *WireError      `json:"error,omitempty"`
}

// WireError is an error answer or reply: an SDK error by name, a
// transient failure with its Retry-After, or anything else (message only).
type WireError struct {
	SDKError     string `json:"sdk_error,omitempty"`
	Transient    bool   `json:"transient,omitempty"`
	RetryAfterMS int64  `json:"retry_after_ms,omitempty"`
	Message      string `json:"message"`
}

func (e *WireError) Error() string { return e.Message }

// Hello is hello's result.
type Hello struct {
	Name         string   `json:"name"`
	Version      string   `json:"version"`
	Protocol     int      `json:"protocol"`
	Capabilities []string `json:"capabilities"`
}

// Has reports whether the engine declared capability c.
func (h Hello) Has(c string) bool {
	for _, x := range h.Capabilities {
		if x == c {
			return true
		}
	}
	return false
}

// PlanRequest is the plan command's parameters.
type PlanRequest struct {
	Observation      json.RawMessage   `json:"observation,omitempty"`
	ObservationText  *string           `json:"observation_text,omitempty"`
	ProfileOverrides *ProfileOverrides `json:"profile_overrides,omitempty"`
}

// LaunchRequest is the launch command's parameters.
type LaunchRequest struct {
	Journal          string            `json:"journal"`
	Profile          string            `json:"profile"`
	ProfileOverrides *ProfileOverrides `json:"profile_overrides"`
	SDK              SDKCalls          `json:"sdk"`
	App              StepApp           `json:"app"`
	Config           LaunchConfig      `json:"config"`
}

// LaunchConfig is the runner's configuration.
type LaunchConfig struct {
	Backoff           BackoffConfig `json:"backoff"`
	AllowAPIKey       bool          `json:"allow_api_key"`
	ResolveIntervalMS int64         `json:"resolve_interval_ms"`
}

// BackoffConfig is reconcile.Backoff in milliseconds.
type BackoffConfig struct {
	BaseMS int64   `json:"base_ms"`
	CapMS  int64   `json:"cap_ms"`
	Jitter float64 `json:"jitter"`
}

// RecordRequest is the record command's parameters.
type RecordRequest struct {
	Journal  string `json:"journal"`
	SDKError string `json:"sdk_error"`
}

// JournalRequest is journal.put's and journal.get's parameters.
type JournalRequest struct {
	Journal string        `json:"journal"`
	Entry   *JournalEntry `json:"entry,omitempty"`
}

// JournalResult is journal.get's result.
type JournalResult struct {
	Entry JournalEntry `json:"entry"`
}

// Outcome is the launch command's result.
type Outcome struct {
	Result      string        `json:"result"`
	State       string        `json:"state"`
	RetryAt     *string       `json:"retry_at"`
	Interrupted *Action       `json:"interrupted"`
	Divergence  *Divergence   `json:"divergence"`
	Passes      []OutcomePass `json:"passes"`
	Error       *RunErr       `json:"error"`
}

// OutcomePass is one pass of a launch's outcome.
type OutcomePass struct {
	// Observation is the observation the pass planned from, in the
	// observation JSON (the fleet suite's checks read it).
	Observation json.RawMessage `json:"observation,omitempty"`
	Observed    string          `json:"observed"`
	Discrepancy string          `json:"discrepancy"`
	Plan        Plan            `json:"plan"`
	Applied     []StepResult    `json:"applied"`
}

// The call arguments and results.
type (
	statusResult struct {
		Status []string `json:"status"`
	}
	userResult struct {
		UserID *string `json:"user_id"`
	}
	envResult struct {
		Environment *string `json:"environment"`
		Region      *string `json:"region"`
	}
	availableResult struct {
		Available bool `json:"available"`
	}
	tokenArgs struct {
		Token string `json:"token"`
	}
	identifyArgs struct {
		ExternalUserID string `json:"external_user_id"`
		Token          string `json:"token"`
	}
	appUserArgs struct {
		AppUserID string `json:"app_user_id"`
	}
	tokenResult struct {
		UserID      string `json:"user_id"`
		SignInToken string `json:"sign_in_token"`
	}
	resolveResult struct {
		UserID string `json:"user_id"`
	}
	savedArgs struct {
		Entry JournalEntry `json:"entry"`
		Event string       `json:"event"`
	}
	randResult struct {
		Value float64 `json:"value"`
	}
)

func formatNow(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
