#ifndef KB_KEYBROKER_KEK_DEADLINE_BOUND_KEK_H_
#define KB_KEYBROKER_KEK_DEADLINE_BOUND_KEK_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secret_bytes.h"
#include "keybroker/store/kek.h"

namespace kb {

// What the calls of DeadlineBoundKeks have come to, for keybrokerd's metrics: an HSM that stops
// answering shows as `waiting` climbing to max_calls. One tally may be shared by several (the
// current KEK and the previous ones of a rotation).
struct KekCallTally {
  std::atomic<int64_t> waiting{0};     // queued or in the KEK now, their callers waiting or gone
  std::atomic<uint64_t> abandoned{0};  // calls whose request left at its deadline before the answer
  std::atomic<uint64_t> refused{0};    // calls refused at once: max_calls waiting, or no thread
};

// A KEK whose calls a request stops waiting for at its RequestDeadline. An HSM that stops
// answering (a network HSM behind a partition, a wedged token or daemon) then fails releases
// with UNAVAILABLE in time for the guest to try its next broker, instead of holding them, and
// gRPC's threads with them, until the HSM's own timeout, if it has one.
//
// A PKCS#11 call cannot be cut short, so calls made under a request deadline run on this
// object's threads and the caller waits for the answer until its deadline. A call whose caller
// left runs to its end on its thread and its result is dropped (a key version's material is
// zeroized with it). At most `max_calls` calls are waited for or still running at once; beyond
// that a call fails at once with UNAVAILABLE, so a hung HSM holds at most `max_calls` threads.
// A call made outside any request deadline (start-up, --check-config, migrations) runs on the
// caller's thread and waits as long as the HSM takes, as before.
//
// Destroying this object does not wait for calls still running. If one is still queued or in
// the KEK, the KEK is never destroyed (a call that hangs may return at any time, the process's
// exit included: a PKCS#11 module is not finalized under it, though the module's own exit-time
// clean-up still runs); otherwise it is destroyed here.
class DeadlineBoundKek final : public Kek {
 public:
  // `tally` counts its calls (null: a tally of its own).
  DeadlineBoundKek(std::unique_ptr<Kek> kek, size_t max_calls,
                   std::shared_ptr<KekCallTally> tally = nullptr);
  ~DeadlineBoundKek() override;
  DeadlineBoundKek(const DeadlineBoundKek&) = delete;
  DeadlineBoundKek& operator=(const DeadlineBoundKek&) = delete;

  absl::StatusOr<std::string> Seal(const SecretBytes& plaintext, absl::string_view aad) override;
  absl::StatusOr<SecretBytes> Open(absl::string_view sealed, absl::string_view aad) override;
  std::string Describe() const override { return description_; }
  std::string Fingerprint() const override { return fingerprint_; }

  struct Calls;  // the threads' shared state (deadline_bound_kek.cc)

 private:
  const std::string description_;
  const std::string fingerprint_;
  std::unique_ptr<Kek> kek_;  // kept for the process's life if a call is in it at the end
  const std::shared_ptr<Calls> calls_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_KEK_DEADLINE_BOUND_KEK_H_
