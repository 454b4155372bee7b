package cluster

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// restConfig is a client config for server that trusts caPEM and
// authenticates with the client certificate in pair.
func restConfig(server string, caPEM []byte, pair *KeyPair) *rest.Config {
	return &rest.Config{
		Host: server,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   caPEM,
			CertData: pair.CertPEM,
			KeyData:  pair.KeyPEM,
		},
		// The test cluster is small; the default 5 QPS makes polling tests
		// slower than they need to be.
		QPS:   50,
		Burst: 100,
	}
}

// WriteKubeconfig writes cfg (certificate or token authentication, with the
// CA inline) as a kubeconfig file with one context named "queuescale".
func WriteKubeconfig(path string, cfg *rest.Config) error {
	const name = "queuescale"
	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		CertificateAuthorityData: cfg.CAData,
	}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData,
		ClientKeyData:         cfg.KeyData,
		Token:                 cfg.BearerToken,
	}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	kc.CurrentContext = name
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}
