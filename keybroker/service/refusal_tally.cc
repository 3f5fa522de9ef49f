#include "keybroker/service/refusal_tally.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/logging.h"
#include "common/request_deadline.h"

namespace kb {

RefusalTally::RefusalTally(AuditLog* audit, const Clock* clock, absl::Duration interval,
                           size_t max_entries)
    : audit_(audit), clock_(clock), interval_(interval), max_entries_(max_entries) {
  flusher_ = std::thread([this] {
    for (;;) {
      {
        kb::MutexLock lock(&mu_);
        auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_; };
        if (mu_.AwaitWithTimeout(absl::Condition(&stopping), interval_)) return;
      }
      Flush();
    }
  });
}

RefusalTally::~RefusalTally() {
  {
    kb::MutexLock lock(&mu_);
    stop_ = true;
  }
  flusher_.join();
  Flush();
}

void RefusalTally::Count(absl::string_view action, absl::string_view source,
                         absl::string_view reason, absl::string_view key_id) {
  bool due = false;
  {
    kb::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    if (started_ == absl::InfinitePast()) started_ = now;
    Key key{std::string(action), std::string(source), std::string(reason.substr(0, 120))};
    if (tallies_.size() >= max_entries_ && !tallies_.count(key)) {
      std::get<1>(key) = "other-sources";
    }
    Tally& t = tallies_[key];
    if (t.count++ == 0) t.first = now;
    t.last = now;
    // One log line per 1,000 refusals, not one each.
    if (logged_++ % 1000 == 0) {
      LogWarning(
          "%s refused before evidence was checked (from %s, key=%s: %s); such refusals "
          "are audited as counts every %s and logged one in 1000",
          action, source, key_id, reason, absl::FormatDuration(interval_));
    }
    due = now - started_ >= interval_;
  }
  if (due) Flush();
}

std::map<RefusalTally::Key, RefusalTally::Tally> RefusalTally::Take() {
  kb::MutexLock lock(&mu_);
  std::map<Key, Tally> taken;
  taken.swap(tallies_);
  started_ = absl::InfinitePast();
  return taken;
}

void RefusalTally::Flush() {
  // Often called on a refused request's thread: the counts are not that request's to lose.
  // Those not written within this budget (a store that does not answer) are logged and lost.
  const RequestDeadline::Override budget(absl::Now() + absl::Seconds(5));
  for (const auto& [key, t] : Take()) {
    const auto& [action, source, reason] = key;
    AuditRecord r;
    r.time = t.last;
    r.actor = absl::StrCat("peer-address:", source);
    r.action = absl::StrCat(action, "_refused_unverified");
    r.decision = "deny";
    r.reason =
        absl::StrCat(t.count, " request(s) refused before evidence was checked between ",
                     absl::FormatTime(t.first), " and ", absl::FormatTime(t.last), ": ", reason);
    if (absl::Status s = audit_->Append(r); !s.ok()) {
      LogError("audit append failed for %d unverified refusals: %s", t.count, s.message());
    }
  }
}

std::string PeerAddress(absl::string_view peer) {
  absl::string_view rest = peer;
  if (absl::ConsumePrefix(&rest, "ipv4:")) return std::string(rest.substr(0, rest.rfind(':')));
  if (absl::ConsumePrefix(&rest, "ipv6:")) {
    const size_t close = rest.find(']');
    if (absl::StartsWith(rest, "[") && close != absl::string_view::npos) {
      return std::string(rest.substr(1, close - 1));
    }
  }
  return std::string(peer);
}

}  // namespace kb
