package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/postgres"
	"github.com/vitalsync/vitalsync/audit"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/issuer"
)

// Two serve processes on one PostgreSQL database take 100 concurrent
// reports of one installation, dated in an order unrelated to their
// sending: the stored report is one whole report (the one received last,
// by the issuers' clocks, not the one dated latest), and audit --db
// postgres://… reads it.
func TestServeReplicasReportOnPostgres(t *testing.T) {
	p := startReplicas(t, "sk_us_serve_replicas_report_9c41")
	dbURL, replicas := p.dbURL, p.replicas
	clients := p.clients(mintSession(t, "--secret", testSessionSecret, "--user", "alice"))
	base := time.Date(2026, 11, 19, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	const n = 100
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		k := (i * 37) % n // times in an order unrelated to the start order
		wg.Go(func() {
			<-start
			r := issuer.Report{InstallationID: "phone-1", Platform: fsm.Android, SDKVersion: fmt.Sprintf("4.3.%d", k),
				ReportedAt: base.Add(time.Duration(k) * time.Second)}
			if p, ok := fsm.ProfileFor(r.Platform, r.SDKVersion); ok {
				r.Profile = p.Name // an unmapped version is sent without one
			}
			_, errs[i] = clients[i%2].SendReport(ctx, r)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i], "report %d", i)
	}
	db, err := postgres.Open(ctx, dbURL)
	require.NoError(t, err)
	defer db.Close()
	got, ok, err := db.LatestReport(ctx, "phone-1")
	require.NoError(t, err)
	require.True(t, ok)
	var k int
	_, err = fmt.Sscanf(got.SDKVersion, "4.3.%d", &k)
	require.NoError(t, err)
	require.Equal(t, base.Add(time.Duration(k)*time.Second), got.ReportedAt, "a mix of two reports")
	b, ok, err := db.Binding(ctx, "phone-1")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "alice", b.AppUserID)

	// A report dated earliest, sent now, is the installation's report
	// through either replica: received last.
	for _, c := range clients {
		stored, err := c.SendReport(ctx, issuer.Report{InstallationID: "phone-1", Platform: fsm.Android, SDKVersion: "4.3.0",
			Profile: "android-5.0", ReportedAt: base})
		require.NoError(t, err)
		require.True(t, stored)
	}

	out, errOut, code := runCLI("", "audit", "--db", dbURL, "--format", "json", "--now", "2026-11-20T00:00:00Z")
	require.Zero(t, code, errOut)
	var sum audit.Summary
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	require.Equal(t, int64(1), sum.Rows)
	require.Equal(t, map[audit.Class]int64{"consistent": 1}, sum.Classes, "signed out on both sides")

	for i, r := range replicas {
		require.NoError(t, r.stop(t), "replica %d: %s", i, r.stderr)
	}
}
