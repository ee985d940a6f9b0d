package simulations

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSVGDrawsOnlyFullBuckets: a last bucket of two launches, all
// consistent, is left out of the consistency chart (the table's end share
// is not 100 %), and the axis starts where the data does, not at 0 %.
func TestSVGDrawsOnlyFullBuckets(t *testing.T) {
	rep := &FleetReport{Seed: 1, Installs: 100, BucketSeconds: 3600, Strategies: []StrategyStats{
		{Name: "engine", Series: []float64{0.9, 0.95, 1}, SeriesLaunches: []int{500, 500, 2},
			WrongUserSeconds: 0, DataGapSeconds: 1e6,
			ByProfile: []ProfileStats{{Profile: "ios-1.3", DataGapSeconds: 4e5}, {Profile: "android-5.0", DataGapSeconds: 6e5}}},
		{Name: "docs-recipe", Series: []float64{0.86, 0.9, 1}, SeriesLaunches: []int{500, 500, 2},
			WrongUserSeconds: 2e4, DataGapSeconds: 3e7,
			ByProfile: []ProfileStats{{Profile: "ios-1.3", WrongUserSeconds: 2e4, DataGapSeconds: 3e7}}},
	}}
	var buf bytes.Buffer
	require.NoError(t, WriteSVG(&buf, rep))
	svg := buf.String()
	lines := regexp.MustCompile(`<polyline[^>]*points="([^"]*)"`).FindAllStringSubmatch(svg, -1)
	require.Len(t, lines, 2)
	for _, l := range lines {
		require.Len(t, strings.Fields(l[1]), 2, "the two-launch bucket is not drawn")
	}
	require.Contains(t, svg, ">85%<", "the axis starts at the lowest share, rounded down to 5 %")
	require.NotContains(t, svg, ">0%<")
	require.Contains(t, svg, "fewer than 33 launches", "a tenth of the mean bucket (1,002 launches a strategy over 3 buckets)")

	// The trade-off chart: a point per strategy, one per strategy and
	// profile, the engine's named.
	require.Equal(t, 2, strings.Count(svg, `class="strategy"`))
	require.Equal(t, 3, strings.Count(svg, `class="profile"`))
	require.Contains(t, svg, "<title>engine: 0 wrong-user s, 1000000 data-gap s</title>")
	require.Contains(t, svg, "<title>docs-recipe on ios-1.3: 20000 wrong-user s, 30000000 data-gap s</title>")
}
