// Package v1alpha1 holds the PriorityPolicy API (queuescale.io/v1alpha1): an
// ordered list of HorizontalPodAutoscalers sharing a pool of capacity, where
// the coordinator caps the lower tiers' maxReplicas so the higher tiers'
// demand fits.
//
// +kubebuilder:object:generate=true
// +groupName=queuescale.io
package v1alpha1

//go:generate go tool controller-gen object crd paths=./... output:crd:artifacts:config=../../../manifests/base/crd

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of PriorityPolicy.
var GroupVersion = schema.GroupVersion{Group: "queuescale.io", Version: "v1alpha1"}

// AddToScheme registers the PriorityPolicy types with s.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &PriorityPolicy{}, &PriorityPolicyList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
