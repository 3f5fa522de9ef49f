#ifndef KB_UNLOCKER_CLIENT_TLS_DIAGNOSIS_H_
#define KB_UNLOCKER_CLIENT_TLS_DIAGNOSIS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kb {

// Why the broker's certificate (`chain_pem`, leaf first, as the broker presented it in the
// refused handshake) fails
// verification against the CA certificates in `ca_pem` (read from `ca_file`) at `now`, in
// words for an operator: a certificate not yet valid or expired while this guest's clock reads
// `now` (with the advice to check the clock), or an issuer that the CA file does not hold
// (naming both). Empty when the chain verifies.
std::string ExplainCertificateFailure(const std::string& chain_pem, const std::string& ca_pem,
                                      const std::string& ca_file, absl::Time now);

// A broker call's error when the broker's certificate did not verify: FAILED_PRECONDITION with
// the explanation, marked so that IsBrokerCertificateError recognises it (a wrong CA or clock
// is not fixed by retrying).
absl::Status BrokerCertificateError(const std::string& endpoint, const std::string& why);
bool IsBrokerCertificateError(const absl::Status& status);

}  // namespace kb

#endif  // KB_UNLOCKER_CLIENT_TLS_DIAGNOSIS_H_
