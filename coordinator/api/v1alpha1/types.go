package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Annotations and the finalizer the coordinator keeps on the objects it acts on.
const (
	// AnnotationUserMaxReplicas on an HPA holds the user's own maxReplicas
	// while the coordinator has lowered spec.maxReplicas.
	AnnotationUserMaxReplicas = "queuescale.io/user-max-replicas"
	// AnnotationCappedMaxReplicas on an HPA is the cap the coordinator last
	// wrote. When spec.maxReplicas differs from it, someone else changed the
	// maximum, and that value becomes the user's new maxReplicas.
	AnnotationCappedMaxReplicas = "queuescale.io/capped-max-replicas"
	// AnnotationCappedBy on an HPA names the PriorityPolicy (same namespace)
	// that capped it, so a removed tier or a deleted policy finds what to restore.
	AnnotationCappedBy = "queuescale.io/capped-by"
	// Finalizer keeps a PriorityPolicy until every HPA it capped has its
	// user's maxReplicas back.
	Finalizer = "queuescale.io/restore-max-replicas"
)

// Condition types and reasons reported in PriorityPolicy status.
const (
	// ConditionReady is True when the last plan was computed and applied.
	ConditionReady = "Ready"
	// ConditionCapping is True while at least one tier is capped.
	ConditionCapping = "Capping"

	ReasonPlanned            = "Planned"
	ReasonDryRun             = "DryRun"
	ReasonHPANotFound        = "HPANotFound"
	ReasonHPAInTwoPolicies   = "HPAInTwoPolicies"
	ReasonMinimumsExceedPool = "MinimumsExceedPool"
	ReasonScaleTargetError   = "ScaleTargetError"
	ReasonCapacityError      = "CapacityError"
	ReasonInvalidTiers       = "InvalidTiers"
	ReasonWriteFailed        = "WriteFailed"
	ReasonTierCapped         = "TierCapped"
	ReasonNothingCapped      = "NothingCapped"
)

// Demand sources reported per tier.
const (
	// DemandSourceMetrics: computed from the HPA's metric specs read through
	// the external metrics API.
	DemandSourceMetrics = "Metrics"
	// DemandSourceStatus: the HPA's status.desiredReplicas, used when the
	// metrics could not be read or are of a kind the coordinator does not
	// compute.
	DemandSourceStatus = "Status"
	// DemandSourceHeld: the scale target's current replicas, more than the
	// metrics ask for: the HPA keeps them until its scale-down
	// stabilization window has passed, so their room is not free yet.
	DemandSourceHeld = "Held"
)

// PriorityPolicySpec is the desired behaviour: tiers in priority order
// sharing one pool of capacity.
type PriorityPolicySpec struct {
	// Tiers lists the HorizontalPodAutoscalers sharing the pool, highest
	// priority first. The first tier is never capped; each later tier's
	// maxReplicas is lowered to what the pool has left after the tiers above
	// it. Each HPA is named once.
	// +kubebuilder:validation:MinItems=2
	// +kubebuilder:validation:MaxItems=32
	// +listType=map
	// +listMapKey=hpa
	Tiers []Tier `json:"tiers"`

	// Capacity is the pool the tiers share.
	Capacity Capacity `json:"capacity"`

	// DryRun computes and reports the plan (status, metrics, events on the
	// policy) but writes no HPA.
	// +optional
	DryRun bool `json:"dryRun,omitempty"`
}

// Tier is one workload of the policy.
type Tier struct {
	// HPA is the name of a HorizontalPodAutoscaler (autoscaling/v2) in the
	// policy's namespace. Its scale target must be a Deployment or a
	// StatefulSet, whose pod template requests give the cost of one replica.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	HPA string `json:"hpa"`
}

// Capacity is the pool shared by the tiers: exactly one of nodeSelector or
// budget.
// +kubebuilder:validation:XValidation:rule="has(self.nodeSelector) != has(self.budget)",message="set exactly one of capacity.nodeSelector and capacity.budget"
type Capacity struct {
	// NodeSelector chooses the pool's nodes. The pool is the allocatable cpu,
	// memory and pods of the Ready, schedulable nodes it selects, minus the
	// requests of the non-terminated pods on them that do not belong to the
	// tiers.
	// +optional
	NodeSelector *metav1.LabelSelector `json:"nodeSelector,omitempty"`

	// Budget is a fixed amount of cpu and/or memory for the tiers together.
	// A dimension left out is unlimited; the number of pods is unlimited.
	// +optional
	Budget *Budget `json:"budget,omitempty"`
}

// Budget is a fixed pool.
// +kubebuilder:validation:XValidation:rule="has(self.cpu) || has(self.memory)",message="a budget names cpu, memory or both"
type Budget struct {
	// CPU for all tiers together, e.g. "4" or "3500m".
	// +optional
	CPU *resource.Quantity `json:"cpu,omitempty"`
	// Memory for all tiers together, e.g. "8Gi".
	// +optional
	Memory *resource.Quantity `json:"memory,omitempty"`
}

// PriorityPolicyStatus is what the coordinator last observed and decided.
type PriorityPolicyStatus struct {
	// ObservedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Pool is the capacity the tiers share, as last measured.
	// +optional
	Pool *PoolStatus `json:"pool,omitempty"`

	// Tiers reports demand, grant and cap per tier, in priority order.
	// +optional
	// +listType=map
	// +listMapKey=hpa
	Tiers []TierStatus `json:"tiers,omitempty"`

	// TierSummary lists the tiers as "hpa demand/grant" in priority order,
	// for printing.
	// +optional
	TierSummary string `json:"tierSummary,omitempty"`

	// Capped lists the capped tiers as "hpa=cap/userMax", or "none", for
	// printing.
	// +optional
	Capped string `json:"capped,omitempty"`

	// Conditions: Ready (the last plan was computed and applied) and Capping
	// (at least one tier is capped, and why).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// PoolStatus is the measured pool.
type PoolStatus struct {
	// CPU available to the tiers.
	// +optional
	CPU *resource.Quantity `json:"cpu,omitempty"`
	// Memory available to the tiers.
	// +optional
	Memory *resource.Quantity `json:"memory,omitempty"`
	// Pods is how many more pods the pool's nodes accept for the tiers;
	// absent when unlimited (a budget).
	// +optional
	Pods *int64 `json:"pods,omitempty"`
	// Nodes is the number of Ready, schedulable nodes selected (0 for a budget).
	// +optional
	Nodes int32 `json:"nodes,omitempty"`
	// Summary is the pool in one line, for printing.
	// +optional
	Summary string `json:"summary,omitempty"`
}

// TierStatus is one tier's part of the plan.
type TierStatus struct {
	// HPA names the tier's HorizontalPodAutoscaler.
	HPA string `json:"hpa"`
	// MinReplicas is the HPA's minReplicas.
	MinReplicas int32 `json:"minReplicas"`
	// UserMaxReplicas is the user's own maxReplicas (kept in the HPA's
	// queuescale.io/user-max-replicas annotation while capped).
	UserMaxReplicas int32 `json:"userMaxReplicas"`
	// Demand is the replicas the HPA would want now, or the replicas its
	// scale target still has if more (an HPA scales down only after its
	// stabilization window), clamped to its minimum and the user's maximum.
	Demand int32 `json:"demand"`
	// DemandSource is Metrics (computed from the HPA's metric specs),
	// Status (the HPA's status.desiredReplicas) or Held (the scale target's
	// current replicas, while the HPA has not yet scaled down to what its
	// metrics ask for).
	// +kubebuilder:validation:Enum=Metrics;Status;Held
	DemandSource string `json:"demandSource"`
	// DemandMessage says why the Status fallback was used, or what the
	// metrics ask for when the demand is Held.
	// +optional
	DemandMessage string `json:"demandMessage,omitempty"`
	// Grant is the replicas the pool gives the tier.
	Grant int32 `json:"grant"`
	// MaxReplicas is the maxReplicas the plan wants on the HPA: the cap while
	// capped, else the user's maximum.
	MaxReplicas int32 `json:"maxReplicas"`
	// Capped reports MaxReplicas < UserMaxReplicas.
	Capped bool `json:"capped"`
	// Written reports the HPA's spec.maxReplicas equals MaxReplicas (false in
	// dry-run when they differ).
	Written bool `json:"written"`
	// PerReplicaCPU is what one replica requests.
	// +optional
	PerReplicaCPU *resource.Quantity `json:"perReplicaCPU,omitempty"`
	// PerReplicaMemory is what one replica requests.
	// +optional
	PerReplicaMemory *resource.Quantity `json:"perReplicaMemory,omitempty"`
}

// PriorityPolicy lets higher-priority HPAs take shared capacity from
// lower-priority ones: the coordinator lowers the lower tiers' maxReplicas
// while the higher tiers need the room, and gives the user's own maximum
// back when they do not.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ppol;prio,categories=queuescale
// +kubebuilder:printcolumn:name="Tiers",type=string,JSONPath=`.status.tierSummary`,description="hpa demand/grant, highest priority first"
// +kubebuilder:printcolumn:name="Capped",type=string,JSONPath=`.status.capped`,description="capped tiers as hpa=cap/userMax"
// +kubebuilder:printcolumn:name="Pool",type=string,JSONPath=`.status.pool.summary`,description="capacity the tiers share"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Dry-Run",type=boolean,JSONPath=`.spec.dryRun`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type PriorityPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   PriorityPolicySpec   `json:"spec"`
	Status PriorityPolicyStatus `json:"status,omitempty"`
}

// PriorityPolicyList is a list of PriorityPolicy.
//
// +kubebuilder:object:root=true
type PriorityPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PriorityPolicy `json:"items"`
}
