package timeline

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
)

// WriteCSV writes snaps as CSV, one row per snapshot, for analysis elsewhere:
// seconds, phase, then per queue its visible and in-flight counts, per HPA
// its current, desired and max replicas, per tier its Running and Pending
// pods. An unreadable value is left empty, never written as 0.
func WriteCSV(snaps []Snapshot, path string) error {
	if len(snaps) == 0 {
		return fmt.Errorf("write %s: nothing was recorded", path)
	}
	first := snaps[0]
	header := []string{"seconds", "phase"}
	for _, q := range first.Queues {
		header = append(header, q.Name+"_visible", q.Name+"_in_flight")
	}
	for _, h := range first.HPAs {
		header = append(header, h.Name+"_hpa_current", h.Name+"_hpa_desired", h.Name+"_hpa_max")
	}
	for _, t := range first.Tiers {
		header = append(header, t.Deployment+"_pods_running", t.Deployment+"_pods_pending")
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write timeline: %w", err)
	}
	w := csv.NewWriter(f)
	_ = w.Write(header)
	num := func(ok bool, v int64) string {
		if !ok {
			return ""
		}
		return strconv.FormatInt(v, 10)
	}
	for _, s := range snaps {
		row := []string{strconv.FormatFloat(s.At.Seconds(), 'f', 1, 64), s.Phase}
		for i := range first.Queues {
			q, ok := Queue{}, i < len(s.Queues) && s.Queues[i].Name == first.Queues[i].Name && s.Queues[i].Err == ""
			if ok {
				q = s.Queues[i]
			}
			row = append(row, num(ok, int64(q.Visible)), num(ok, int64(q.InFlight)))
		}
		for i := range first.HPAs {
			h, ok := HPA{}, i < len(s.HPAs) && s.HPAs[i].Name == first.HPAs[i].Name && s.HPAs[i].Err == ""
			if ok {
				h = s.HPAs[i]
			}
			row = append(row, num(ok, int64(h.Current)), num(ok, int64(h.Desired)), num(ok, int64(h.Max)))
		}
		for i := range first.Tiers {
			t, ok := Tier{}, i < len(s.Tiers) && s.Tiers[i].Deployment == first.Tiers[i].Deployment && s.Tiers[i].Err == ""
			if ok {
				t = s.Tiers[i]
			}
			row = append(row, num(ok, int64(t.Running)), num(ok, int64(t.Pending)))
		}
		_ = w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
