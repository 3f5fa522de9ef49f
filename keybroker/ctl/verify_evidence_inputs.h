#ifndef KB_KEYBROKER_CTL_VERIFY_EVIDENCE_INPUTS_H_
#define KB_KEYBROKER_CTL_VERIFY_EVIDENCE_INPUTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/openssl_util.h"
#include "kb/v1/evidence.pb.h"
#include "keybroker/ctl/verify_evidence.h"
#include "keybroker/verifiers/tpm/tpm_quote.h"

namespace kb {

// The input files of `keybrokerctl verify-evidence` (verify_evidence.cc), read and parsed.

// The contents of `path`; empty for an empty path. NOT_FOUND / PERMISSION_DENIED as ReadFile.
absl::StatusOr<std::string> ReadInput(const std::string& path);

// The marshaled TPMT_PUBLIC of an --ak file holding a TPMT_PUBLIC or a TPM2B_PUBLIC (the
// size-prefixed form tpm2-tools writes, e.g. `tpm2_createak -u`). INVALID_ARGUMENT naming --ak
// if it is neither.
absl::StatusOr<std::string> AkPublicArea(absl::string_view data);

// The AK of --ak: a PEM public key (SubjectPublicKeyInfo), a TPMT_PUBLIC or a TPM2B_PUBLIC.
absl::StatusOr<EvpPkeyPtr> LoadAk(const std::string& data);

// Whether `data` has the size of a tpm2-tools PCR-values file (see ParseTpm2ToolsPcrs).
bool IsTpm2ToolsPcrFile(absl::string_view data);

// The PCR values of a tpm2-tools PCR-values file (`tpm2_quote -o`, `tpm2_pcrread -o`), in the
// tools' native little-endian layout: TPML_PCR_SELECTION (u32 count, 16 x {u16 hash, u8
// sizeofSelect, 4-byte bitmap, pad}; 132 bytes), u32 n, then n x TPML_DIGEST (u32 count,
// 8 x {u16 size, 64-byte buffer}; 532 bytes). The digests follow the selection order (bank by
// bank, PCR index ascending). Banks are named "sha1", "sha256", "sha384". INVALID_ARGUMENT
// naming --pcrs when malformed: a digest count or size that does not match the selection.
absl::StatusOr<std::vector<v1::PcrValue>> ParseTpm2ToolsPcrs(absl::string_view data);

// The SHA-256 PCR values of --pcrs: a tpm2-tools PCR-values file with only SHA-256 values,
// raw 32-byte values (PCR i at offset 32*i), or text lines "INDEX HEX" / "INDEX: HEX" /
// "INDEX=HEX" (a "sha256:" prefix allowed, '#' comments). INVALID_ARGUMENT naming --pcrs
// otherwise.
absl::StatusOr<std::vector<std::string>> ParsePcrFile(const std::string& data);

// The vTPM quote of --tpm-quote: the azure-cvm-tooling bincode container when there is no
// --tpm-signature, else the TPMS_ATTEST with --tpm-signature (TPMT_SIGNATURE or bare RSASSA)
// and the --pcrs values.
absl::StatusOr<TpmQuote> LoadQuote(const VerifyEvidenceArgs& a);

}  // namespace kb

#endif  // KB_KEYBROKER_CTL_VERIFY_EVIDENCE_INPUTS_H_
