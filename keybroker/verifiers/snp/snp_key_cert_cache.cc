#include "keybroker/verifiers/snp/snp_key_cert_cache.h"

#include "absl/strings/str_cat.h"
#include "common/crypto.h"

namespace kb {

std::string SnpKeyCertCache::Key(absl::string_view cert, absl::string_view chain_pem) {
  // Digests, not the bytes: a client may pad a PEM certificate up to the request size, and
  // the key must not keep that padding.
  return absl::StrCat(Sha256(chain_pem), Sha256(cert));
}

std::shared_ptr<const VerifiedSnpKeyCert> SnpKeyCertCache::Find(absl::string_view cert,
                                                                absl::string_view chain_pem,
                                                                absl::Time at) const {
  const std::string key = Key(cert, chain_pem);
  // Whole seconds, as the chain check compares (VerifyAmdChain).
  const absl::Time t = absl::FromTimeT(absl::ToTimeT(at));
  kb::MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || !(it->second->not_before < t && t < it->second->not_after)) {
    return nullptr;
  }
  return it->second;
}

void SnpKeyCertCache::Insert(absl::string_view cert, absl::string_view chain_pem,
                             std::shared_ptr<const VerifiedSnpKeyCert> entry) {
  std::string key = Key(cert, chain_pem);
  kb::MutexLock lock(&mu_);
  if (capacity_ == 0) return;
  if (entries_.size() >= capacity_ && !entries_.contains(key)) entries_.erase(entries_.begin());
  entries_.insert_or_assign(std::move(key), std::move(entry));
}

size_t SnpKeyCertCache::size() const {
  kb::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace kb
