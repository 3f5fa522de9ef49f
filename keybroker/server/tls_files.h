#ifndef KB_KEYBROKER_SERVER_TLS_FILES_H_
#define KB_KEYBROKER_SERVER_TLS_FILES_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "kb/v1/config.pb.h"

namespace kb {

// Checks the TLS files of `config` before any listener uses them, so that each problem names
// its file: tls_cert_file holds a certificate chain, tls_key_file a private key that is the
// certificate's, the certificate is valid at `now` (a clock or renewal problem is said as
// such), and operator_ca_file holds at least one certificate. INVALID_ARGUMENT for a file that
// does not parse, FAILED_PRECONDITION for a mismatch or a certificate outside its validity,
// NOT_FOUND / PERMISSION_DENIED for an unreadable file.
absl::Status CheckTlsFiles(const v1::BrokerConfig& config, absl::Time now);

}  // namespace kb

#endif  // KB_KEYBROKER_SERVER_TLS_FILES_H_
