// Package validation checks a PriorityPolicy spec the way the CRD schema
// does, for the coordinator to refuse a policy stored without that schema
// (an older CRD, a direct etcd write) with an error naming field and value.
package validation

import (
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"

	"github.com/queuescale/queuescale/coordinator/api/v1alpha1"
)

// MaxTiers matches the CRD's maxItems on spec.tiers.
const MaxTiers = 32

// Spec returns every problem of spec, joined; nil when it is valid.
func Spec(spec *v1alpha1.PriorityPolicySpec) error {
	var errs []error
	if n := len(spec.Tiers); n < 2 || n > MaxTiers {
		errs = append(errs, fmt.Errorf("spec.tiers: need 2 to %d tiers, got %d", MaxTiers, n))
	}
	seen := map[string]int{}
	for i, t := range spec.Tiers {
		for _, msg := range utilvalidation.IsDNS1123Subdomain(t.HPA) {
			errs = append(errs, fmt.Errorf("spec.tiers[%d].hpa: %q: %s", i, t.HPA, msg))
		}
		if j, dup := seen[t.HPA]; dup {
			errs = append(errs, fmt.Errorf("spec.tiers[%d].hpa: %q is already tier %d", i, t.HPA, j))
		} else {
			seen[t.HPA] = i
		}
	}
	c := spec.Capacity
	switch {
	case (c.NodeSelector == nil) == (c.Budget == nil):
		errs = append(errs, errors.New("spec.capacity: set exactly one of nodeSelector and budget"))
	case c.NodeSelector != nil:
		if _, err := metav1.LabelSelectorAsSelector(c.NodeSelector); err != nil {
			errs = append(errs, fmt.Errorf("spec.capacity.nodeSelector: %w", err))
		}
	default:
		b := c.Budget
		if b.CPU == nil && b.Memory == nil {
			errs = append(errs, errors.New("spec.capacity.budget: name cpu, memory or both"))
		}
		if b.CPU != nil && b.CPU.Sign() < 0 {
			errs = append(errs, fmt.Errorf("spec.capacity.budget.cpu: %s is negative", b.CPU))
		}
		if b.Memory != nil && b.Memory.Sign() < 0 {
			errs = append(errs, fmt.Errorf("spec.capacity.budget.memory: %s is negative", b.Memory))
		}
	}
	return errors.Join(errs...)
}
