#ifndef KB_KEYBROKER_STORE_POSTGRES_PG_ROWS_H_
#define KB_KEYBROKER_STORE_POSTGRES_PG_ROWS_H_

// Records read from result columns that start at `first`: the stores' SELECT lists and the
// release read's joined row (pg_release_reads.cc) share them.
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "keybroker/store/key_store.h"
#include "keybroker/store/machine_denylist.h"
#include "keybroker/store/offline_revocations.h"
#include "keybroker/store/postgres/pg_connection.h"

namespace kb {

// A key with its policy (keys k, policies p): the first eight of the nine columns PgKeyRow
// reads. The ninth is its active version, kPgActiveVersion or a join's column holding it.
inline constexpr absl::string_view kPgKeyColumns =
    "k.key_id, k.size_bytes, k.latest_version, k.disabled, k.description, k.created_at, "
    "k.policy_version, COALESCE(p.policy_json, '')";
// The active version of key k: its newest version not retired (0: none).
inline constexpr absl::string_view kPgActiveVersion =
    "(SELECT COALESCE(MAX(v.version), 0) FROM key_versions v WHERE v.key_id = k.key_id AND NOT "
    "v.retired)";

inline KeyRecord PgKeyRow(const PgResult& r, int row, int first = 0) {
  KeyRecord k;
  k.key_id = r.Text(row, first);
  k.size_bytes = static_cast<uint32_t>(r.Int(row, first + 1));
  k.latest_version = static_cast<uint32_t>(r.Int(row, first + 2));
  k.disabled = r.Text(row, first + 3) == "t";
  k.description = r.Text(row, first + 4);
  k.created_at = absl::FromUnixMillis(r.Int(row, first + 5));
  k.policy_version = static_cast<uint64_t>(r.Int(row, first + 6));
  k.policy_json = r.Text(row, first + 7);
  k.active_version = static_cast<uint32_t>(r.Int(row, first + 8));
  return k;
}

// machine, reason, denied_by, denied_at.
inline DeniedMachineRecord PgDeniedRow(const PgResult& r, int row, int first = 0) {
  return {r.Text(row, first), r.Text(row, first + 1), r.Text(row, first + 2),
          absl::FromUnixMillis(r.Int(row, first + 3))};
}

// key_id, machine, reason, revoked_by, revoked_at.
inline OfflineRevocationRecord PgRevocationRow(const PgResult& r, int row, int first = 0) {
  return {r.Text(row, first), r.Text(row, first + 1), r.Text(row, first + 2),
          r.Text(row, first + 3), absl::FromUnixMillis(r.Int(row, first + 4))};
}

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_POSTGRES_PG_ROWS_H_
