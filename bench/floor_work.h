#ifndef KB_BENCH_FLOOR_WORK_H_
#define KB_BENCH_FLOOR_WORK_H_

#include <openssl/x509.h>

#include "absl/status/statusor.h"
#include "common/secret_bytes.h"
#include "kb/v1/release.pb.h"

namespace kb {

// The crypto floor of a release: what no broker can avoid for request `r`. release_bench times
// it (the floor) and floor_tls_server does it per request (the floor models), so both do the
// same work.
// TPM: the quote's and the certification's ECDSA-P256 signatures checked with the AK in `r`,
// then `key` wrapped to the TPM transfer key (ECDH-P256, HKDF, AES-KWP).
absl::StatusOr<v1::WrappedKey> TpmFloorWork(const v1::ReleaseKeyRequest& r, const SecretBytes& key);
// SEV-SNP, the VCEK already verified: the report's ECDSA-P384 signature checked with `vcek`,
// then `key` wrapped to the P-256 SPKI transfer key.
absl::StatusOr<v1::WrappedKey> SnpFloorWork(X509* vcek, const v1::ReleaseKeyRequest& r,
                                            const SecretBytes& key);

}  // namespace kb

#endif  // KB_BENCH_FLOOR_WORK_H_
