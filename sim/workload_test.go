package sim

import (
	"bytes"
	"math"

	"path/filepath"
	"strings"
	"testing"
)

func TestReadTraceErrors(t *testing.T) {
	tiers := DefaultConfig().Tiers
	tests := []struct {
		name, file, want string
	}{
		{"empty", "", "empty.csv: empty file"},
		{"wrong header", "time,queue\n1,inspection\n", `empty.csv:1: header is "time,queue"`},
		{"not a number", "time_seconds,queue\n1,inspection\nsoon,inspection\n", `empty.csv:3: field time_seconds: "soon" is not a number`},
		{"NaN", "time_seconds,queue\nNaN,inspection\n", `empty.csv:2: field time_seconds: "NaN"`},
		{"negative", "time_seconds,queue\n-1,inspection\n", "empty.csv:2: field time_seconds: -1 is negative"},
		{"out of order", "time_seconds,queue\n5,inspection\n4,inspection\n", "empty.csv:3: field time_seconds: 4 is before the previous row's 5"},
		{"beyond the run", "time_seconds,queue\n86400,inspection\n", "empty.csv:2: field time_seconds: 86400 is not before the end of the run"},
		{"unknown queue", "time_seconds,queue\n1,inspections\n", `empty.csv:2: field queue: unknown queue "inspections" (known: inspection, size)`},
		{"three fields", "time_seconds,queue\n1,inspection,x\n", "empty.csv: record on line 2: wrong number of fields"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadTrace(strings.NewReader(tc.file), "empty.csv", tiers, 86400)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestReadTraceFile(t *testing.T) {
	tiers := DefaultConfig().Tiers
	got, err := ReadTraceFile(filepath.Join("testdata", "burst.csv"), tiers, 86400)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 || got[0] != (Arrival{Seconds: 0, Tier: 0}) || got[5] != (Arrival{Seconds: 30.5, Tier: 1}) {
		t.Errorf("arrivals %+v", got)
	}
	if _, err := ReadTraceFile(filepath.Join("testdata", "missing.csv"), tiers, 86400); err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("missing file: error %v does not name the file", err)
	}
	if _, err := ReadTraceFile(filepath.Join("testdata", "bad-queue.csv"), tiers, 86400); err == nil ||
		!strings.Contains(err.Error(), filepath.Join("testdata", "bad-queue.csv")+":3: field queue") {
		t.Errorf("bad queue: error %v does not name file, line and field", err)
	}
}

func TestTraceRoundTrip(t *testing.T) {
	tiers := DefaultConfig().Tiers
	arr := DefaultDay().Generate(3, 86400)
	var buf bytes.Buffer
	if err := WriteTrace(&buf, arr, tiers); err != nil {
		t.Fatal(err)
	}
	back, err := ReadTrace(&buf, "round-trip", tiers, 86400)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(arr) {
		t.Fatalf("%d arrivals back, wrote %d", len(back), len(arr))
	}
	for i := range arr {
		if math.Abs(back[i].Seconds-arr[i].Seconds) > 0.0005 || back[i].Tier != arr[i].Tier {
			t.Fatalf("arrival %d: wrote %+v, read %+v", i, arr[i], back[i])
		}
	}
}

func TestTraceReplay(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DurationSeconds = 3600
	arr, err := ReadTraceFile(filepath.Join("testdata", "burst.csv"), cfg.Tiers, cfg.DurationSeconds)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(cfg, HPA, arr)
	if err != nil {
		t.Fatal(err)
	}
	// 5 inspections (each fans out) and 1 size job from the trace.
	if r.Arrivals != 6 || r.FanOut != 5 || r.Completed != 11 {
		t.Errorf("arrivals %d, fan-out %d, completed %d; want 6, 5, 11", r.Arrivals, r.FanOut, r.Completed)
	}
}

func FuzzReadTrace(f *testing.F) {
	tiers := DefaultConfig().Tiers
	f.Add("time_seconds,queue\n1,inspection\n2.5,size\n")
	f.Add("time_seconds,queue\n")
	f.Add("time_seconds,queue\n1,inspection\n0,inspection\n")
	f.Add("time_seconds,queue\n\"1\",\"inspection\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		arr, err := ReadTrace(strings.NewReader(in), "fuzz.csv", tiers, 86400)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.csv") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		for i, a := range arr {
			if a.Seconds < 0 || a.Seconds >= 86400 || (i > 0 && a.Seconds < arr[i-1].Seconds) || a.Tier < 0 || a.Tier >= len(tiers) {
				t.Fatalf("accepted arrival %d %+v", i, a)
			}
		}
	})
}
