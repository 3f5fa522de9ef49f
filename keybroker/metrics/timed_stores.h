#ifndef KB_KEYBROKER_METRICS_TIMED_STORES_H_
#define KB_KEYBROKER_METRICS_TIMED_STORES_H_

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "keybroker/store/broker_stores.h"

namespace kb {

// Told how long each store call took, by operation ("challenge_consume", "audit_append", ...:
// names fixed in timed_stores.cc). Thread-safe.
class StoreLatencyObserver {
 public:
  virtual ~StoreLatencyObserver() = default;
  virtual void ObserveStore(absl::string_view operation, absl::Duration latency) = 0;
};

// `stores` with the stores on the release path (challenges, keys, audit, deny list, offline
// revocations and grants) wrapped so that every call is timed into `observer`; the others are
// left as they are. The wrappers only measure and forward. `stores` and `observer` must
// outlive the result's use (the result co-owns the wrappers).
BrokerStores TimedStores(const BrokerStores& stores, StoreLatencyObserver* observer);

}  // namespace kb

#endif  // KB_KEYBROKER_METRICS_TIMED_STORES_H_
