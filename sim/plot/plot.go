// Package plot draws a simulated run: queue depths on top; pods per tier
// and the lower tiers' maxReplicas (the coordinator's cap) below.
package plot

import (
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/queuescale/queuescale/sim"
)

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
}

// WriteFile draws r into path; the extension (.png or .svg) picks the
// format.
func WriteFile(path string, r *sim.Result, cfg sim.Config) error {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".png" && ext != ".svg" {
		return fmt.Errorf("plot %s: extension %q, want .png or .svg", path, ext)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if err := Write(f, ext[1:], r, cfg); err != nil {
		f.Close()
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return f.Close()
}

// Write draws r as "png" or "svg".
func Write(w io.Writer, format string, r *sim.Result, cfg sim.Config) error {
	top, err := queues(r, cfg)
	if err != nil {
		return err
	}
	bottom, err := pods(r, cfg)
	if err != nil {
		return err
	}
	width, height := 26*vg.Centimeter, 18*vg.Centimeter
	var canvas vg.CanvasWriterTo
	switch format {
	case "png":
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(96))}
	case "svg":
		canvas = vgsvg.New(width, height)
	default:
		return fmt.Errorf("format %q, want png or svg", format)
	}
	dc := draw.New(canvas)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter * 3, PadY: vg.Millimeter * 3, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	plots := [][]*gplot.Plot{{top}, {bottom}}
	cs := gplot.Align(plots, tiles, dc)
	top.Draw(cs[0][0])
	bottom.Draw(cs[1][0])
	_, err = canvas.WriteTo(w)
	return err
}

func hours(s []float64) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = v / 3600
	}
	return out
}

func line(p *gplot.Plot, name string, x, y []float64, c color.Color, dashed bool) error {
	xys := make(plotter.XYs, len(x))
	for i := range x {
		xys[i] = plotter.XY{X: x[i], Y: y[i]}
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("line %s: %w", name, err)
	}
	l.Color = c
	l.Width = vg.Points(1)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
	}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

func queues(r *sim.Result, cfg sim.Config) (*gplot.Plot, error) {
	p := gplot.New()
	p.Title.Text = fmt.Sprintf("%s: queue depth (visible + in flight)", r.Policy)
	p.X.Label.Text = "hour of the day"
	p.Y.Label.Text = "messages"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	x := hours(r.Series.Seconds)
	for i, ts := range r.Series.Tiers {
		y := make([]float64, len(ts.Visible))
		for k := range y {
			y[k] = ts.Visible[k] + ts.InFlight[k]
		}
		if err := line(p, cfg.Tiers[i].Queue, x, y, palette[i%len(palette)], false); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func pods(r *sim.Result, cfg sim.Config) (*gplot.Plot, error) {
	p := gplot.New()
	p.Title.Text = "pods per tier (running)"
	if r.Policy != sim.Static && r.Policy != sim.PriorityScaler {
		p.Title.Text += " and the lower tier's maxReplicas in effect"
	}
	p.X.Label.Text = "hour of the day"
	p.Y.Label.Text = "pods"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	x := hours(r.Series.Seconds)
	for i, ts := range r.Series.Tiers {
		if err := line(p, cfg.Tiers[i].Name+" running", x, ts.Running, palette[i%len(palette)], false); err != nil {
			return nil, err
		}
	}
	for i, ts := range r.Series.Tiers {
		if i == 0 || r.Policy == sim.Static || r.Policy == sim.PriorityScaler {
			continue
		}
		if err := line(p, cfg.Tiers[i].Name+" maxReplicas (cap)", x, ts.MaxReplicas, palette[(i+2)%len(palette)], true); err != nil {
			return nil, err
		}
	}
	pool := float64(int64(cfg.Nodes)*cfg.NodeMilliCPU) / float64(cfg.Tiers[0].MilliCPU)
	if err := line(p, "pool (pods of the first tier's size)", []float64{0, x[len(x)-1]}, []float64{pool, pool}, color.Gray{Y: 0x80}, true); err != nil {
		return nil, err
	}
	p.Y.Min = 0
	return p, nil
}
