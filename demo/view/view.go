// Package view draws the demo's terminal view: a compact screen refreshed in
// place on a terminal, or one plain line per interval when the output is a
// file or a pipe (tests, CI logs). Rendering is pure; Screen does the I/O.
package view

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/queuescale/queuescale/demo/load"
	"github.com/queuescale/queuescale/demo/timeline"
)

// Frame is what one refresh shows.
type Frame struct {
	Snapshot timeline.Snapshot
	// Workers are the stand-in workers' counters, by deployment.
	Workers []load.TierStats
}

func workersOf(f Frame, deployment string) (load.TierStats, bool) {
	for _, w := range f.Workers {
		if w.Deployment == deployment {
			return w, true
		}
	}
	return load.TierStats{}, false
}

func policyTier(p timeline.Policy, hpa string) (timeline.PolicyTier, bool) {
	for _, t := range p.Tiers {
		if t.HPA == hpa {
			return t, true
		}
	}
	return timeline.PolicyTier{}, false
}

// unreadable collects the errors of a table's cells, printed under it so
// the columns stay narrow.
type unreadable []string

func (u *unreadable) cell(what, err string) string {
	if len(err) > 100 {
		err = err[:97] + "..."
	}
	*u = append(*u, fmt.Sprintf("  %s unreadable: %s", what, err))
	return "unreadable"
}

func (u unreadable) write(b *strings.Builder) {
	for _, l := range u {
		b.WriteString(l + "\n")
	}
}

// Render returns the full view as lines.
func Render(f Frame) []string {
	s := f.Snapshot
	var b strings.Builder
	fmt.Fprintf(&b, "queuescale demo — phase %s — %s   (Ctrl-C stops and cleans up)\n\n", s.Phase, clock(s.At))

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "QUEUE\tVISIBLE\tIN FLIGHT\tBACKLOG\t")
	var errs unreadable
	for _, q := range s.Queues {
		if q.Err != "" {
			fmt.Fprintf(tw, "%s\t%s\t?\t?\t\n", q.Name, errs.cell("queue "+q.Name, q.Err))
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", q.Name, q.Visible, q.InFlight, q.Backlog())
	}
	tw.Flush()
	errs.write(&b)
	errs = nil
	b.WriteString("\n")

	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "HPA\tCURRENT\tDESIRED\tMAX\tUSER MAX\tDEMAND\tGRANT\tRUNNING\tPENDING\tWORKERS\t")
	for i, h := range s.HPAs {
		var tier timeline.Tier
		if i < len(s.Tiers) {
			tier = s.Tiers[i]
		}
		pods := fmt.Sprintf("%d\t%d", tier.Running, tier.Pending)
		if tier.Err != "" {
			pods = errs.cell("pods of "+tier.Deployment, tier.Err) + "\t?"
		}
		workers := "-"
		if w, ok := workersOf(f, tier.Deployment); ok {
			workers = fmt.Sprint(w.Workers)
		}
		demand, grant := "-", "-"
		if pt, ok := policyTier(s.Policy, h.Name); ok {
			demand, grant = fmt.Sprint(pt.Demand), fmt.Sprint(pt.Grant)
		}
		if h.Err != "" {
			fmt.Fprintf(tw, "%s\t%s\t?\t?\t?\t%s\t%s\t%s\t%s\t\n", h.Name, errs.cell("HPA "+h.Name, h.Err), demand, grant, pods, workers)
			continue
		}
		max := fmt.Sprint(h.Max)
		if h.Capped() {
			max = "capped " + max
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t\n", h.Name, h.Current, h.Desired, max, h.UserMax, demand, grant, pods, workers)
	}
	tw.Flush()
	errs.write(&b)
	b.WriteString("\n")

	p := s.Policy
	switch {
	case p.Err != "":
		fmt.Fprintf(&b, "policy %s unreadable: %s\n", p.Name, p.Err)
	default:
		fmt.Fprintf(&b, "policy %s: Ready=%s %s\n", p.Name, orDash(p.Ready), p.Reason)
		fmt.Fprintf(&b, "  cap: %s\n", capLine(s))
		if p.Pool != "" {
			fmt.Fprintf(&b, "  pool: %s\n", p.Pool)
		}
	}
	for _, w := range f.Workers {
		line := fmt.Sprintf("%s jobs: %d done, %d running", w.Deployment, w.Finished, w.Started-w.Finished-w.Abandoned)
		if len(w.Waits) > 0 {
			line += fmt.Sprintf(", wait max %s p95 %s", secs(w.MaxWait()), secs(w.WaitQuantile(0.95)))
		}
		if w.Abandoned > 0 {
			line += fmt.Sprintf(", %d abandoned by stopped pods", w.Abandoned)
		}
		if w.Errors > 0 {
			line += fmt.Sprintf(", %d errors (last: %s)", w.Errors, w.LastError)
		}
		b.WriteString(line + "\n")
	}
	return strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
}

// capLine explains the cap: which tier is capped to what, and the demand
// of the tiers above it that took the room, then the coordinator's own
// words.
func capLine(s timeline.Snapshot) string {
	var parts []string
	var above []string
	for _, t := range s.Policy.Tiers {
		if t.Capped {
			why := ""
			if len(above) > 0 {
				why = ": " + strings.Join(above, ", ")
			}
			parts = append(parts, fmt.Sprintf("%s maxReplicas %d instead of %d%s", t.HPA, t.MaxReplicas, t.UserMax, why))
		}
		verb := "wants"
		if t.Held {
			verb = "holds"
		}
		above = append(above, fmt.Sprintf("%s %s %d", t.HPA, verb, t.Demand))
	}
	if len(parts) == 0 {
		for _, h := range s.HPAs {
			if h.Capped() {
				parts = append(parts, fmt.Sprintf("%s maxReplicas %d instead of %d", h.Name, h.Max, h.UserMax))
			}
		}
	}
	if len(parts) == 0 {
		return "none: every tier's demand fits the pool"
	}
	line := strings.Join(parts, "; ")
	if s.Policy.Capped != "" {
		line += " (status.capped: " + s.Policy.Capped + ")"
	}
	return line
}

// Line is the one-line form of a frame, for output that is not a terminal.
func Line(f Frame) string {
	s := f.Snapshot
	var b strings.Builder
	fmt.Fprintf(&b, "t=%s phase=%s", clock(s.At), s.Phase)
	for _, q := range s.Queues {
		if q.Err != "" {
			fmt.Fprintf(&b, " %s=unreadable", q.Name)
			continue
		}
		fmt.Fprintf(&b, " %s=%d+%d", q.Name, q.Visible, q.InFlight)
	}
	b.WriteString(" |")
	for i, h := range s.HPAs {
		if h.Err != "" {
			fmt.Fprintf(&b, " %s unreadable", h.Name)
		} else {
			fmt.Fprintf(&b, " %s %d/%d/%d", h.Name, h.Current, h.Desired, h.Max)
			if h.Capped() {
				fmt.Fprintf(&b, "(capped, user %d)", h.UserMax)
			}
		}
		if i < len(s.Tiers) && s.Tiers[i].Err == "" {
			fmt.Fprintf(&b, " run=%d pend=%d", s.Tiers[i].Running, s.Tiers[i].Pending)
		}
		b.WriteString(" |")
	}
	if s.Policy.Err != "" {
		b.WriteString(" policy unreadable")
	} else if s.Policy.Capped != "" {
		fmt.Fprintf(&b, " cap: %s", s.Policy.Capped)
	} else {
		b.WriteString(" cap: none")
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func clock(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

// Screen shows frames on out.
type Screen struct {
	out io.Writer
	// Terminal: redraw in place; else print a Line every PlainEvery.
	terminal   bool
	width      int
	plainEvery time.Duration
	lines      int
	lastPlain  time.Duration
	printed    bool
}

// NewScreen returns a Screen on out; terminal says whether out is one, and
// width how many columns it has (0: unknown). Lines are cut to the width so
// none wraps and the redraw stays in place.
func NewScreen(out io.Writer, terminal bool, width int, plainEvery time.Duration) *Screen {
	return &Screen{out: out, terminal: terminal, width: width, plainEvery: plainEvery}
}

// cut shortens l to at most width-1 runes (the last column is left free, as
// some terminals wrap when it is written).
func cut(l string, width int) string {
	if width <= 1 {
		return l
	}
	r := []rune(l)
	if len(r) < width {
		return l
	}
	return string(r[:width-1])
}

// Show draws f.
func (s *Screen) Show(f Frame) {
	if !s.terminal {
		if s.printed && f.Snapshot.At-s.lastPlain < s.plainEvery {
			return
		}
		s.printed, s.lastPlain = true, f.Snapshot.At
		fmt.Fprintln(s.out, Line(f))
		return
	}
	var b strings.Builder
	if s.lines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", s.lines) // back to the top of the last frame
	}
	lines := Render(f)
	for _, l := range lines {
		b.WriteString("\r\x1b[2K" + cut(l, s.width) + "\n")
	}
	// Clear what is left of a longer previous frame.
	for range s.lines - len(lines) {
		b.WriteString("\r\x1b[2K\n")
	}
	if extra := s.lines - len(lines); extra > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", extra)
	}
	s.lines = len(lines)
	io.WriteString(s.out, b.String())
}

// Release forgets the frame on screen, so later output starts below it.
func (s *Screen) Release() { s.lines = 0 }
