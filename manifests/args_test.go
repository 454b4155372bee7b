package manifests_test

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	adapterapp "github.com/queuescale/queuescale/cmd/metrics-adapter/app"
	coordinatorapp "github.com/queuescale/queuescale/cmd/priority-coordinator/app"
	exporteroptions "github.com/queuescale/queuescale/cmd/sqs-exporter/app/options"
)

// TestContainerArgs parses each container's arguments with the binary's own
// flag set and runs its own validation, in every build that runs it: a
// misspelt flag, a bad value or a file path that is not where the volume is
// mounted fails here rather than in a crash-looping pod. The files the
// adapter reads are taken from the objects of the build (the rules from its
// ConfigMap) and written to a temporary directory.
func TestContainerArgs(t *testing.T) {
	builds := buildAll(t)
	for name, b := range builds {
		for _, o := range b.ofKind("Deployment") {
			d := o.typed.(*appsv1.Deployment)
			if d.Namespace != "queuescale" {
				continue
			}
			t.Run(strings.ReplaceAll(name, "/", "_")+"/"+d.Name, func(t *testing.T) {
				c := d.Spec.Template.Spec.Containers[0]
				fs := pflag.NewFlagSet(d.Name, pflag.ContinueOnError)
				var validate func() error
				args := expandEnv(t, d, c)
				switch d.Name {
				case "sqs-exporter":
					opts := exporteroptions.New()
					opts.AddFlags(fs)
					validate = opts.Validate
				case "priority-coordinator":
					opts := coordinatorapp.NewOptions()
					opts.AddFlags(fs)
					validate = opts.Validate
				case "metrics-adapter":
					opts := adapterapp.NewOptions()
					opts.AddFlags(fs)
					validate = opts.Validate
					args = mountedFiles(t, b, d, args)
				default:
					t.Fatalf("no flag set known for Deployment %s", d.Name)
				}
				if err := fs.Parse(args); err != nil {
					t.Fatalf("args %q: %v", c.Args, err)
				}
				if fs.NArg() > 0 {
					t.Errorf("args %q: stray arguments %q", c.Args, fs.Args())
				}
				if err := validate(); err != nil {
					t.Errorf("args %q do not validate: %v", c.Args, err)
				}
			})
		}
	}
}

// expandEnv replaces $(NAME) in the arguments as the kubelet does, with the
// container's literal env values and the pod's namespace from the downward
// API.
func expandEnv(t *testing.T, d *appsv1.Deployment, c corev1.Container) []string {
	t.Helper()
	vars := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			vars[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			vars[e.Name] = d.Namespace
		}
	}
	var out []string
	for _, a := range c.Args {
		for k, v := range vars {
			a = strings.ReplaceAll(a, "$("+k+")", v)
		}
		if strings.Contains(a, "$(") {
			t.Errorf("argument %q refers to a variable the container does not define", a)
		}
		out = append(out, a)
	}
	return out
}

// mountedFiles rewrites the adapter's file flags to temporary copies of what
// the pod would find at those paths: each path must be a key of a ConfigMap
// or Secret volume mounted at its directory.
func mountedFiles(t *testing.T, b build, d *appsv1.Deployment, args []string) []string {
	t.Helper()
	c := d.Spec.Template.Spec.Containers[0]
	dir := t.TempDir()
	var out []string
	for _, a := range args {
		flag, value, ok := strings.Cut(a, "=")
		if !ok || (flag != "--rules-file" && flag != "--tls-cert-file" && flag != "--tls-private-key-file") {
			out = append(out, a)
			continue
		}
		var vol *corev1.Volume
		for _, m := range c.VolumeMounts {
			if m.MountPath == path.Dir(value) {
				for i := range d.Spec.Template.Spec.Volumes {
					if d.Spec.Template.Spec.Volumes[i].Name == m.Name {
						vol = &d.Spec.Template.Spec.Volumes[i]
					}
				}
			}
		}
		if vol == nil {
			t.Fatalf("%s=%s: no volume is mounted at %s", flag, value, path.Dir(value))
		}
		key := path.Base(value)
		var data []byte
		switch {
		case vol.ConfigMap != nil:
			var found bool
			for _, o := range b.ofKind("ConfigMap") {
				cm := o.typed.(*corev1.ConfigMap)
				if cm.Namespace == d.Namespace && (cm.Name == vol.ConfigMap.Name || strings.HasPrefix(cm.Name, vol.ConfigMap.Name+"-")) {
					v, ok := cm.Data[key]
					if !ok {
						t.Fatalf("%s=%s: ConfigMap %s has no key %q", flag, value, cm.Name, key)
					}
					data, found = []byte(v), true
				}
			}
			if !found {
				t.Fatalf("%s=%s: ConfigMap %s is not in the build", flag, value, vol.ConfigMap.Name)
			}
		case vol.Secret != nil:
			// The serving secret is made by a component (or cert-manager);
			// it must be a kubernetes.io/tls secret, whose keys are these.
			if key != corev1.TLSCertKey && key != corev1.TLSPrivateKeyKey {
				t.Fatalf("%s=%s: %q is not a key of a kubernetes.io/tls Secret", flag, value, key)
			}
			data = []byte("not read by validation")
		default:
			t.Fatalf("%s=%s: volume %s is neither a ConfigMap nor a Secret", flag, value, vol.Name)
		}
		file := filepath.Join(dir, strings.TrimPrefix(flag, "--"))
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		out = append(out, flag+"="+file)
	}
	return out
}
