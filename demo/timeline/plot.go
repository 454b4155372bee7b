package timeline

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"slices"
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
	p.X.Label.Text = "seconds since the story started"
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
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
		if err := addLine(p, xys, name+" queue", colour(i), false); err != nil {
			return nil, err
		}
	}
	// Head room for the legend.
	p.Y.Max = peak * 1.35
	if err := markPhases(p, snaps, peak); err != nil {
		return nil, err
	}
	return p, nil
}

func replicaPlot(snaps []Snapshot) (*plot.Plot, error) {
	p := newPlot("Replicas (HPA current) and maxReplicas (dashed: the cap the coordinator writes)", "replicas")
	var names []string
	for _, s := range snaps {
		for _, h := range s.HPAs {
			if !contains(names, h.Name) {
				names = append(names, h.Name)
			}
		}
	}
	peak := 1.0
	for i, name := range names {
		var cur, maxes plotter.XYs
		capped := false
		for _, s := range snaps {
			for _, h := range s.HPAs {
				if h.Name != name || h.Err != "" {
					continue
				}
				cur = append(cur, plotter.XY{X: s.At.Seconds(), Y: float64(h.Current)})
				maxes = append(maxes, plotter.XY{X: s.At.Seconds(), Y: float64(h.Max)})
				capped = capped || h.Capped()
				peak = max(peak, float64(h.Max))
			}
		}
		if err := addLine(p, cur, name+" replicas", colour(i), false); err != nil {
			return nil, err
		}
		// Only a capped HPA's maxReplicas says something; a constant user
		// maximum would just clutter the panel.
		if capped {
			if err := addLine(p, maxes, name+" maxReplicas", colour(i), true); err != nil {
				return nil, err
			}
		}
	}
	p.Y.Max = peak * 1.45
	if err := markPhases(p, snaps, peak); err != nil {
		return nil, err
	}
	return p, nil
}

func addLine(p *plot.Plot, xys plotter.XYs, label string, c color.Color, dashed bool) error {
	if len(xys) == 0 {
		return nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("line %s: %w", label, err)
	}
	l.Color = c
	l.Width = vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	p.Add(l)
	p.Legend.Add(label, l)
	return nil
}

// markPhases draws a grey vertical line where the burst starts and where the
// drain starts.
func markPhases(p *plot.Plot, snaps []Snapshot, top float64) error {
	prev := ""
	for _, s := range snaps {
		if s.Phase != prev && (s.Phase == "burst" || s.Phase == "drain") {
			l, err := plotter.NewLine(plotter.XYs{{X: s.At.Seconds(), Y: 0}, {X: s.At.Seconds(), Y: top}})
			if err != nil {
				return err
			}
			l.Color = color.Gray{Y: 0x99}
			l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
			p.Add(l)
			p.Legend.Add(s.Phase+" starts", l)
		}
		prev = s.Phase
	}
	return nil
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }
