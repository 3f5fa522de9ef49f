#ifndef KB_KEYBROKER_STORE_SQLITE_LOCKED_READS_H_
#define KB_KEYBROKER_STORE_SQLITE_LOCKED_READS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "keybroker/store/attestation_key_registry.h"
#include "keybroker/store/key_store.h"
#include "keybroker/store/machine_denylist.h"
#include "keybroker/store/sqlite_db.h"

namespace kb {

// The reads of the SQLite stores that a release makes, each one statement on a connection whose
// Lock() the caller holds: the role stores (sqlite_records.cc, sqlite_key_store.cc,
// sqlite_machine_key_state.cc) call them one at a time, SqliteReleaseReads all of them under
// one lock and in one read transaction.

// The registration of the attestation key named `name`; nullopt when it is not registered.
absl::StatusOr<std::optional<RegisteredAk>> SqliteFindAk(SqliteDb& db, absl::string_view name);

// `machine`'s deny-list entry; nullopt when it is not denied.
absl::StatusOr<std::optional<DeniedMachineRecord>> SqliteFindDenied(SqliteDb& db,
                                                                    absl::string_view machine);

// The key with its current policy and active version; nullopt when there is no such key.
absl::StatusOr<std::optional<KeyRecord>> SqliteFindKey(SqliteDb& db, absl::string_view key_id);

// Every version of the key, oldest first; empty when there is no such key.
absl::StatusOr<std::vector<KeyVersionRecord>> SqliteKeyVersions(SqliteDb& db,
                                                                absl::string_view key_id);

// A key version's material as stored: sealed under the KEK whose id it names.
struct SqliteSealedVersion {
  std::string sealed;
  int64_t kek_id = 0;
};
// nullopt when the key has no such version.
absl::StatusOr<std::optional<SqliteSealedVersion>> SqliteFindSealed(SqliteDb& db,
                                                                    absl::string_view key_id,
                                                                    uint32_t version);

// Whether `machine` holds an offline grant for `key_id`.
absl::StatusOr<bool> SqliteHoldsGrant(SqliteDb& db, absl::string_view key_id,
                                      absl::string_view machine);

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_SQLITE_LOCKED_READS_H_
