package timeline

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// palette: one colour per queue / tier, in tier order.
var palette = []color.Color{
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, // red: the urgent tier
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

func colour(i int) color.Color { return palette[i%len(palette)] }

// WritePlot draws the timeline of snaps into path: PNG or SVG by its
// extension. The top panel shows each queue's backlog (visible + in flight),
// the bottom one each HPA's replicas and maxReplicas (the cap, dashed), with
// the burst marked. Unreadable samples are left out, never drawn as zero.
func WritePlot(snaps []Snapshot, path string) error {
	if len(snaps) == 0 {
		return fmt.Errorf("plot %s: nothing was recorded", path)
	}
	queues, err := queuePlot(snaps)
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	replicas, err := replicaPlot(snaps)
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	const w, h = 10 * vg.Inch, 7 * vg.Inch
	var canvas vg.CanvasWriterTo
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png":
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110), vgimg.UseBackgroundColor(color.White))}
	case ".svg":
		canvas = vgsvg.New(w, h)
	default:
		return fmt.Errorf("plot %s: unknown extension %q (want .png or .svg)", path, ext)
	}
	dc := draw.New(canvas)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 6, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	plots := [][]*plot.Plot{{queues}, {replicas}}
	for i, row := range plot.Align(plots, tiles, dc) {
		plots[i][0].Draw(row[0])
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if _, err := canvas.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("write plot %s: %w", path, err)
	}
	return f.Close()
}

func newPlot(title, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time since the story started (m:ss)"
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	p.X.Tick.Marker = clockTicks{}
	p.Y.Tick.Marker = plainTicks{}
	return p
}

func queuePlot(snaps []Snapshot) (*plot.Plot, error) {
	p := newPlot("Queue backlog (visible + in flight)", "messages")
	var names []string
	for _, s := range snaps {
		for _, q := range s.Queues {
			if !contains(names, q.Name) {
				names = append(names, q.Name)
			}
		}
	}
	peak := 1.0
	for i, name := range names {
		var xys plotter.XYs
		for _, s := range snaps {
			for _, q := range s.Queues {
				if q.Name == name && q.Err == "" {
					xys = append(xys, plotter.XY{X: s.At.Seconds(), Y: float64(q.Backlog())})
					peak = max(peak, float64(q.Backlog()))
				}
			}
		}
		if err := addLine(p, xys, name+" queue", colour(i), solid); err != nil {
			return nil, err
		}
	}
	// Head room for the legend.
	p.Y.Max = peak * 1.4
	if err := markPhases(p, snaps, peak); err != nil {
		return nil, err
	}
	return p, nil
}

func replicaPlot(snaps []Snapshot) (*plot.Plot, error) {
	p := newPlot("Pods Running (solid) and Pending (dotted); maxReplicas as capped by the coordinator (dashed)", "pods")
	var tiers []string
	for _, s := range snaps {
		for _, t := range s.Tiers {
			if !contains(tiers, t.Deployment) {
				tiers = append(tiers, t.Deployment)
			}
		}
	}
	peak := 1.0
	for i, name := range tiers {
		var running, pending plotter.XYs
		anyPending := false
		for _, s := range snaps {
			for _, t := range s.Tiers {
				if t.Deployment != name || t.Err != "" {
					continue
				}
				running = append(running, plotter.XY{X: s.At.Seconds(), Y: float64(t.Running)})
				pending = append(pending, plotter.XY{X: s.At.Seconds(), Y: float64(t.Pending)})
				anyPending = anyPending || t.Pending > 0
				peak = max(peak, float64(t.Running), float64(t.Pending))
			}
		}
		if err := addLine(p, running, name+" running", colour(i), solid); err != nil {
			return nil, err
		}
		if anyPending {
			if err := addLine(p, pending, name+" pending", colour(i), dotted); err != nil {
				return nil, err
			}
		}
	}
	var hpas []string
	for _, s := range snaps {
		for _, h := range s.HPAs {
			if h.Capped() && !contains(hpas, h.Name) {
				hpas = append(hpas, h.Name)
			}
		}
	}
	// Only a capped HPA's maxReplicas says something; a constant user
	// maximum would clutter the panel.
	for _, name := range hpas {
		var maxes plotter.XYs
		for _, s := range snaps {
			for _, h := range s.HPAs {
				if h.Name == name && h.Err == "" {
					maxes = append(maxes, plotter.XY{X: s.At.Seconds(), Y: float64(h.Max)})
					peak = max(peak, float64(h.Max))
				}
			}
		}
		c := colour(len(tiers) - 1)
		if i := slices.Index(tiers, name); i >= 0 {
			c = colour(i)
		}
		if err := addLine(p, maxes, name+" HPA maxReplicas", c, dashed); err != nil {
			return nil, err
		}
	}
	p.Y.Max = peak * 1.7
	if err := markPhases(p, snaps, peak); err != nil {
		return nil, err
	}
	return p, nil
}

type style int

const (
	solid style = iota
	dashed
	dotted
)

func addLine(p *plot.Plot, xys plotter.XYs, label string, c color.Color, st style) error {
	if len(xys) == 0 {
		return nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("line %s: %w", label, err)
	}
	l.Color = c
	l.Width = vg.Points(1.5)
	switch st {
	case dashed:
		l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
	case dotted:
		l.Dashes = []vg.Length{vg.Points(1), vg.Points(2)}
		l.Width = vg.Points(1)
	}
	p.Add(l)
	p.Legend.Add(label, l)
	return nil
}

// markPhases draws a grey vertical line where the burst starts and where the
// drain starts, with one legend entry.
func markPhases(p *plot.Plot, snaps []Snapshot, top float64) error {
	prev := ""
	labelled := false
	for _, s := range snaps {
		if s.Phase != prev && (s.Phase == "burst" || s.Phase == "drain") {
			l, err := plotter.NewLine(plotter.XYs{{X: s.At.Seconds(), Y: 0}, {X: s.At.Seconds(), Y: top}})
			if err != nil {
				return err
			}
			l.Color = color.Gray{Y: 0x99}
			l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
			p.Add(l)
			if !labelled {
				p.Legend.Add("burst, then drain, starts", l)
				labelled = true
			}
		}
		prev = s.Phase
	}
	return nil
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

// clockTicks marks the time axis in minutes and seconds at round steps.
type clockTicks struct{}

func (clockTicks) Ticks(lo, hi float64) []plot.Tick {
	span := hi - lo
	step := 10.0
	for _, s := range []float64{10, 15, 30, 60, 120, 300, 600} {
		step = s
		if span/s <= 10 {
			break
		}
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: fmt.Sprintf("%d:%02d", int(v)/60, int(v)%60)})
	}
	return ticks
}

// plainTicks marks a count axis at a round step (1, 2 or 5 times a power
// of ten) giving at most eight labelled ticks.
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	span := hi - lo
	if span <= 0 {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'f', -1, 64)}}
	}
	step := 1.0
	for span/step > 8 {
		switch {
		case step/math.Pow(10, math.Floor(math.Log10(step))) < 1.5:
			step *= 2
		case step/math.Pow(10, math.Floor(math.Log10(step))) < 3:
			step *= 2.5
		default:
			step *= 2
		}
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ticks
}
