#ifndef KB_KEYBROKER_SERVICE_REFUSAL_TALLY_H_
#define KB_KEYBROKER_SERVICE_REFUSAL_TALLY_H_

#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <tuple>

#include "absl/time/time.h"
#include "common/clock.h"
#include "common/sync/mutex.h"
#include "keybroker/store/audit_log.h"

namespace kb {

// Requests refused before any evidence was checked (malformed, unknown or reused challenge)
// cost an attacker nothing, so they are not audited one record each: they are counted per
// (action, source address, reason) and written as one audit record per combination at most
// every `interval`, by a thread of its own (and when the tally is destroyed). Decisions on evidence
// are audited one by one elsewhere. At most `max_entries` combinations are kept; beyond that,
// further sources are counted under "other-sources". Thread-safe.
class RefusalTally {
 public:
  RefusalTally(AuditLog* audit, const Clock* clock, absl::Duration interval,
               size_t max_entries = 1024);
  ~RefusalTally();

  // Counts one refusal; writes the tally first when the interval has passed. `key_id` (as the
  // request named it) appears only in the sampled log line, escaped by the logger.
  void Count(absl::string_view action, absl::string_view source, absl::string_view reason,
             absl::string_view key_id = "");
  // Writes one audit record per counted combination and starts over.
  void Flush();

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // action, source, reason
  struct Tally {
    uint64_t count = 0;
    absl::Time first, last;
  };
  std::map<Key, Tally> Take();

  AuditLog* audit_;
  const Clock* clock_;
  const absl::Duration interval_;
  const size_t max_entries_;
  kb::Mutex mu_;
  std::map<Key, Tally> tallies_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread flusher_;  // writes the tally every interval of real time
  absl::Time started_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t logged_ ABSL_GUARDED_BY(mu_) = 0;
};

// The address of a gRPC peer string ("ipv4:10.0.0.7:51234" -> "10.0.0.7",
// "ipv6:[::1]:5000" -> "::1"); the string itself when it has no such form.
std::string PeerAddress(absl::string_view peer);

}  // namespace kb

#endif  // KB_KEYBROKER_SERVICE_REFUSAL_TALLY_H_
