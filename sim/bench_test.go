package sim

import "testing"

// BenchmarkDay simulates the reference day under every policy: one
// iteration is the whole comparison the CLI prints.
func BenchmarkDay(b *testing.B) {
	cfg := DefaultConfig()
	arr := DefaultDay().Generate(cfg.Seed, cfg.DurationSeconds)
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range AllPolicies {
			if _, err := Run(cfg, p, arr); err != nil {
				b.Fatal(err)
			}
		}
	}
}
