#!/bin/sh
# Makes a software SEV-SNP platform in DIR for kbunlock-software-snp (tests/fakes/
# software_sev_guest.h) and the broker that verifies it:
#   report.bin            the template report (TEMPLATE, default: a real Milan report)
#   vcek.der, vcek.key    a test VCEK (P-384) whose SPLs and hwID match the template's
#                         REPORTED_TCB and CHIP_ID
#   amd_chain.pem         its test ASK ("SEV-Milan") and ARK ("ARK-Milan"), RSA-PSS signed: the
#                         broker's amd_chain_file
#   measurement.hex       the template's MEASUREMENT (for a policy)
#   chip_id.hex           its CHIP_ID (the machine is snp-chip:<chip_id>)
# RSA_BITS is the size of the ARK and ASK keys: 2048 by default (fast to make); AMD's are 4096.
set -eu
dir=${1:?usage: make_fake_snp.sh DIR [TEMPLATE] [RSA_BITS]}
bits=${3:-2048}
src=$(cd "$(dirname "$0")/../.." && pwd)
template=${2:-$src/tests/data/snp/derived_virtee_report_milan.bin}
mkdir -p "$dir"
cp "$template" "$dir/report.bin"
cd "$dir"
umask 077

hex() { od -An -tx1 -j"$1" -N"$2" report.bin | tr -d ' \n'; }
# REPORTED_TCB (0x180) on Milan/Genoa: bootloader, tee, 4 reserved, snp, microcode.
set -- $(od -An -tu1 -j384 -N8 report.bin)
bl=$1 tee=$2 snp=$7 ucode=$8
chip=$(hex 416 64)
hex 144 48 > measurement.hex
echo "$chip" > chip_id.hex

pss="-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -sha384"
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' > ca.ext
# shellcheck disable=SC2086
openssl req -x509 -newkey "rsa:$bits" -nodes -days 3650 -keyout ark.key -out ark.pem \
  -subj "/CN=ARK-Milan" $pss -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -new -newkey "rsa:$bits" -nodes -keyout ask.key -out ask.csr -subj "/CN=SEV-Milan" \
  2>/dev/null
# shellcheck disable=SC2086
openssl x509 -req -in ask.csr -CA ark.pem -CAkey ark.key -CAcreateserial -days 3650 $pss \
  -extfile ca.ext -out ask.pem 2>/dev/null
openssl ecparam -name secp384r1 -genkey -noout -out vcek.key
openssl req -new -key vcek.key -out vcek.csr -subj "/CN=SEV-VCEK" 2>/dev/null
cat > vcek.ext <<EXT
1.3.6.1.4.1.3704.1.2=ASN1:IA5STRING:Milan-B0
1.3.6.1.4.1.3704.1.3.1=ASN1:INTEGER:$bl
1.3.6.1.4.1.3704.1.3.2=ASN1:INTEGER:$tee
1.3.6.1.4.1.3704.1.3.3=ASN1:INTEGER:$snp
1.3.6.1.4.1.3704.1.3.8=ASN1:INTEGER:$ucode
1.3.6.1.4.1.3704.1.4=ASN1:FORMAT:HEX,OCTETSTRING:$chip
EXT
# shellcheck disable=SC2086
openssl x509 -req -in vcek.csr -CA ask.pem -CAkey ask.key -CAcreateserial -days 3650 $pss \
  -extfile vcek.ext -outform DER -out vcek.der 2>/dev/null
cat ask.pem ark.pem > amd_chain.pem
rm -f ./*.csr ./*.ext ./*.srl ark.key ask.key
chmod 644 amd_chain.pem measurement.hex chip_id.hex report.bin vcek.der
