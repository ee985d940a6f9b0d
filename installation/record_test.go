package installation_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/memory"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/installation"
	"github.com/vitalsync/vitalsync/reconcile"
)

// A quiet launch records one pass and nothing applied; a failed one records
// the error, its class, its retry time and the state the SDK's status
// tells, in the stable JSON field names.
func TestRecordLaunch(t *testing.T) {
	ctx := context.Background()
	p, _ := fsm.ParseProfile("android-5.0")
	ms, mj := memory.NewDeviceStore(), &memory.Journal{}
	cfg := installation.Config{Profile: p, Store: ms, Journal: mj, Installation: "phone", Transport: &noNetwork{}, Now: now,
		IssuerURL: "http://issuer.test"}
	rec, err := installation.RecordLaunch(ctx, cfg)
	require.NoError(t, err)
	require.Equal(t, reconcile.ResultNothingToDo, rec.Outcome.Result)
	require.Equal(t, []string{}, rec.Outcome.Applied)
	require.Len(t, rec.Passes, 1)
	require.Equal(t, rec.Passes[0], rec.First())

	app := reconcile.AppSession{SignedIn: true, AppUserID: "alice", Environment: fsm.Sandbox, Region: fsm.US}
	cfg.Session, cfg.App = "s", func() reconcile.AppSession { return app }
	rec, err = installation.RecordLaunch(ctx, cfg)
	require.Error(t, err)
	require.Equal(t, reconcile.ResultFailed, rec.Outcome.Result)
	require.Equal(t, err.Error(), rec.Outcome.Error)
	require.Equal(t, string(reconcile.ClassTransient), rec.Outcome.Class)
	require.NotNil(t, rec.Outcome.RetryAt)
	require.Equal(t, "signed-out", rec.Outcome.State)
	require.Positive(t, rec.NetworkCalls)

	b, err := json.Marshal(rec)
	require.NoError(t, err)
	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &fields))
	for _, k := range []string{"passes", "outcome", "network_calls", "db_writes", "report_calls"} {
		require.Contains(t, fields, k)
	}
	require.Empty(t, installation.LaunchRecord{}.First().Plan.Actions)
}
