package emulatorclient

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vitalsync/vitalsync/emulator"
)

// WriteText writes an answer of the Client for people: a Health or a Clock
// as one line, an emulator.Overview as WriteState does, a user or users as
// WriteUsers, a fault or faults as WriteFaults. quote is applied to every
// value the emulator sent (IDs, kinds, offsets), so that one holding a line
// break or a terminal escape cannot forge lines or columns; the identity
// function keeps them as they are.
func WriteText(w io.Writer, answer any, quote func(string) string) error {
	var err error
	switch a := answer.(type) {
	case Health:
		_, err = fmt.Fprintf(w, "%s, emulator clock %s\n", quote(a.Status), a.Time.Format(time.RFC3339))
	case Clock:
		_, err = fmt.Fprintf(w, "emulator clock %s (advanced %s in all)\n", a.Time.Format(time.RFC3339), quote(a.ClockOffset))
	case emulator.Overview:
		err = WriteState(w, a, quote)
	case emulator.UserOverview:
		err = WriteUsers(w, []emulator.UserOverview{a}, quote)
	case []emulator.UserOverview:
		err = WriteUsers(w, a, quote)
	case emulator.FaultOverview:
		err = WriteFaults(w, []emulator.FaultOverview{a}, quote)
	case []emulator.FaultOverview:
		err = WriteFaults(w, a, quote)
	default:
		err = fmt.Errorf("emulatorclient: no text for a %T", answer)
	}
	return err
}

// WriteState writes the emulator's state for people: its clock, team and
// request count, the users' table (WriteUsers), the Sign-In Tokens minted
// and the queued faults (WriteFaults). quote is as for WriteText.
func WriteState(w io.Writer, o emulator.Overview, quote func(string) string) error {
	fmt.Fprintf(w, "Clock:    %s (advanced %s)\nTeam:     %s (%s %s)\nRequests: %d\n\n",
		o.Time.Format(time.RFC3339), quote(o.ClockOffset), quote(o.TeamID), quote(o.Environment), quote(o.Region), o.TotalRequests)
	if err := WriteUsers(w, o.Users, quote); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d Sign-In Tokens minted\n", len(o.SignInTokens))
	if len(o.Faults) > 0 {
		fmt.Fprintln(w, "\nQueued faults:")
		return WriteFaults(w, o.Faults, quote)
	}
	return nil
}

// WriteUsers writes a table of users: IDs, whether deleted, access tokens
// and refresh sessions by state. quote is as for WriteText.
func WriteUsers(w io.Writer, users []emulator.UserOverview, quote func(string) string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER ID\tCLIENT USER ID\tSTATUS\tACCESS TOKENS\tREFRESH SESSIONS")
	for _, u := range users {
		status := "active"
		if u.Deleted {
			status = "deleted"
		}
		states := make([]string, 0, len(u.RefreshSessions))
		for s, n := range u.RefreshSessions {
			states = append(states, fmt.Sprintf("%s %d", quote(s), n))
		}
		sort.Strings(states)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d valid, %d expired\t%s\n", quote(u.UserID), quote(u.ClientUserID), status,
			u.AccessTokens.Valid, u.AccessTokens.Expired, orWord(strings.Join(states, ", "), "none"))
	}
	return tw.Flush()
}

// WriteFaults writes a line per route of its queued faults. quote is as
// for WriteText.
func WriteFaults(w io.Writer, faults []emulator.FaultOverview, quote func(string) string) error {
	for _, f := range faults {
		var parts []string
		for _, d := range f.Delays {
			parts = append(parts, fmt.Sprintf("%d× delay %s", d.Count, quote(d.Delay)))
		}
		for _, o := range f.Outcomes {
			s := fmt.Sprintf("%d× %s", o.Count, quote(o.Kind))
			if o.Status != 0 {
				s += fmt.Sprintf(" %d", o.Status)
			}
			if o.RetryAfter != "" {
				s += " retry after " + quote(o.RetryAfter)
			}
			parts = append(parts, s)
		}
		if _, err := fmt.Fprintf(w, "%s (%s): %s\n", quote(f.Name), quote(f.Route), orWord(strings.Join(parts, ", "), "nothing queued")); err != nil {
			return err
		}
	}
	return nil
}

// orWord is s, or else when s is empty.
func orWord(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}
