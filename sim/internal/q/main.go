package main

import (
	"os"

	"github.com/queuescale/queuescale/sim"
)

func main() {
	cfg := sim.DefaultConfig()
	arr := sim.DefaultDay().Generate(cfg.Seed, cfg.DurationSeconds)
	var rs []*sim.Result
	for _, p := range []sim.Policy{sim.HPA, sim.HPAPriority, sim.Coordinator} {
		r, _ := sim.Run(cfg, p, arr)
		rs = append(rs, r)
	}
	cfg.CoordinatorDemand = sim.DemandHeld
	r, _ := sim.Run(cfg, sim.Coordinator, arr)
	rs = append(rs, r)
	sim.WriteTable(os.Stdout, rs)
}
