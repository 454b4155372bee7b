package timeline

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func snap(at int, phase string, inspection, size int, inspReplicas, sizeReplicas, sizeMax int32, running [2]int) Snapshot {
	return Snapshot{
		At:    time.Duration(at) * time.Second,
		Phase: phase,
		Queues: []Queue{
			{Name: "inspection", Visible: inspection, InFlight: 1},
			{Name: "size", Visible: size},
		},
		HPAs: []HPA{
			{Name: "inspector", Current: inspReplicas, Desired: inspReplicas, Min: 1, Max: 16, UserMax: 16},
			{Name: "size", Current: sizeReplicas, Desired: sizeReplicas, Min: 1, Max: sizeMax, UserMax: 16},
		},
		Tiers: []Tier{
			{Deployment: "inspector", Running: running[0]},
			{Deployment: "size", Running: running[1], Pending: 16 - running[1] - running[0] + 4},
		},
	}
}

func story() []Snapshot {
	return []Snapshot{
		snap(0, "warm-up", 0, 100, 1, 1, 16, [2]int{1, 1}),
		snap(1, "warm-up", 1, 90, 1, 16, 16, [2]int{1, 16}),
		snap(2, "burst", 150, 80, 5, 16, 4, [2]int{5, 15}),
		{At: 3 * time.Second, Phase: "burst", Queues: []Queue{{Name: "inspection", Err: "throttled"}}},
		snap(4, "drain", 20, 200, 16, 4, 4, [2]int{16, 4}),
		snap(5, "drain", 0, 190, 16, 4, 16, [2]int{16, 4}),
		snap(6, "drain", 0, 180, 16, 4, 16, [2]int{16, 4}),
	}
}

func TestSummarize(t *testing.T) {
	got := Summarize(story())
	want := Summary{
		Duration: 6 * time.Second,
		Queues: []QueuePeak{
			{Name: "inspection", Peak: 151, At: 2 * time.Second, Final: 1},
			{Name: "size", Peak: 200, At: 4 * time.Second, Final: 180},
		},
		Tiers: []TierUse{
			// Running pods times the seconds to the next snapshot; the
			// unreadable snapshot at 3s has no tiers, so 2s→3s counts 5 for
			// one second and nothing is invented for 3s→4s.
			{Deployment: "inspector", PeakRunning: 16, PodSeconds: 1 + 1 + 5 + 16 + 16, PeakPending: 0},
			{Deployment: "size", PeakRunning: 16, PodSeconds: 1 + 16 + 15 + 4 + 4, PeakPending: 18},
		},
		Caps:       []Cap{{HPA: "size", LowestMax: 4, UserMax: 16, From: 2 * time.Second, Released: 5 * time.Second}},
		Unreadable: 1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Summarize (-want +got):\n%s", diff)
	}
}

func TestSummarizeStillCapped(t *testing.T) {
	got := Summarize(story()[:5])
	if len(got.Caps) != 1 || !got.Caps[0].StillCapped || got.Caps[0].Released != 0 {
		t.Errorf("caps = %+v, want size still capped", got.Caps)
	}
	if s := Summarize(nil); len(s.Queues) != 0 || s.Duration != 0 {
		t.Errorf("Summarize(nil) = %+v", s)
	}
}

func TestWritePlot(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		file  string
		magic []byte
	}{
		{"timeline.png", []byte("\x89PNG\r\n\x1a\n")},
		{"timeline.svg", []byte("<?xml")},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			if err := WritePlot(story(), path); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(data, tt.magic) || len(data) < 1000 {
				t.Errorf("%s: %d bytes starting %q", tt.file, len(data), data[:min(len(data), 8)])
			}
		})
	}
	if err := WritePlot(story(), filepath.Join(dir, "x.gif")); err == nil || !strings.Contains(err.Error(), ".gif") {
		t.Errorf("WritePlot(.gif) = %v, want an error naming the extension", err)
	}
	if err := WritePlot(nil, filepath.Join(dir, "x.png")); err == nil {
		t.Error("WritePlot(nil) succeeded")
	}
}

func TestPlainTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   []string
	}{
		{0, 27, []string{"0", "5", "10", "15", "20", "25"}},
		{0, 7, []string{"0", "1", "2", "3", "4", "5", "6", "7"}},
		{0, 640, []string{"0", "100", "200", "300", "400", "500", "600"}},
	}
	for _, tt := range tests {
		var got []string
		for _, tk := range (plainTicks{}).Ticks(tt.lo, tt.hi) {
			got = append(got, tk.Label)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Ticks(%v, %v) (-want +got):\n%s", tt.lo, tt.hi, diff)
		}
	}
}

func TestWriteCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "timeline.csv")
	if err := WriteCSV(story()[1:4], path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `seconds,phase,inspection_visible,inspection_in_flight,size_visible,size_in_flight,inspector_hpa_current,inspector_hpa_desired,inspector_hpa_max,size_hpa_current,size_hpa_desired,size_hpa_max,inspector_pods_running,inspector_pods_pending,size_pods_running,size_pods_pending
1.0,warm-up,1,1,90,0,1,1,16,16,16,16,1,0,16,3
2.0,burst,150,1,80,0,5,5,16,16,16,4,5,0,15,0
3.0,burst,,,,,,,,,,,,,,
`
	if diff := cmp.Diff(want, string(data)); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
}
