#!/usr/bin/env bash
# Creates a private CA and the metrics adapter's serving certificate with
# openssl, for clusters without cert-manager. Writes, next to this script
# (or into the directory given as the first argument):
#   ca.crt, tls.crt, tls.key      the secret metrics-adapter-serving-cert
#   apiservice-cabundle.yaml      the APIService patch with caBundle = ca.crt
# The CA key is used once and deleted: rerun the script to rotate (every
# certificate it makes is valid for DAYS days, 365 by default).
#
# Usage: make-certs.sh [OUTPUT_DIR]
#   NAMESPACE (queuescale) and SERVICE (metrics-adapter) name the Service the
#   aggregator calls; DAYS sets the validity.
set -euo pipefail

out=${1:-$(cd "$(dirname "$0")" && pwd)}
namespace=${NAMESPACE:-queuescale}
service=${SERVICE:-metrics-adapter}
days=${DAYS:-365}

command -v openssl >/dev/null || { echo "make-certs.sh: openssl is not installed" >&2; exit 1; }
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

openssl ecparam -name prime256v1 -genkey -noout -out "$work/ca.key"
openssl req -x509 -new -key "$work/ca.key" -sha256 -days "$days" \
  -subj "/CN=queuescale-ca" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$work/ca.crt" 2>/dev/null

openssl ecparam -name prime256v1 -genkey -noout -out "$work/tls.key"
openssl req -new -key "$work/tls.key" -subj "/CN=$service.$namespace.svc" -out "$work/tls.csr"
cat >"$work/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:$service.$namespace.svc,DNS:$service.$namespace.svc.cluster.local
EXT
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
  -CAcreateserial -sha256 -days "$days" -extfile "$work/ext.cnf" -out "$work/tls.crt" 2>/dev/null

# PKCS#8, the form every TLS library reads.
openssl pkcs8 -topk8 -nocrypt -in "$work/tls.key" -out "$out/tls.key"
chmod 600 "$out/tls.key"
cp "$work/tls.crt" "$out/tls.crt"
cp "$work/ca.crt" "$out/ca.crt"
cat >"$out/apiservice-cabundle.yaml" <<PATCH
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1beta1.external.metrics.k8s.io
spec:
  caBundle: $(base64 <"$work/ca.crt" | tr -d '\n')
PATCH
echo "wrote ca.crt, tls.crt, tls.key and apiservice-cabundle.yaml to $out" >&2
