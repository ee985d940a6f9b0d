package emulator

import (
	"slices"
	"time"
)

// Overview is what the control plane lists (GET /_emulator/state) and the
// web UI shows: the emulator's state without a secret in it (no API key,
// signing key or token; tokens are counted, and minted Sign-In Tokens are
// listed by user and expiry).
type Overview struct {
	Time        time.Time `json:"time"`
	TeamID      string    `json:"team_id"`
	Environment string    `json:"environment"`
	Region      string    `json:"region"`
	// ClockOffset is how far the clock was advanced, in Go's duration
	// syntax.
	ClockOffset  string                `json:"clock_offset"`
	Users        []UserOverview        `json:"users"`
	SignInTokens []SignInTokenOverview `json:"sign_in_tokens"`
	Faults       []FaultOverview       `json:"faults"`
	// RequestCounts counts the requests that reached each route, by
	// [Route.Name]; TotalRequests counts every request to the API.
	RequestCounts map[string]int `json:"request_counts"`
	TotalRequests int            `json:"total_requests"`
	// Requests are the last API requests ([Emulator.RecentRequests]),
	// newest first.
	Requests []RequestOverview `json:"recent_requests"`
}

// UserOverview is one user, in creation order, deleted ones included.
type UserOverview struct {
	UserID       string     `json:"user_id"`
	ClientUserID string     `json:"client_user_id"`
	CreatedOn    time.Time  `json:"created_on"`
	Deleted      bool       `json:"deleted"`
	DeletedAt    *time.Time `json:"deleted_at,omitempty"`
	// AccessTokens counts the user's access tokens that are still valid
	// and those that have expired.
	AccessTokens TokenCounts `json:"access_tokens"`
	// RefreshSessions counts the user's refresh tokens by state: active,
	// revoked (a refresh answers reauthentication_required), rotated and
	// user-deleted (a refresh answers invalid_token).
	RefreshSessions map[string]int `json:"refresh_sessions"`
}

// TokenCounts counts access tokens.
type TokenCounts struct {
	Valid   int `json:"valid"`
	Expired int `json:"expired"`
}

// SignInTokenOverview is one minted Sign-In Token: its user and times,
// never the token.
type SignInTokenOverview struct {
	UserID    string    `json:"user_id"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Expired   bool      `json:"expired"`
}

// FaultOverview is what is queued for one route.
type FaultOverview struct {
	Route    string          `json:"route"`
	Name     string          `json:"name"`
	Delays   []DelayOverview `json:"delays"`
	Outcomes []OutcomeQueued `json:"outcomes"`
}

// DelayOverview is a run of queued delays.
type DelayOverview struct {
	Delay string `json:"delay"`
	Count int    `json:"count"`
}

// OutcomeQueued is a run of queued outcomes: Kind is "fail" (with
// Status), "drop" or "rate-limit" (with RetryAfter).
type OutcomeQueued struct {
	Kind       string `json:"kind"`
	Status     int    `json:"status,omitempty"`
	RetryAfter string `json:"retry_after,omitempty"`
	Count      int    `json:"count"`
}

// RequestOverview is a [RequestRecord] as JSON.
type RequestOverview struct {
	Time      time.Time `json:"time"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Route     string    `json:"route"`
	Status    int       `json:"status"`
	LatencyMS float64   `json:"latency_ms"`
}

// outcomeNames are the outcome kinds' stable names.
var outcomeNames = map[outcomeKind]string{outcomeFail: "fail", outcomeDrop: "drop", outcomeRateLimit: "rate-limit"}

// Overview returns the emulator's state without secrets.
func (e *Emulator) Overview() Overview {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	o := Overview{
		Time:          now,
		TeamID:        e.teamID,
		Environment:   string(e.cfg.environment),
		Region:        string(e.cfg.region),
		ClockOffset:   e.offset.String(),
		Users:         []UserOverview{},
		SignInTokens:  []SignInTokenOverview{},
		Faults:        []FaultOverview{},
		RequestCounts: map[string]int{},
		TotalRequests: e.total,
		Requests:      []RequestOverview{},
	}
	index := map[string]int{}
	for i, u := range e.order {
		uo := UserOverview{UserID: u.id, ClientUserID: u.clientUserID, CreatedOn: u.createdOn,
			Deleted: !u.deletedAt.IsZero(), RefreshSessions: map[string]int{}}
		if uo.Deleted {
			d := u.deletedAt
			uo.DeletedAt = &d
		}
		o.Users = append(o.Users, uo)
		index[u.id] = i
	}
	for _, g := range e.access {
		u := &o.Users[index[g.userID]]
		if now.Before(g.expires) {
			u.AccessTokens.Valid++
		} else {
			u.AccessTokens.Expired++
		}
	}
	for _, g := range e.refresh {
		o.Users[index[g.userID]].RefreshSessions[g.state.String()]++
	}
	for _, m := range e.minted {
		o.SignInTokens = append(o.SignInTokens, SignInTokenOverview{m.userID, m.issuedAt, m.expires, !now.Before(m.expires)})
	}
	for _, r := range Routes() {
		if n := e.counts[r]; n > 0 {
			o.RequestCounts[r.Name()] = n
		}
		q := e.faults[r]
		if q == nil || len(q.delays)+len(q.outcomes) == 0 {
			continue
		}
		fo := FaultOverview{Route: string(r), Name: r.Name(), Delays: []DelayOverview{}, Outcomes: []OutcomeQueued{}}
		for _, d := range q.delays {
			fo.Delays = append(fo.Delays, DelayOverview{d.v.String(), d.n})
		}
		for _, oc := range q.outcomes {
			oq := OutcomeQueued{Kind: outcomeNames[oc.v.kind], Count: oc.n, Status: oc.v.status}
			if oc.v.kind == outcomeRateLimit {
				oq.RetryAfter = oc.v.retryAfter.String()
			}
			fo.Outcomes = append(fo.Outcomes, oq)
		}
		o.Faults = append(o.Faults, fo)
	}
	for _, r := range slices.Backward(e.recent) {
		o.Requests = append(o.Requests, RequestOverview{r.Time, r.Method, r.Path, r.Route, r.Status,
			float64(r.Latency) / float64(time.Millisecond)})
	}
	return o
}
