#ifndef KB_KEYBROKER_VERIFIERS_API_CLAIMS_H_
#define KB_KEYBROKER_VERIFIERS_API_CLAIMS_H_

#include <cstdint>
#include <map>
#include <string>

namespace kb {

// What verified evidence says about a guest. Only ever built from evidence that passed every
// check; policy evaluation sees nothing else.
struct Claims {
  std::string evidence_type;  // "tpm", "snp", "tdx", "az-snp-vtpm", "az-tdx-vtpm"
  // Machine name of the registered AK ("tpm"), or the identity the TEE evidence names:
  // "snp-chip:<chip_id hex>", "tdx-fmspc:<fmspc hex>", "azure-vm:<vm id>".
  std::string machine;
  // The TPM name (nameAlg || digest) of the AK a TPM quote was signed with ("tpm"); empty for
  // TEE evidence. A verifier that leaves the AK's registration to its caller sets this and
  // leaves `machine` empty (TpmQuoteVerifier without a registry). Not in ClaimsToJson.
  std::string attestation_key;
  // bank ("sha256") -> PCR index -> lowercase hex digest
  std::map<std::string, std::map<uint32_t, std::string>> pcrs;
  // Named TEE claims ("snp.measurement", "snp.debug", "tdx.mrtd", "tdx.tcb_status",
  // "azure.vm_id", ...; docs/policy.md lists them): lowercase hex for bytes, decimal for
  // numbers, "true"/"false" for flags. Empty for plain TPM evidence.
  std::map<std::string, std::string> attributes;
};

// The claims as a JSON object {"evidence_type", "machine", "pcrs", "attributes"}, keys sorted.
std::string ClaimsToJson(const Claims& claims);

// "true" / "false", as claim attributes spell flags.
inline std::string ClaimFlag(bool b) { return b ? "true" : "false"; }

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_API_CLAIMS_H_
