#include "keybroker/service/challenge_quota.h"

#include "absl/strings/str_cat.h"

namespace kb {

absl::Status ChallengeQuota::Reserve(const std::string& id, const std::string& source,
                                     absl::Time expires_at, absl::Time now) {
  kb::MutexLock lock(&mu_);
  ExpireLocked(now);
  if (places_.size() >= max_total_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the broker holds its maximum of ", max_total_, " outstanding challenges; retry in ",
        absl::FormatDuration(absl::Ceil(by_expiry_.begin()->first - now, absl::Seconds(1)))));
  }
  auto it = per_source_.find(source);
  if (it != per_source_.end() && it->second >= max_per_source_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("this address holds its maximum of ", max_per_source_,
                     " outstanding challenges; redeem them or let them expire"));
  }
  places_[id] = Place{source, expires_at};
  by_expiry_.emplace(expires_at, id);
  ++per_source_[source];
  return absl::OkStatus();
}

void ChallengeQuota::Release(const std::string& id) {
  kb::MutexLock lock(&mu_);
  EraseLocked(id);
}

size_t ChallengeQuota::outstanding() const {
  kb::MutexLock lock(&mu_);
  return places_.size();
}

void ChallengeQuota::ExpireLocked(absl::Time now) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    const std::string id = by_expiry_.begin()->second;
    EraseLocked(id);
  }
}

void ChallengeQuota::EraseLocked(const std::string& id) {
  auto it = places_.find(id);
  if (it == places_.end()) return;
  auto range = by_expiry_.equal_range(it->second.expires_at);
  for (auto e = range.first; e != range.second; ++e) {
    if (e->second == id) {
      by_expiry_.erase(e);
      break;
    }
  }
  auto src = per_source_.find(it->second.source);
  if (src != per_source_.end() && --src->second == 0) per_source_.erase(src);
  places_.erase(it);
}

}  // namespace kb
