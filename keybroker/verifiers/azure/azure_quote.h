#ifndef KB_KEYBROKER_VERIFIERS_AZURE_AZURE_QUOTE_H_
#define KB_KEYBROKER_VERIFIERS_AZURE_AZURE_QUOTE_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "keybroker/verifiers/tpm/tpm_quote.h"

namespace kb {

// Parses the azure-cvm-tooling "bincode" container (u64 LE length + signature, u64 length +
// TPMS_ATTEST, u64 count + count x 32-byte PCR values). INVALID_ARGUMENT naming the problem if
// truncated, oversized or followed by trailing bytes.
absl::StatusOr<TpmQuote> ParseAzureBincodeQuote(absl::string_view bytes);

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_AZURE_AZURE_QUOTE_H_
