package manifests_test

import (
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Minimal schemas of the custom resources we ship from projects outside the
// Kubernetes scheme (cert-manager, prometheus-operator). Each struct holds
// only fields that exist in the upstream API (cert-manager.io/v1,
// monitoring.coreos.com/v1), with their upstream JSON names, and is decoded
// with unknown fields disallowed: a misspelt or misplaced field fails. The
// check methods add the required fields and enums our manifests rely on.
// The server-side dry run checks them against the real CRDs where those are
// installed.
var customSchemas = map[schema.GroupVersionKind]func() any{
	{Group: "cert-manager.io", Version: "v1", Kind: "Issuer"}:               func() any { return &cmIssuer{} },
	{Group: "cert-manager.io", Version: "v1", Kind: "Certificate"}:          func() any { return &cmCertificate{} },
	{Group: "monitoring.coreos.com", Version: "v1", Kind: "ServiceMonitor"}: func() any { return &serviceMonitor{} },
	{Group: "monitoring.coreos.com", Version: "v1", Kind: "PrometheusRule"}: func() any { return &prometheusRule{} },
}

type cmIssuer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		SelfSigned *struct {
			CRLDistributionPoints []string `json:"crlDistributionPoints,omitempty"`
		} `json:"selfSigned,omitempty"`
		CA *struct {
			SecretName string `json:"secretName"`
		} `json:"ca,omitempty"`
	} `json:"spec"`
}

func (i *cmIssuer) check() error {
	switch {
	case (i.Spec.SelfSigned == nil) == (i.Spec.CA == nil):
		return errors.New("spec: set exactly one of selfSigned and ca")
	case i.Spec.CA != nil && i.Spec.CA.SecretName == "":
		return errors.New("spec.ca.secretName is empty")
	}
	return nil
}

type cmCertificate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		SecretName  string   `json:"secretName"`
		CommonName  string   `json:"commonName,omitempty"`
		DNSNames    []string `json:"dnsNames,omitempty"`
		IsCA        bool     `json:"isCA,omitempty"`
		Duration    string   `json:"duration,omitempty"`
		RenewBefore string   `json:"renewBefore,omitempty"`
		Usages      []string `json:"usages,omitempty"`
		PrivateKey  *struct {
			Algorithm      string `json:"algorithm,omitempty"`
			Size           int    `json:"size,omitempty"`
			Encoding       string `json:"encoding,omitempty"`
			RotationPolicy string `json:"rotationPolicy,omitempty"`
		} `json:"privateKey,omitempty"`
		IssuerRef struct {
			Name  string `json:"name"`
			Kind  string `json:"kind,omitempty"`
			Group string `json:"group,omitempty"`
		} `json:"issuerRef"`
	} `json:"spec"`
}

// Key usages cert-manager accepts (KeyUsage in cert-manager.io/v1).
var cmUsages = []string{
	"signing", "digital signature", "content commitment", "key encipherment",
	"key agreement", "data encipherment", "cert sign", "crl sign",
	"encipher only", "decipher only", "any", "server auth", "client auth",
	"code signing", "email protection", "s/mime", "ipsec end system",
	"ipsec tunnel", "ipsec user", "timestamping", "ocsp signing",
	"microsoft sgc", "netscape sgc",
}

func (c *cmCertificate) check() error {
	var errs []error
	s := c.Spec
	if s.SecretName == "" {
		errs = append(errs, errors.New("spec.secretName is empty"))
	}
	if s.IssuerRef.Name == "" {
		errs = append(errs, errors.New("spec.issuerRef.name is empty"))
	}
	if s.CommonName == "" && len(s.DNSNames) == 0 {
		errs = append(errs, errors.New("spec: neither commonName nor dnsNames"))
	}
	for _, d := range []struct{ field, v string }{{"duration", s.Duration}, {"renewBefore", s.RenewBefore}} {
		if d.v == "" {
			continue
		}
		if _, err := time.ParseDuration(d.v); err != nil {
			errs = append(errs, fmt.Errorf("spec.%s: %w", d.field, err))
		}
	}
	for _, u := range s.Usages {
		if !slices.Contains(cmUsages, u) {
			errs = append(errs, fmt.Errorf("spec.usages: unknown usage %q", u))
		}
	}
	if k := s.PrivateKey; k != nil {
		if k.Algorithm != "" && !slices.Contains([]string{"RSA", "ECDSA", "Ed25519"}, k.Algorithm) {
			errs = append(errs, fmt.Errorf("spec.privateKey.algorithm: unknown %q", k.Algorithm))
		}
		if k.RotationPolicy != "" && !slices.Contains([]string{"Never", "Always"}, k.RotationPolicy) {
			errs = append(errs, fmt.Errorf("spec.privateKey.rotationPolicy: unknown %q", k.RotationPolicy))
		}
	}
	return errors.Join(errs...)
}

type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		JobLabel          string               `json:"jobLabel,omitempty"`
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector *struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector,omitempty"`
		Endpoints []struct {
			Port            string `json:"port,omitempty"`
			Path            string `json:"path,omitempty"`
			Scheme          string `json:"scheme,omitempty"`
			Interval        string `json:"interval,omitempty"`
			ScrapeTimeout   string `json:"scrapeTimeout,omitempty"`
			HonorLabels     bool   `json:"honorLabels,omitempty"`
			BearerTokenFile string `json:"bearerTokenFile,omitempty"`
			TLSConfig       *struct {
				ServerName string `json:"serverName,omitempty"`
				CA         *struct {
					Secret    *corev1.SecretKeySelector    `json:"secret,omitempty"`
					ConfigMap *corev1.ConfigMapKeySelector `json:"configMap,omitempty"`
				} `json:"ca,omitempty"`
			} `json:"tlsConfig,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

func (m *serviceMonitor) check() error {
	var errs []error
	if len(m.Spec.Selector.MatchLabels) == 0 && len(m.Spec.Selector.MatchExpressions) == 0 {
		errs = append(errs, errors.New("spec.selector selects every Service"))
	}
	if len(m.Spec.Endpoints) == 0 {
		errs = append(errs, errors.New("spec.endpoints is empty"))
	}
	for i, e := range m.Spec.Endpoints {
		if e.Port == "" {
			errs = append(errs, fmt.Errorf("spec.endpoints[%d].port is empty", i))
		}
		if e.Scheme != "" && e.Scheme != "http" && e.Scheme != "https" {
			errs = append(errs, fmt.Errorf("spec.endpoints[%d].scheme: %q", i, e.Scheme))
		}
		if e.Interval != "" {
			if _, err := time.ParseDuration(e.Interval); err != nil {
				errs = append(errs, fmt.Errorf("spec.endpoints[%d].interval: %w", i, err))
			}
		}
	}
	return errors.Join(errs...)
}

type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ruleFile `json:"spec"`
}

// ruleFile is the rule file format shared by Prometheus and PrometheusRule's
// spec.
type ruleFile struct {
	Groups []ruleGroup `json:"groups"`
}

type ruleGroup struct {
	Name     string `json:"name"`
	Interval string `json:"interval,omitempty"`
	Rules    []rule `json:"rules"`
}

type rule struct {
	Record      string            `json:"record,omitempty"`
	Alert       string            `json:"alert,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func (r *prometheusRule) check() error {
	if len(r.Spec.Groups) == 0 {
		return errors.New("spec.groups is empty")
	}
	return nil
}
