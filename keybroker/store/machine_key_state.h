#ifndef KB_KEYBROKER_STORE_MACHINE_KEY_STATE_H_
#define KB_KEYBROKER_STORE_MACHINE_KEY_STATE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kb {

// A guest's attested confirmation that its volume is enrolled with `version` of `key_id` only.
struct EnrolmentConfirmation {
  std::string key_id;
  std::string machine;
  uint32_t version = 0;
  absl::Time confirmed_at;
};

// The latest confirmation per key and machine. Thread-safe. UNAVAILABLE when the store is down.
class EnrolmentConfirmations {
 public:
  virtual ~EnrolmentConfirmations() = default;
  // Records `confirmation`, replacing the machine's earlier one for the same key.
  virtual absl::Status Confirm(const EnrolmentConfirmation& confirmation) = 0;
  // The confirmations of `key_id`, by machine.
  virtual absl::StatusOr<std::vector<EnrolmentConfirmation>> ListConfirmations(
      absl::string_view key_id) = 0;
};

// A machine's offline grant: the latest allowed release of `key_id` to it granted
// `offline_boots` > 0, so its guest holds a vTPM-sealed copy of `key_version`.
struct OfflineGrantRecord {
  std::string key_id;
  std::string machine;
  uint32_t key_version = 0;
  uint32_t offline_boots = 0;
  absl::Time granted_at;
};

// Offline grants per key and machine, kept current by every allowed release. Thread-safe.
// UNAVAILABLE when the store is down.
class OfflineGrants {
 public:
  virtual ~OfflineGrants() = default;
  // After an allowed release: records the grant when offline_boots > 0, else removes the
  // machine's entry for the key (its guest drops the sealed copy).
  virtual absl::Status RecordRelease(const OfflineGrantRecord& release) = 0;
  // The grants of `key_id` (empty: every key), by key id then machine.
  virtual absl::StatusOr<std::vector<OfflineGrantRecord>> ListGrants(absl::string_view key_id) = 0;
};

// An operator's record that a machine is gone (keybrokerctl machine forget).
struct ForgottenMachineRecord {
  std::string machine;
  std::string forgotten_by;
  absl::Time forgotten_at;
};

// What forgetting a machine removed.
struct ForgetCounts {
  int64_t aks = 0;
  int64_t confirmations = 0;
  int64_t grants = 0;
};

// The per-machine tables (column `machine`) that Forget empties, each with the count its rows
// go into; shared by every store so that none forgets a table.
struct ForgetTable {
  const char* table;
  int64_t ForgetCounts::*count;
};
inline constexpr ForgetTable kForgetTables[] = {
    {"attestation_keys", &ForgetCounts::aks},
    {"enrolment_confirmations", &ForgetCounts::confirmations},
    {"offline_grants", &ForgetCounts::grants},
};

// Machines an operator forgot. Thread-safe. UNAVAILABLE when the store is down.
class ForgottenMachines {
 public:
  virtual ~ForgottenMachines() = default;
  // In one transaction: removes the machine's registered AKs, enrolment confirmations and
  // offline grants, and records it as forgotten at `record.forgotten_at` (replacing an earlier
  // record). Its deny-list entry and offline revocations stay: forgetting lifts no refusal.
  virtual absl::StatusOr<ForgetCounts> Forget(const ForgottenMachineRecord& record) = 0;
  // Every forgotten machine, by name.
  virtual absl::StatusOr<std::vector<ForgottenMachineRecord>> ListForgotten() = 0;
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_MACHINE_KEY_STATE_H_
