package simulations

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// RelaxRSAMinimum adds rsa1024min=0 to GODEBUG and puts back what was
// there, or nothing.
func TestRelaxRSAMinimum(t *testing.T) {
	t.Setenv("GODEBUG", "http2client=0")
	restore := RelaxRSAMinimum()
	require.Equal(t, "http2client=0,rsa1024min=0", os.Getenv("GODEBUG"))
	restore()
	require.Equal(t, "http2client=0", os.Getenv("GODEBUG"))

	os.Unsetenv("GODEBUG")
	restore = RelaxRSAMinimum()
	require.Equal(t, "rsa1024min=0", os.Getenv("GODEBUG"))
	restore()
	_, set := os.LookupEnv("GODEBUG")
	require.False(t, set)
}

// ProgressLine redraws one line as a strategy's percentage changes, and
// ends it once every strategy is done.
func TestProgressLine(t *testing.T) {
	var buf bytes.Buffer
	progress := ProgressLine(&buf, []Strategy{Engine{}, EveryLaunch{}})
	progress("engine", 1, 4)
	progress("engine", 1, 4) // unchanged: nothing drawn
	require.Equal(t, 1, strings.Count(buf.String(), "\r"))
	require.Contains(t, buf.String(), "engine  25%  every-launch   0% (of 4 installations)")
	progress("engine", 4, 4)
	require.NotContains(t, buf.String(), "\n")
	progress("every-launch", 4, 4)
	require.True(t, strings.HasSuffix(buf.String(), "engine 100%  every-launch 100% (of 4 installations)\n"), buf.String())
}
