package cluster_test

import (
	"crypto/x509"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/queuescale/queuescale/internal/testenv/cluster"
)

// TestPKI checks the certificates the control plane and the APIService rely
// on: serving certificates verify for their names against the cluster CA
// (the caBundle), client certificates carry the user and groups, and the
// aggregator's client certificate chains to the front-proxy CA only.
func TestPKI(t *testing.T) {
	p, err := cluster.NewPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(p.CA.CertPEM) {
		t.Fatal("cluster CA PEM does not parse")
	}
	frontProxyRoots := x509.NewCertPool()
	frontProxyRoots.AddCert(p.FrontProxyCA.Cert)

	serving, err := p.ServingCert(t.TempDir(), "metrics-adapter", "metrics-adapter.queuescale.svc", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cert    *x509.Certificate
		opts    x509.VerifyOptions
		wantErr bool
	}{
		{"serving cert for its DNS name", serving.Cert, x509.VerifyOptions{Roots: roots, DNSName: "metrics-adapter.queuescale.svc"}, false},
		{"serving cert for its IP", serving.Cert, x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1"}, false},
		{"serving cert for another name", serving.Cert, x509.VerifyOptions{Roots: roots, DNSName: "other.queuescale.svc"}, true},
		{"serving cert as a client cert", serving.Cert, x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, true},
		{"front-proxy client against its CA", p.FrontProxyClient.Cert, x509.VerifyOptions{Roots: frontProxyRoots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, false},
		{"front-proxy client against the cluster CA", p.FrontProxyClient.Cert, x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cert.Verify(tt.opts)
			if (err != nil) != tt.wantErr {
				t.Errorf("Verify: err = %v, want error %v", err, tt.wantErr)
			}
		})
	}

	alice, err := p.ClientCert("alice", "alice", "developers", "qa")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("alice's client cert does not verify: %v", err)
	}
	if got := alice.Cert.Subject.CommonName; got != "alice" {
		t.Errorf("user (CN) = %q, want alice", got)
	}
	// DER orders the SET of organizations; groups are a set anyway.
	if diff := cmp.Diff([]string{"developers", "qa"}, slices.Sorted(slices.Values(alice.Cert.Subject.Organization))); diff != "" {
		t.Errorf("groups (O) (-want +got):\n%s", diff)
	}
	if got := p.FrontProxyClient.Cert.Subject.CommonName; got != cluster.FrontProxyClientName {
		t.Errorf("front-proxy client CN = %q, want %q", got, cluster.FrontProxyClientName)
	}
}
