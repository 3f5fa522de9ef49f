#include "keybroker/server/connection_table.h"

#include <algorithm>

namespace kb {
namespace {

// How many of the oldest connections an eviction looks at. Flood connections are held the
// longest, so they are among the oldest; the bound keeps an admission at the cap cheap
// (one TCP_INFO query per candidate) whatever the cap.
constexpr size_t kEvictionCandidates = 128;

}  // namespace

ConnectionTable::Admission ConnectionTable::Admit(const std::string& source,
                                                  const IdleProbe& idle) const {
  Admission a;
  if (from(source) >= limits_.max_per_source) {
    a.verdict = Admission::kRefuseSourceFull;
    return a;
  }
  if (by_id_.size() < limits_.max_connections) return a;
  a.evict = MostIdle(idle);
  if (!a.evict.has_value()) a.verdict = Admission::kRefuseFull;
  return a;
}

std::optional<int64_t> ConnectionTable::MostIdle(const IdleProbe& idle) const {
  std::optional<int64_t> victim;
  absl::Duration longest = -absl::InfiniteDuration();
  size_t looked = 0;
  for (const auto& [seq, id] : by_seq_) {
    if (looked++ == kEvictionCandidates) break;
    std::optional<absl::Duration> d = idle(id);
    // A connection that is already gone frees its place: evict (forget) it first.
    if (!d.has_value()) return id;
    if (*d > longest) {
      longest = *d;
      victim = id;
    }
  }
  return victim;
}

void ConnectionTable::Add(int64_t id, const std::string& source) {
  const int64_t seq = next_seq_++;
  by_seq_[seq] = id;
  by_id_[id] = Entry{seq, source};
  ++per_source_[source];
  peak_ = std::max(peak_, by_id_.size());
}

size_t ConnectionTable::TakePeak() {
  const size_t peak = std::max(peak_, by_id_.size());
  peak_ = by_id_.size();
  return peak;
}

void ConnectionTable::Remove(int64_t id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  by_seq_.erase(it->second.seq);
  auto src = per_source_.find(it->second.source);
  if (--src->second == 0) per_source_.erase(src);
  by_id_.erase(it);
}

size_t ConnectionTable::from(const std::string& source) const {
  auto it = per_source_.find(source);
  return it == per_source_.end() ? 0 : it->second;
}

std::vector<int64_t> ConnectionTable::Ids() const {
  std::vector<int64_t> ids;
  ids.reserve(by_seq_.size());
  for (const auto& [seq, id] : by_seq_) ids.push_back(id);
  return ids;
}

}  // namespace kb
