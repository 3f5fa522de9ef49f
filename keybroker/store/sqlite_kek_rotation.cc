// SqliteKeyStore as KekRotation: which KEKs seal what, and re-sealing under the current one.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/store/sqlite_stores.h"

namespace kb {

absl::StatusOr<std::vector<KekUse>> SqliteKeyStore::ListKeks() {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT k.id, k.description, k.fingerprint, (SELECT "
                                         "COUNT(*) FROM key_versions v WHERE v.kek_id = k.id) "
                                         "FROM keks k ORDER BY k.id"));
  std::vector<KekUse> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    KekUse use;
    use.id = st.Int(0);
    use.description = st.Text(1);
    use.fingerprint = st.Text(2);
    use.key_versions = static_cast<uint64_t>(st.Int(3));
    use.configured = keks_.Configured(use.id);
    out.push_back(std::move(use));
  }
}

absl::StatusOr<RewrapProgress> SqliteKeyStore::RewrapUnderCurrentKek(uint32_t max_versions) {
  std::vector<SealedVersion> batch;
  {
    auto lock = db_->Lock();
    ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT key_id, version, kek_id, sealed FROM "
                                           "key_versions WHERE kek_id != ? ORDER BY key_id, "
                                           "version LIMIT ?"));
    st.Bind(1, keks_.current_id()).Bind(2, int64_t{max_versions});
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      batch.push_back({st.Text(0), static_cast<uint32_t>(st.Int(1)), st.Int(2), st.Text(3)});
    }
  }
  // The KEKs work outside the database lock: releases go on meanwhile.
  RETURN_IF_ERROR(keks_.ResealBatch(batch));
  RewrapProgress progress;
  auto lock = db_->Lock();
  {
    SqliteTransaction tx(*db_);
    RETURN_IF_ERROR(tx.status());
    for (const SealedVersion& p : batch) {
      // Only if nothing re-sealed it meanwhile (another replica's rotation).
      ASSIGN_OR_RETURN(auto up, db_->Prepare("UPDATE key_versions SET sealed = ?, kek_id = ? "
                                             "WHERE key_id = ? AND version = ? AND kek_id = ?"));
      RETURN_IF_ERROR(up.BindBlob(1, p.sealed)
                          .Bind(2, keks_.current_id())
                          .Bind(3, p.key_id)
                          .Bind(4, int64_t{p.version})
                          .Bind(5, p.kek_id)
                          .Run());
      progress.rewrapped += static_cast<uint64_t>(db_->Changes());
    }
    RETURN_IF_ERROR(tx.Commit());
  }
  ASSIGN_OR_RETURN(auto count, db_->Prepare("SELECT COUNT(*) FROM key_versions WHERE kek_id != ?"));
  count.Bind(1, keks_.current_id());
  ASSIGN_OR_RETURN(bool row, count.Step());
  progress.remaining = row ? static_cast<uint64_t>(count.Int(0)) : 0;
  return progress;
}

}  // namespace kb
