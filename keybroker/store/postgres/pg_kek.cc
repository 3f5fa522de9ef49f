// PgKeyStore's KEKs: the check at start (SealingKeks) and the rotation (KekRotation).
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/store/postgres/pg_stores.h"

namespace kb {
namespace {

// The advisory lock key under which replicas check and record KEKs ("kbkeks").
constexpr int64_t kKekLock = 0x6b626b656b73;

absl::StatusOr<StoredKeks> ReadStoredKeks(PgConnection& conn) {
  StoredKeks stored;
  ASSIGN_OR_RETURN(PgResult rows, conn.Exec("SELECT id, sealed, description, fingerprint FROM "
                                            "keks ORDER BY id"));
  for (int i = 0; i < rows.rows(); ++i) {
    stored.check_values.push_back(
        {rows.Int(i, 0), rows.Bytes(i, 1), rows.Text(i, 2), rows.Text(i, 3)});
  }
  ASSIGN_OR_RETURN(PgResult counts, conn.Exec("SELECT kek_id, COUNT(*) FROM key_versions GROUP "
                                              "BY kek_id ORDER BY kek_id"));
  for (int i = 0; i < counts.rows(); ++i) {
    stored.versions.emplace_back(counts.Int(i, 0), counts.Int(i, 1));
  }
  if (!stored.check_values.empty()) return stored;
  ASSIGN_OR_RETURN(PgResult first, conn.Exec("SELECT key_id, version, sealed FROM key_versions "
                                             "ORDER BY key_id, version LIMIT 1"));
  if (first.rows() > 0) {
    stored.first_version = {first.Text(0, 0), static_cast<uint32_t>(first.Int(0, 1)),
                            first.Bytes(0, 2)};
  }
  return stored;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgKeyStore>> PgKeyStore::Create(std::shared_ptr<PgPool> pool,
                                                               KekSet keks, bool record) {
  std::optional<SealingKeks> sealing;
  {
    ASSIGN_OR_RETURN(PgPool::Lease conn, pool->Acquire());
    PgTransaction tx(*conn);
    RETURN_IF_ERROR(tx.status());
    RETURN_IF_ERROR(
        conn->Exec("SELECT pg_advisory_xact_lock($1)", {PgParam::Int(kKekLock)}).status());
    ASSIGN_OR_RETURN(StoredKeks stored, ReadStoredKeks(*conn));
    ASSIGN_OR_RETURN(sealing, SealingKeks::Match(std::move(keks), stored));
    if (sealing->current_is_new() && record) {
      ASSIGN_OR_RETURN(StoredKeks::CheckValue value, sealing->CheckValue());
      RETURN_IF_ERROR(
          conn->Exec("INSERT INTO keks(id, sealed, description, fingerprint) "
                     "VALUES($1, $2, $3, $4)",
                     {PgParam::Int(value.id), PgParam::Bytes(value.sealed),
                      PgParam::Text(value.description), PgParam::Text(value.fingerprint)})
              .status());
    }
    RETURN_IF_ERROR(tx.Commit());
  }
  return std::unique_ptr<PgKeyStore>(new PgKeyStore(std::move(pool), *std::move(sealing)));
}

absl::StatusOr<std::vector<KekUse>> PgKeyStore::ListKeks() {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r, conn->Exec("SELECT k.id, k.description, k.fingerprint, (SELECT "
                                          "COUNT(*) FROM key_versions v WHERE v.kek_id = k.id) "
                                          "FROM keks k ORDER BY k.id"));
  std::vector<KekUse> out;
  for (int i = 0; i < r.rows(); ++i) {
    KekUse use;
    use.id = r.Int(i, 0);
    use.description = r.Text(i, 1);
    use.fingerprint = r.Text(i, 2);
    use.key_versions = static_cast<uint64_t>(r.Int(i, 3));
    use.configured = keks_.Configured(use.id);
    out.push_back(std::move(use));
  }
  return out;
}

absl::StatusOr<RewrapProgress> PgKeyStore::RewrapUnderCurrentKek(uint32_t max_versions) {
  std::vector<SealedVersion> batch;
  {
    ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
    ASSIGN_OR_RETURN(PgResult r,
                     conn->Exec("SELECT key_id, version, kek_id, sealed FROM "
                                "key_versions WHERE kek_id != $1 ORDER BY key_id, "
                                "version LIMIT $2",
                                {PgParam::Int(keks_.current_id()), PgParam::Int(max_versions)}));
    for (int i = 0; i < r.rows(); ++i) {
      batch.push_back(
          {r.Text(i, 0), static_cast<uint32_t>(r.Int(i, 1)), r.Int(i, 2), r.Bytes(i, 3)});
    }
  }
  // The KEKs work without holding a connection: releases go on meanwhile.
  RETURN_IF_ERROR(keks_.ResealBatch(batch));
  RewrapProgress progress;
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  {
    PgTransaction tx(*conn);
    RETURN_IF_ERROR(tx.status());
    for (const SealedVersion& p : batch) {
      // Only if nothing re-sealed it meanwhile (another replica's rotation).
      ASSIGN_OR_RETURN(
          PgResult up,
          conn->Exec("UPDATE key_versions SET sealed = $1, kek_id = $2 "
                     "WHERE key_id = $3 AND version = $4 AND "
                     "kek_id = $5",
                     {PgParam::Bytes(p.sealed), PgParam::Int(keks_.current_id()),
                      PgParam::Text(p.key_id), PgParam::Int(p.version), PgParam::Int(p.kek_id)}));
      progress.rewrapped += static_cast<uint64_t>(up.affected());
    }
    RETURN_IF_ERROR(tx.Commit());
  }
  ASSIGN_OR_RETURN(PgResult count, conn->Exec("SELECT COUNT(*) FROM key_versions WHERE "
                                              "kek_id != $1",
                                              {PgParam::Int(keks_.current_id())}));
  progress.remaining = static_cast<uint64_t>(count.Int(0, 0));
  return progress;
}

}  // namespace kb
