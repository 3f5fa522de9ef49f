// PgReleaseReads: the store's part of a release in one statement (instead of one round trip
// each for the challenge, the attestation key, the deny list, the key and its material).
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/store/postgres/pg_rows.h"
#include "keybroker/store/postgres/pg_stores.h"

namespace kb {
namespace {

// One row whatever exists: the key's nine columns (kPgKeyColumns and the active version, read
// once by the lateral join `a` that also picks the version to wrap), whether the key exists,
// the deny entry (4), the revocation (5), the version to wrap (3) with its sealed material (2),
// whether the machine holds an offline grant for the key, the id of the challenge spent (NULL
// when it was spent before or expired) and the attested machine (NULL when the AK is not
// registered).
constexpr int kKeyExists = 9, kDenied = 10, kRevocation = 14, kVersion = 19, kGrant = 24,
              kChallenge = 25, kMachine = 26;

const std::string& ReleaseQuery() {
  static const std::string* const kQuery = new std::string(absl::StrCat(
      // The spend (ChallengeMac's challenges): of two replicas redeeming the same challenge,
      // the second finds its row in spent_challenges. $6 is its expiry.
      "WITH c AS (", SpendChallengeSql(1, 6), " RETURNING id) SELECT ", kPgKeyColumns,
      ", a.n, k.key_id IS NOT NULL, d.machine, d.reason, d.denied_by, d.denied_at, r.key_id, "
      "r.machine, r.reason, r.revoked_by, r.revoked_at, v.version, v.retired, v.created_at, "
      "v.sealed, v.kek_id, EXISTS(SELECT 1 FROM offline_grants g WHERE g.key_id = q.key_id AND "
      "g.machine = q.machine), c.id, q.machine FROM (SELECT $2::TEXT "
      "AS key_id, CASE WHEN length($5::BYTEA) = 0 THEN $4::TEXT ELSE (SELECT machine FROM "
      "attestation_keys WHERE ak_name = $5) END AS machine, $3::BIGINT AS version) q LEFT JOIN c "
      "ON TRUE LEFT JOIN denied_machines d ON d.machine = q.machine LEFT JOIN keys k ON "
      "k.key_id = q.key_id LEFT JOIN policies p ON p.key_id = k.key_id AND p.version = "
      "k.policy_version LEFT JOIN LATERAL (SELECT COALESCE(MAX(version), 0) AS n FROM "
      "key_versions WHERE key_id = k.key_id AND NOT retired) a ON TRUE LEFT JOIN key_versions v "
      "ON v.key_id = k.key_id AND v.version = CASE WHEN q.version = 0 THEN a.n ELSE q.version "
      "END LEFT JOIN LATERAL (SELECT key_id, machine, reason, revoked_by, revoked_at FROM "
      // The machine's own revocation sorts before the all-machines one ('').
      "offline_revocations WHERE key_id = q.key_id AND (machine = q.machine OR machine = '') "
      "ORDER BY machine DESC LIMIT 1) r ON TRUE"));
  return *kQuery;
}

// The statement for `q`, which spends `mine` (a verified challenge), on a connection of
// `pool` that first sweeps when `sweep` says so.
absl::StatusOr<PgResult> SpendAndRead(PgPool& pool, PgChallengeSweep& sweep,
                                      const ReleaseQuestion& q, const Challenge& mine) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool.Acquire());
  RETURN_IF_ERROR(sweep.BeforeSpend(*conn));
  return conn->Exec(ReleaseQuery(),
                    {PgParam::Text(mine.id), PgParam::Text(q.key_id), PgParam::Int(q.version),
                     PgParam::Text(q.machine), PgParam::Bytes(q.attestation_key),
                     PgParam::Int(absl::ToUnixMillis(mine.expires_at))});
}

}  // namespace

absl::StatusOr<ReleaseRecords> PgReleaseReads::Read(const ReleaseQuestion& q) {
  ReleaseRecords out;
  // Verified before any round trip: an id that is not a challenge of ours costs none.
  const std::optional<Challenge> mine = mac_->Verify(q.challenge_id, q.key_id);
  if (!mine.has_value()) return out;
  ASSIGN_OR_RETURN(PgResult r, SpendAndRead(*pool_, *sweep_, q, *mine));
  if (r.IsNull(0, kChallenge)) return out;
  out.challenge = *mine;
  if (r.IsNull(0, kMachine)) return out;
  out.machine = r.Text(0, kMachine);
  if (!r.IsNull(0, kDenied)) out.denied = PgDeniedRow(r, 0, kDenied);
  if (out.denied.has_value() || r.Text(0, kKeyExists) != "t") return out;
  out.key = PgKeyRow(r, 0, 0);
  out.may_hold_offline_grant = r.Text(0, kGrant) == "t";
  std::optional<OfflineRevocationRecord> revocation;
  if (!r.IsNull(0, kRevocation)) revocation = PgRevocationRow(r, 0, kRevocation);
  out.revocation = [revocation = std::move(revocation)]()
      -> absl::StatusOr<std::optional<OfflineRevocationRecord>> { return revocation; };
  if (r.IsNull(0, kVersion)) return out;
  out.version =
      KeyVersionRecord{static_cast<uint32_t>(r.Int(0, kVersion)), r.Text(0, kVersion + 1) == "t",
                       absl::FromUnixMillis(r.Int(0, kVersion + 2))};
  out.material = [keys = keys_, key = std::string(q.key_id), v = out.version->version,
                  sealed = r.Bytes(0, kVersion + 3), kek_id = r.Int(0, kVersion + 4)] {
    return keys->OpenSealed(key, v, sealed, kek_id);
  };
  return out;
}

}  // namespace kb
