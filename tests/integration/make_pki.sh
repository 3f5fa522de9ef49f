#!/bin/sh
# Creates a throwaway PKI for tests and the demo in DIR:
#   ca.pem/ca.key            broker CA (guests trust it)
#   server.pem/server.key    broker server cert: localhost, 127.0.0.1, 10.0.2.100
#   operator-ca.pem/.key     operator CA (the admin listener trusts it)
#   operator.pem/.key        an operator client cert (CN=operator-alice; role admin in tests)
#   olivia.pem/.key          CN=operator-olivia (role operator in BrokerProcess's config)
#   auditor.pem/.key         CN=auditor-ann (role auditor, granted by common name)
#   norole.pem/.key          CN=operator-nobody: chains to the operator CA, maps to no role
#   impostor.pem/.key        CN is the text "CN=operator-alice" (operator CA): must get no role
#   sam.pem/.key             CN=svc-sam with SAN URI spiffe://example.org/op/sam (role auditor
#                            in BrokerProcess's config, granted by that URI)
#   rogue-ca.pem, rogue.pem/.key   a client cert from an untrusted CA
#   other-ca.pem             an unrelated CA (a guest with the wrong broker CA)
set -eu
dir=${1:?usage: make_pki.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077

ca() {  # name subject
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -keyout "$1.key" -out "$1.pem" -subj "$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    2>/dev/null
}
leaf() {  # name subject ca extfile-lines
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
    -out "$1.csr" -subj "$2" 2>/dev/null
  printf '%s\n' "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days 825 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

ca ca "/CN=keybroker test broker CA"
ca operator-ca "/CN=keybroker test operator CA"
ca rogue-ca "/CN=rogue CA"
ca other-ca "/CN=some other CA"
leaf server "/CN=keybroker" ca \
  "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:10.0.2.100
extendedKeyUsage=serverAuth"
leaf operator "/CN=operator-alice" operator-ca "extendedKeyUsage=clientAuth"
leaf olivia "/CN=operator-olivia" operator-ca "extendedKeyUsage=clientAuth"
leaf auditor "/CN=auditor-ann" operator-ca "extendedKeyUsage=clientAuth"
leaf norole "/CN=operator-nobody" operator-ca "extendedKeyUsage=clientAuth"
leaf impostor "/CN=CN=operator-alice" operator-ca "extendedKeyUsage=clientAuth"
leaf sam "/CN=svc-sam" operator-ca "extendedKeyUsage=clientAuth
subjectAltName=URI:spiffe://example.org/op/sam"
leaf rogue "/CN=operator-mallory" rogue-ca "extendedKeyUsage=clientAuth"
chmod 644 ./*.pem
