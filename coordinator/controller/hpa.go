package controller

import (
	"context"
	"strconv"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/queuescale/queuescale/coordinator/api/v1alpha1"
)

// UserMaxReplicas is the user's own maxReplicas of hpa: the kept annotation
// while the HPA still carries the cap the coordinator wrote; otherwise (never
// capped, or someone changed maxReplicas since) spec.maxReplicas.
func UserMaxReplicas(hpa *autoscalingv2.HorizontalPodAutoscaler) int32 {
	user, okUser := annotationInt(hpa, v1alpha1.AnnotationUserMaxReplicas)
	capped, okCapped := annotationInt(hpa, v1alpha1.AnnotationCappedMaxReplicas)
	if okUser && okCapped && hpa.Spec.MaxReplicas == capped && user >= 1 {
		return user
	}
	return hpa.Spec.MaxReplicas
}

// MinReplicas is the HPA's minReplicas as the API defaults it.
func MinReplicas(hpa *autoscalingv2.HorizontalPodAutoscaler) int32 {
	if hpa.Spec.MinReplicas == nil {
		return 1
	}
	return *hpa.Spec.MinReplicas
}

func annotationInt(hpa *autoscalingv2.HorizontalPodAutoscaler, key string) (int32, bool) {
	v, ok := hpa.Annotations[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, false
	}
	return int32(n), true
}

// carriesCap reports whether the coordinator's annotations are on hpa.
func carriesCap(hpa *autoscalingv2.HorizontalPodAutoscaler) bool {
	for _, k := range []string{v1alpha1.AnnotationUserMaxReplicas, v1alpha1.AnnotationCappedMaxReplicas, v1alpha1.AnnotationCappedBy} {
		if _, ok := hpa.Annotations[k]; ok {
			return true
		}
	}
	return false
}

// setCap lowers hpa's maxReplicas to limit for policy, keeping the user's
// maximum in the annotations in the same update. A limit at or above the
// user's maximum releases instead. It reports whether hpa changed.
func setCap(hpa *autoscalingv2.HorizontalPodAutoscaler, limit int32, policy string) bool {
	user := UserMaxReplicas(hpa)
	// The API requires 1 <= maxReplicas and minReplicas <= maxReplicas.
	limit = max(limit, MinReplicas(hpa), 1)
	if limit >= user {
		return release(hpa)
	}
	want := map[string]string{
		v1alpha1.AnnotationUserMaxReplicas:   strconv.Itoa(int(user)),
		v1alpha1.AnnotationCappedMaxReplicas: strconv.Itoa(int(limit)),
		v1alpha1.AnnotationCappedBy:          policy,
	}
	changed := hpa.Spec.MaxReplicas != limit
	for k, v := range want {
		if hpa.Annotations[k] != v {
			changed = true
		}
	}
	if !changed {
		return false
	}
	if hpa.Annotations == nil {
		hpa.Annotations = map[string]string{}
	}
	for k, v := range want {
		hpa.Annotations[k] = v
	}
	hpa.Spec.MaxReplicas = limit
	return true
}

// release gives hpa its user's maxReplicas back and drops the annotations.
func release(hpa *autoscalingv2.HorizontalPodAutoscaler) bool {
	if !carriesCap(hpa) {
		return false
	}
	hpa.Spec.MaxReplicas = UserMaxReplicas(hpa)
	delete(hpa.Annotations, v1alpha1.AnnotationUserMaxReplicas)
	delete(hpa.Annotations, v1alpha1.AnnotationCappedMaxReplicas)
	delete(hpa.Annotations, v1alpha1.AnnotationCappedBy)
	return true
}

// hpaChange is one write the coordinator made.
type hpaChange struct {
	hpa                 *autoscalingv2.HorizontalPodAutoscaler
	oldMax, newMax      int32
	changed, wasCapped  bool
	userMaxAfterWriting int32
}

// updateHPA reads the HPA fresh from the API server, applies mutate and
// updates it with the resourceVersion it read (optimistic concurrency),
// retrying on conflict. Only spec.maxReplicas and the coordinator's
// annotations are ever changed.
func (r *Reconciler) updateHPA(ctx context.Context, key types.NamespacedName, mutate func(*autoscalingv2.HorizontalPodAutoscaler) bool) (hpaChange, error) {
	var ch hpaChange
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var hpa autoscalingv2.HorizontalPodAutoscaler
		if err := r.APIReader.Get(ctx, key, &hpa); err != nil {
			return err
		}
		ch = hpaChange{hpa: &hpa, oldMax: hpa.Spec.MaxReplicas, newMax: hpa.Spec.MaxReplicas, wasCapped: carriesCap(&hpa)}
		if !mutate(&hpa) {
			return nil
		}
		if err := r.Client.Update(ctx, &hpa); err != nil {
			return err
		}
		ch.changed, ch.newMax = true, hpa.Spec.MaxReplicas
		return nil
	})
	if ch.hpa != nil {
		ch.userMaxAfterWriting = UserMaxReplicas(ch.hpa)
	}
	return ch, err
}
