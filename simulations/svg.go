package simulations

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
)

// svgColors are the strategies' colours, in report order.
var svgColors = []string{"#1b7837", "#c51b7d", "#2166ac", "#e08214", "#542788", "#8c510a"}

// MinBucketLaunches is the fewest launches a bucket of the consistency
// series needs to be drawn: a share of a handful of launches (the last
// bucket often holds two) says nothing about the fleet.
const MinBucketLaunches = 30

// WriteSVG draws two charts of the report, one above the other. The first
// is consistency over virtual time: for each strategy, the share of
// launches that left their installation consistent, per bucket of virtual
// time that holds at least MinBucketLaunches launches (and a tenth of the
// mean bucket's), on an axis that starts where the data does. The second
// is the strategies' trade-off at a glance: wrong-user seconds against
// data-gap seconds, one large point per strategy and a small one per
// strategy and profile, on logarithmic axes (0 at the origin), the
// corner nearest the origin being the best. It uses only the standard
// library: a few polylines, points, axes and a legend, which a plotting
// library would not make clearer.
func WriteSVG(w io.Writer, rep *FleetReport) error {
	const width, height = 800, 900
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(bw, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	consistencyChart(bw, rep, 0)
	tradeoffChart(bw, rep, 440)
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}

// chart geometry, shared by both charts.
const (
	chartWidth, chartHeight = 800, 420
	chartLeft, chartRight   = 70, 180
	chartTop, chartBottom   = 30, 50
)

// drawn reports whether bucket b of s holds enough launches to be drawn.
func drawn(s StrategyStats, b, minN int) bool {
	return s.Series[b] >= 0 && (b >= len(s.SeriesLaunches) || s.SeriesLaunches[b] >= minN)
}

func consistencyChart(bw *bufio.Writer, rep *FleetReport, y0 int) {
	pw, ph := float64(chartWidth-chartLeft-chartRight), float64(chartHeight-chartTop-chartBottom)
	fmt.Fprintf(bw, `<text x="%d" y="%d" font-size="14">Installations consistent after each launch (seed %d, %d installations)</text>`+"\n",
		chartLeft, y0+18, rep.Seed, rep.Installs)
	buckets, total := 0, 0
	for _, s := range rep.Strategies {
		buckets = max(buckets, len(s.Series))
		for _, n := range s.SeriesLaunches {
			total += n
		}
	}
	minN := MinBucketLaunches
	if len(rep.Strategies) > 0 && buckets > 0 {
		minN = max(minN, total/len(rep.Strategies)/buckets/10)
	}
	// The axis starts at the lowest drawn share, rounded down to 5 %.
	lo := 1.0
	for _, s := range rep.Strategies {
		for b, v := range s.Series {
			if drawn(s, b, minN) {
				lo = min(lo, v)
			}
		}
	}
	lo = math.Max(0, math.Floor(lo*20-1e-9)/20)
	if lo >= 1 {
		lo = 0.95
	}
	yOf := func(v float64) float64 { return float64(y0+chartTop) + ph*(1-(v-lo)/(1-lo)) }
	for i := 0; i <= 4; i++ {
		v := lo + (1-lo)*float64(i)/4
		y := yOf(v)
		fmt.Fprintf(bw, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", chartLeft, y, float64(chartLeft)+pw, y)
		fmt.Fprintf(bw, `<text x="%d" y="%.1f" text-anchor="end">%s%%</text>`+"\n", chartLeft-6, y+4, trimFloat(100*v))
	}
	hours := float64(int64(buckets)*rep.BucketSeconds) / 3600
	for i := 0; i <= 4; i++ {
		x := float64(chartLeft) + pw*float64(i)/4
		fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle">%.0f h</text>`+"\n", x, y0+chartHeight-chartBottom+18, hours*float64(i)/4)
	}
	fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle">virtual time (buckets of fewer than %d launches are left out)</text>`+"\n",
		float64(chartLeft)+pw/2, y0+chartHeight-10, minN)
	for k, s := range rep.Strategies {
		color := svgColors[k%len(svgColors)]
		fmt.Fprintf(bw, `<polyline fill="none" stroke="%s" stroke-width="2" points="`, color)
		for b, v := range s.Series {
			if !drawn(s, b, minN) {
				continue
			}
			x := float64(chartLeft) + pw*(float64(b)+0.5)/float64(max(1, buckets))
			fmt.Fprintf(bw, "%.1f,%.1f ", x, yOf(v))
		}
		fmt.Fprintln(bw, `"/>`)
		legend(bw, k, y0, color, s.Name)
	}
}

// legend draws strategy k's entry.
func legend(bw *bufio.Writer, k, y0 int, color, name string) {
	ly := y0 + chartTop + 20*k
	fmt.Fprintf(bw, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n",
		chartWidth-chartRight+15, ly+10, chartWidth-chartRight+35, ly+10, color)
	fmt.Fprintf(bw, `<text x="%d" y="%d">%s</text>`+"\n", chartWidth-chartRight+40, ly+14, html.EscapeString(name))
}

func tradeoffChart(bw *bufio.Writer, rep *FleetReport, y0 int) {
	pw, ph := float64(chartWidth-chartLeft-chartRight), float64(chartHeight-chartTop-chartBottom)
	fmt.Fprintf(bw, `<text x="%d" y="%d" font-size="14">Wrong-user against data-gap seconds, per strategy (large) and per profile (small)</text>`+"\n",
		chartLeft, y0+18)
	// Decades on both axes, from 0 (at the origin) to the largest value.
	top := 1.0
	for _, s := range rep.Strategies {
		top = max(top, s.WrongUserSeconds, s.DataGapSeconds)
	}
	decades := math.Ceil(math.Log10(top + 1))
	pos := func(v float64) float64 { return math.Log10(1+max(0, v)) / decades }
	xOf := func(v float64) float64 { return float64(chartLeft) + pw*pos(v) }
	yOf := func(v float64) float64 { return float64(y0+chartTop) + ph*(1-pos(v)) }
	step := max(1, int(decades)/6)
	for d := 0; d <= int(decades); d += step {
		v := math.Pow(10, float64(d)) - 1
		label := decadeLabel(d)
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", xOf(v), y0+chartTop, xOf(v), float64(y0+chartTop)+ph)
		fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", xOf(v), y0+chartHeight-chartBottom+18, label)
		fmt.Fprintf(bw, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", chartLeft, yOf(v), float64(chartLeft)+pw, yOf(v))
		fmt.Fprintf(bw, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", chartLeft-6, yOf(v)+4, label)
	}
	fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle">wrong-user seconds (another person's account gets the data)</text>`+"\n",
		float64(chartLeft)+pw/2, y0+chartHeight-10)
	fmt.Fprintf(bw, `<text x="18" y="%.1f" text-anchor="middle" transform="rotate(-90 18 %.1f)">data-gap seconds</text>`+"\n",
		float64(y0+chartTop)+ph/2, float64(y0+chartTop)+ph/2)
	for k, s := range rep.Strategies {
		color := svgColors[k%len(svgColors)]
		for _, p := range s.ByProfile {
			fmt.Fprintf(bw, `<circle class="profile" cx="%.1f" cy="%.1f" r="3" fill="%s" fill-opacity="0.6"><title>%s on %s: %s wrong-user s, %s data-gap s</title></circle>`+"\n",
				xOf(p.WrongUserSeconds), yOf(p.DataGapSeconds), color, html.EscapeString(s.Name), html.EscapeString(p.Profile),
				trimFloat(math.Round(p.WrongUserSeconds)), trimFloat(math.Round(p.DataGapSeconds)))
		}
		fmt.Fprintf(bw, `<circle class="strategy" cx="%.1f" cy="%.1f" r="7" fill="%s" stroke="black"><title>%s: %s wrong-user s, %s data-gap s</title></circle>`+"\n",
			xOf(s.WrongUserSeconds), yOf(s.DataGapSeconds), color, html.EscapeString(s.Name),
			trimFloat(math.Round(s.WrongUserSeconds)), trimFloat(math.Round(s.DataGapSeconds)))
		fmt.Fprintf(bw, `<text x="%.1f" y="%.1f" fill="%s">%s</text>`+"\n", xOf(s.WrongUserSeconds)+9, yOf(s.DataGapSeconds)-6,
			color, html.EscapeString(s.Name))
		legend(bw, k, y0, color, s.Name)
	}
}

// decadeLabel names 10^d - 1 on a decade axis: 0, then 10, 100, 1 k, ...
func decadeLabel(d int) string {
	switch {
	case d == 0:
		return "0"
	case d < 3:
		return trimFloat(math.Pow(10, float64(d)))
	case d < 6:
		return trimFloat(math.Pow(10, float64(d-3))) + " k"
	case d < 9:
		return trimFloat(math.Pow(10, float64(d-6))) + " M"
	}
	return trimFloat(math.Pow(10, float64(d-9))) + " G"
}

// trimFloat prints x in plain decimals.
func trimFloat(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
		return fmt.Sprintf("%d", int64(x))
	}
	return fmt.Sprintf("%g", math.Round(x*10)/10)
}
