#ifndef KB_KEYBROKER_VERIFIERS_SNP_SNP_KEY_CERT_CACHE_H_
#define KB_KEYBROKER_VERIFIERS_SNP_SNP_KEY_CERT_CACHE_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/openssl_util.h"
#include "common/sync/mutex.h"
#include "keybroker/verifiers/snp/amd_certs.h"

namespace kb {

// A VCEK or VLEK certificate whose chain to the AMD roots verified: the parsed certificate, its
// AMD extensions, and the time span in which every certificate of that chain is valid
// (not_before < t < not_after, as the chain check demands).
struct VerifiedSnpKeyCert {
  X509Ptr leaf;
  AmdKeyCertInfo info;
  absl::Time not_before;
  absl::Time not_after;
};

// The VCEK/VLEK certificates whose chain has verified, so that the next report signed by the
// same key costs its own signature check and not the chain's again (three RSA-PSS signatures
// and four certificate decodes; the VCEK of a host is the same for every VM on it).
//
// An entry is found only by the SHA-256 of the exact certificate bytes and of the exact chain PEM
// it verified against, and only while the time is inside the span where that chain is valid;
// outside it, the caller verifies from scratch and gets the chain check's own answer. Only verified
// chains are inserted, so a client cannot fill the cache with certificates AMD did not sign. At
// most `capacity` entries: inserting into a full cache drops one entry first. There is no
// revocation to follow: the verifier consults no CRL. Thread-safe.
class SnpKeyCertCache {
 public:
  explicit SnpKeyCertCache(size_t capacity = 1024) : capacity_(capacity) {}

  // The entry for `cert` (DER or PEM, as the evidence carried it) verified under `chain_pem`
  // (empty: the built-in roots), when `at` is inside its span; null otherwise.
  std::shared_ptr<const VerifiedSnpKeyCert> Find(absl::string_view cert,
                                                 absl::string_view chain_pem, absl::Time at) const
      ABSL_LOCKS_EXCLUDED(mu_);
  void Insert(absl::string_view cert, absl::string_view chain_pem,
              std::shared_ptr<const VerifiedSnpKeyCert> entry) ABSL_LOCKS_EXCLUDED(mu_);
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  static std::string Key(absl::string_view cert, absl::string_view chain_pem);

  const size_t capacity_;
  mutable kb::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const VerifiedSnpKeyCert>> entries_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_SNP_SNP_KEY_CERT_CACHE_H_
