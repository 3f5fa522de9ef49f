#ifndef KB_KEYBROKER_STORE_SEALING_KEKS_H_
#define KB_KEYBROKER_STORE_SEALING_KEKS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secret_bytes.h"
#include "keybroker/store/kek.h"
#include "keybroker/store/kek_rotation.h"

namespace kb {

// What a key store database says about its KEKs, read by the backend (SQLite or PostgreSQL)
// before SealingKeks::Match().
struct StoredKeks {
  // One check value per KEK the store has known, numbered in the order they were introduced.
  struct CheckValue {
    int64_t id = 0;
    std::string sealed, description, fingerprint;
  };
  // A key version, for a store from before check values: its KEK must open it.
  struct FirstVersion {
    std::string key_id;
    uint32_t version = 0;
    std::string sealed;
  };
  std::vector<CheckValue> check_values;               // by id
  std::vector<std::pair<int64_t, int64_t>> versions;  // (KEK id, key versions sealed under it)
  std::optional<FirstVersion> first_version;          // read when check_values is empty
};

// A key version as stored: sealed under the store's KEK number `kek_id`.
struct SealedVersion {
  std::string key_id;
  uint32_t version = 0;
  int64_t kek_id = 0;
  std::string sealed;
};

// The configured KEKs of a key store, each matched to the store's number for it, and what
// seals and opens key versions (AAD "key_id/version"). Backend-independent: the SQLite and the
// PostgreSQL key store both read StoredKeks and write the check value that Match() asks for.
// Immutable after Match(); thread-safe as the KEKs are.
class SealingKeks {
 public:
  // Each KEK of `keks` against `stored`: FAILED_PRECONDITION naming the configured KEK and the
  // one the store was written with when they differ, so that a wrong or changed KEK stops the
  // broker at start instead of refusing every release; the same when a previous KEK is not one
  // the store knows, or key versions are sealed under a KEK that is not configured. A current
  // KEK the store does not know is taken as the start of a rotation only when previous KEKs are
  // configured. An HSM that cannot answer keeps its error code (never "wrong KEK").
  static absl::StatusOr<SealingKeks> Match(KekSet keks, const StoredKeks& stored);

  // Whether the current KEK is new to the store: its check value (CheckValue()) must be stored
  // under current_id() before anything is sealed under it.
  bool current_is_new() const { return current_is_new_; }
  absl::StatusOr<StoredKeks::CheckValue> CheckValue() const;
  int64_t current_id() const { return current_id_; }

  absl::StatusOr<std::string> Seal(absl::string_view key_id, uint32_t version,
                                   const SecretBytes& material) const;
  // `sealed` opened with the KEK `kek_id`; DATA_LOSS names the key version, other errors (an
  // HSM that cannot answer) keep their code.
  absl::StatusOr<SecretBytes> Open(absl::string_view key_id, uint32_t version,
                                   absl::string_view sealed, int64_t kek_id) const;
  KekUse::Configured Configured(int64_t kek_id) const;
  // A KEK rotation's step for one version: opens it under its KEK and seals it under the
  // current one (`v.sealed` replaced; `v.kek_id` kept, for the conditional update).
  absl::Status Reseal(SealedVersion& v) const;
  // Reseal of each version of `batch` in turn, within half of the time left to the request's
  // deadline (RequestDeadline). When one fails after others succeeded (an HSM too slow for the
  // whole batch, say), `batch` keeps those that succeeded, to be stored in the time left, and
  // the next step meets the failure again; the first one's error is returned.
  absl::Status ResealBatch(std::vector<SealedVersion>& batch) const;

 private:
  explicit SealingKeks(KekSet keks) : keks_(std::move(keks)) {}
  absl::Status MatchAll(const StoredKeks& stored);
  absl::Status CheckFirstVersion(const StoredKeks& stored) const;
  absl::Status WrongKek(absl::string_view expected) const;

  KekSet keks_;
  int64_t current_id_ = 0;
  bool current_is_new_ = false;
  absl::flat_hash_map<int64_t, Kek*> by_id_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_SEALING_KEKS_H_
