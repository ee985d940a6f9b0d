package reconcile

import (
	"encoding/json"
	"time"
)

// wireStepError is a failed step's error in JSON: its class, its SDK error
// name and its message (adapters keep secrets out of their messages).
type wireStepError struct {
	Class    ErrorClass `json:"class"`
	SDKError SDKError   `json:"sdk_error,omitempty"`
	Message  string     `json:"message"`
}

type wireStep struct {
	Action wireAction     `json:"action"`
	Error  *wireStepError `json:"error"`
}

// MarshalJSON encodes the step as {"action":{…},"error":null} or, when it
// failed, {"action":{…},"error":{"class":…,"sdk_error":…,"message":…}}.
func (s Step) MarshalJSON() ([]byte, error) {
	w := wireStep{Action: toWire(s.Action)}
	if s.Err != nil {
		w.Error = &wireStepError{Class: s.Class, SDKError: s.SDKError, Message: s.Err.Error()}
	}
	return json.Marshal(w)
}

type wirePass struct {
	Observation Observation `json:"observation"`
	Plan        Plan        `json:"plan"`
	Applied     []Step      `json:"applied"`
}

// MarshalJSON encodes the pass as
// {"observation":{…},"plan":{…},"applied":[{"action":{…},"error":null}]}.
func (p Pass) MarshalJSON() ([]byte, error) {
	w := wirePass(p)
	if w.Applied == nil {
		w.Applied = []Step{}
	}
	return json.Marshal(w)
}

type wireDivergence struct {
	Expected string `json:"expected"`
	Observed string `json:"observed"`
}

type wireOutcome struct {
	Result      Result          `json:"result"`
	Passes      []Pass          `json:"passes"`
	State       string          `json:"state"`
	RetryAt     *time.Time      `json:"retry_at"`
	Interrupted *wireAction     `json:"interrupted"`
	Divergence  *wireDivergence `json:"divergence"`
}

// MarshalJSON encodes the outcome: its result, passes, last observed state,
// retry time, interrupted action and divergence (null when absent).
func (o Outcome) MarshalJSON() ([]byte, error) {
	w := wireOutcome{Result: o.Result, Passes: o.Passes, State: string(o.State)}
	if w.Passes == nil {
		w.Passes = []Pass{}
	}
	if !o.RetryAt.IsZero() {
		t := o.RetryAt.UTC()
		w.RetryAt = &t
	}
	if o.Interrupted != nil {
		a := toWire(o.Interrupted)
		w.Interrupted = &a
	}
	if o.Divergence != nil {
		w.Divergence = &wireDivergence{Expected: string(o.Divergence.Expected), Observed: string(o.Divergence.Observed)}
	}
	return json.Marshal(w)
}
