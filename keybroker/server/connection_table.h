#ifndef KB_KEYBROKER_SERVER_CONNECTION_TABLE_H_
#define KB_KEYBROKER_SERVER_CONNECTION_TABLE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/time/time.h"

namespace kb {

// The caps of one listener (BrokerConfig.connection_limits with defaults applied).
struct ConnectionLimits {
  size_t max_connections = 1024;
  size_t max_per_source = 1024;
  absl::Duration handshake_timeout = absl::Seconds(10);
  absl::Duration idle_timeout = absl::Seconds(60);
};

// Which connections a listener holds, by id, and whether a new one may join. Pure bookkeeping
// (no sockets), so the admission rules are unit-tested alone. Not thread-safe: the listener's
// accept thread owns it.
class ConnectionTable {
 public:
  // How long a connection has received nothing; nullopt if it is already gone.
  using IdleProbe = std::function<std::optional<absl::Duration>(int64_t id)>;

  struct Admission {
    enum Verdict { kAdmit, kRefuseSourceFull, kRefuseFull } verdict = kAdmit;
    std::optional<int64_t> evict;  // when admitted at the total cap: close this one first
  };

  explicit ConnectionTable(ConnectionLimits limits) : limits_(limits) {}

  // Decides for a new connection from `source` (an IP address). A source at its cap is refused.
  // At the total cap the connection idle the longest (asked through `idle`) is named for
  // eviction; with nothing to evict the new one is refused.
  Admission Admit(const std::string& source, const IdleProbe& idle) const;

  void Add(int64_t id, const std::string& source);
  // Forgets `id` (closed or evicted); no-op if unknown.
  void Remove(int64_t id);

  size_t size() const { return by_id_.size(); }
  // The most connections held at once since the previous call (or since construction); then
  // starts over from size(). A burst that comes and goes between two calls is seen here.
  size_t TakePeak();
  size_t from(const std::string& source) const;
  // Ids from the oldest to the newest.
  std::vector<int64_t> Ids() const;

 private:
  std::optional<int64_t> MostIdle(const IdleProbe& idle) const;

  ConnectionLimits limits_;
  int64_t next_seq_ = 0;
  std::map<int64_t, int64_t> by_seq_;  // admission order -> id
  struct Entry {
    int64_t seq;
    std::string source;
  };
  std::unordered_map<int64_t, Entry> by_id_;
  std::unordered_map<std::string, size_t> per_source_;
  size_t peak_ = 0;  // the most held at once since the last TakePeak()
};

}  // namespace kb

#endif  // KB_KEYBROKER_SERVER_CONNECTION_TABLE_H_
