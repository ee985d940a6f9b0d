package simulations

import (
	"bufio"
	"fmt"
	"html"
	"io"
)

// svgColors are the strategies' line colours, in report order.
var svgColors = []string{"#1b7837", "#c51b7d", "#2166ac", "#e08214", "#542788", "#8c510a"}

// WriteSVG draws the report's consistency series: for each strategy, the
// share of launches that left their installation consistent, per bucket of
// virtual time. It uses only the standard library: the chart is a few
// polylines, axes and a legend, which a plotting library would not make
// clearer.
func WriteSVG(w io.Writer, rep *Report) error {
	const (
		width, height = 800, 420
		left, right   = 60, 180
		top, bottom   = 30, 50
	)
	pw, ph := float64(width-left-right), float64(height-top-bottom)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(bw, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(bw, `<text x="%d" y="18" font-size="14">Installations consistent after each launch (seed %d, %d installations)</text>`+"\n",
		left, rep.Seed, rep.Installs)
	// Axes and grid.
	for i := 0; i <= 4; i++ {
		y := float64(top) + ph*float64(4-i)/4
		fmt.Fprintf(bw, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, y, float64(left)+pw, y)
		fmt.Fprintf(bw, `<text x="%d" y="%.1f" text-anchor="end">%d%%</text>`+"\n", left-6, y+4, i*25)
	}
	buckets := 0
	for _, s := range rep.Strategies {
		buckets = max(buckets, len(s.Series))
	}
	hours := float64(int64(buckets)*rep.BucketSeconds) / 3600
	for i := 0; i <= 4; i++ {
		x := float64(left) + pw*float64(i)/4
		fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle">%.0f h</text>`+"\n", x, height-bottom+18, hours*float64(i)/4)
	}
	fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle">virtual time</text>`+"\n", float64(left)+pw/2, height-10)
	// One polyline per strategy; buckets without launches are skipped.
	for k, s := range rep.Strategies {
		color := svgColors[k%len(svgColors)]
		fmt.Fprintf(bw, `<polyline fill="none" stroke="%s" stroke-width="2" points="`, color)
		for b, v := range s.Series {
			if v < 0 {
				continue
			}
			x := float64(left) + pw*(float64(b)+0.5)/float64(max(1, buckets))
			y := float64(top) + ph*(1-v)
			fmt.Fprintf(bw, "%.1f,%.1f ", x, y)
		}
		fmt.Fprintln(bw, `"/>`)
		ly := top + 20*k
		fmt.Fprintf(bw, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n",
			width-right+15, ly+10, width-right+35, ly+10, color)
		fmt.Fprintf(bw, `<text x="%d" y="%d">%s</text>`+"\n", width-right+40, ly+14, html.EscapeString(s.Name))
	}
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}
