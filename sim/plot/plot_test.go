package plot

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/queuescale/queuescale/sim"
)

func TestWrite(t *testing.T) {
	cfg := sim.DefaultConfig()
	cfg.DurationSeconds = 1800
	r, err := sim.Run(cfg, sim.Coordinator, sim.DefaultDay().Generate(1, cfg.DurationSeconds))
	if err != nil {
		t.Fatal(err)
	}
	for format, magic := range map[string][]byte{"png": []byte("\x89PNG"), "svg": []byte("<svg")} {
		var buf bytes.Buffer
		if err := Write(&buf, format, r, cfg); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if !bytes.Contains(buf.Bytes()[:min(buf.Len(), 512)], magic) {
			t.Errorf("%s output does not start like one", format)
		}
	}
	if err := WriteFile(filepath.Join(t.TempDir(), "x.gif"), r, cfg); err == nil || !strings.Contains(err.Error(), `".gif"`) {
		t.Errorf("gif: error %v", err)
	}
}
