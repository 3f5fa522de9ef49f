#ifndef KB_KEYBROKER_COLLATERAL_RECOGNIZER_PARTS_H_
#define KB_KEYBROKER_COLLATERAL_RECOGNIZER_PARTS_H_

// Internal to collateral_recognizer*.cc: the per-kind recognisers and shared helpers.
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/openssl_util.h"
#include "keybroker/collateral/collateral_recognizer.h"

namespace kb {
namespace collateral_internal {

// FAILED_PRECONDITION (check "validity") unless `from` <= `now` <= `to`.
absl::Status CheckWindow(absl::string_view what, absl::Time from, absl::Time to, absl::Time now);
// The first 16 hex digits of SHA-256(content).
std::string EntryId(absl::string_view content);
// The cached Intel certificates (content as stored: DER) that parse.
std::vector<X509Ptr> ParseIssuers(const std::vector<std::string>& intel_issuers);

// TDX tcbInfo / TD_QE identity JSON (collateral_recognizer_tdx.cc).
absl::StatusOr<CollateralRecord> RecognizeTcbInfo(absl::string_view json,
                                                  const CollateralTrust& trust,
                                                  const std::vector<std::string>& intel_issuers,
                                                  absl::Time now);
absl::StatusOr<CollateralRecord> RecognizeQeIdentity(absl::string_view json,
                                                     const CollateralTrust& trust,
                                                     const std::vector<std::string>& intel_issuers,
                                                     absl::Time now);
// A CRL (PEM or DER) issued by an Intel root or a cached Intel CA.
absl::StatusOr<CollateralRecord> RecognizeCrl(X509_CRL* crl, const CollateralTrust& trust,
                                              const std::vector<std::string>& intel_issuers,
                                              absl::Time now);

}  // namespace collateral_internal
}  // namespace kb

#endif  // KB_KEYBROKER_COLLATERAL_RECOGNIZER_PARTS_H_
