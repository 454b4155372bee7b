package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// certValidity is long enough for any test or demo run, short enough that a
// leaked test key is worthless.
const certValidity = 24 * time.Hour

// CA is a certificate authority kept in memory and on disk.
type CA struct {
	Cert     *x509.Certificate
	Key      crypto.Signer
	CertPEM  []byte
	CertFile string
}

// KeyPair is a certificate and its private key, written to files.
type KeyPair struct {
	CertPEM, KeyPEM   []byte
	CertFile, KeyFile string
	Cert              *x509.Certificate
}

// PKI holds every key the control plane uses. Files live in Dir.
type PKI struct {
	Dir string
	// CA signs the serving certificates and the client certificates the
	// kube-apiserver accepts (--client-ca-file).
	CA *CA
	// FrontProxyCA signs the client certificate the aggregator presents to
	// extension API servers (--requestheader-client-ca-file).
	FrontProxyCA *CA
	// FrontProxyClient is the aggregator's client certificate
	// (--proxy-client-cert-file), CN "front-proxy-client".
	FrontProxyClient *KeyPair
	// ServiceAccountKeyFile and ServiceAccountPubFile sign and verify
	// service account tokens.
	ServiceAccountKeyFile, ServiceAccountPubFile string
}

// FrontProxyClientName is the CN of the aggregator's client certificate,
// the only name in --requestheader-allowed-names.
const FrontProxyClientName = "front-proxy-client"

// NewPKI generates the cluster's keys and certificates into dir.
func NewPKI(dir string) (*PKI, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ca, err := newCA(dir, "ca", "queuescale-test-ca")
	if err != nil {
		return nil, err
	}
	fpCA, err := newCA(dir, "front-proxy-ca", "queuescale-test-front-proxy-ca")
	if err != nil {
		return nil, err
	}
	fpClient, err := fpCA.issue(dir, "front-proxy-client", certRequest{commonName: FrontProxyClientName, client: true})
	if err != nil {
		return nil, err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	saKeyPEM, err := keyPEM(saKey)
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(saKey.Public())
	if err != nil {
		return nil, err
	}
	p := &PKI{
		Dir:                   dir,
		CA:                    ca,
		FrontProxyCA:          fpCA,
		FrontProxyClient:      fpClient,
		ServiceAccountKeyFile: filepath.Join(dir, "sa.key"),
		ServiceAccountPubFile: filepath.Join(dir, "sa.pub"),
	}
	if err := os.WriteFile(p.ServiceAccountKeyFile, saKeyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(p.ServiceAccountPubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return nil, err
	}
	return p, nil
}

// ClientCert issues a client certificate from the cluster CA for user name
// in groups (the kube-apiserver reads the CN as the user name and each O as a
// group), written to Dir/<file>.crt and .key.
func (p *PKI) ClientCert(file, name string, groups ...string) (*KeyPair, error) {
	return p.CA.issue(p.Dir, file, certRequest{commonName: name, organizations: groups, client: true})
}

// ServingCert issues a serving certificate from the cluster CA for the given
// DNS names and IP addresses, written to dir/<file>.crt and .key. Its CA
// (p.CA.CertPEM) is the caBundle that clients such as the aggregator trust.
func (p *PKI) ServingCert(dir, file string, hosts ...string) (*KeyPair, error) {
	if len(hosts) == 0 {
		return nil, errors.New("a serving certificate needs at least one DNS name or IP")
	}
	req := certRequest{commonName: hosts[0], serving: true}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			req.ips = append(req.ips, ip)
		} else {
			req.dnsNames = append(req.dnsNames, h)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return p.CA.issue(dir, file, req)
}

type certRequest struct {
	commonName      string
	organizations   []string
	dnsNames        []string
	ips             []net.IP
	client, serving bool
}

func newCA(dir, file, name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA %s: %w", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ca := &CA{Cert: cert, Key: key, CertPEM: certPEM(der), CertFile: filepath.Join(dir, file+".crt")}
	kp, err := keyPEM(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(ca.CertFile, ca.CertPEM, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, file+".key"), kp, 0o600); err != nil {
		return nil, err
	}
	return ca, nil
}

func (ca *CA) issue(dir, file string, req certRequest) (*KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: req.commonName, Organization: req.organizations},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		DNSNames:     req.dnsNames,
		IPAddresses:  req.ips,
	}
	if req.client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	if req.serving {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issue certificate %s for %q: %w", file, req.commonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kp, err := keyPEM(key)
	if err != nil {
		return nil, err
	}
	pair := &KeyPair{
		CertPEM:  certPEM(der),
		KeyPEM:   kp,
		CertFile: filepath.Join(dir, file+".crt"),
		KeyFile:  filepath.Join(dir, file+".key"),
		Cert:     cert,
	}
	if err := os.WriteFile(pair.CertFile, pair.CertPEM, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(pair.KeyFile, pair.KeyPEM, 0o600); err != nil {
		return nil, err
	}
	return pair, nil
}

func serialNumber() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func keyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
