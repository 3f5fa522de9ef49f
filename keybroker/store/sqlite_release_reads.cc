#include "keybroker/store/sqlite_release_reads.h"

#include <optional>
#include <utility>

#include "common/status_macros.h"
#include "keybroker/store/sqlite_locked_reads.h"

namespace kb {

absl::StatusOr<ReleaseRecords> SqliteReleaseReads::Read(const ReleaseQuestion& question) {
  ReleaseRecords out;
  ASSIGN_OR_RETURN(out.challenge, SpendChallenge(*challenges_, question));
  if (!out.challenge.has_value()) return out;
  auto lock = db_->Lock();
  SqliteReadTransaction snapshot(*db_);
  RETURN_IF_ERROR(snapshot.status());
  RETURN_IF_ERROR(ReadRecords(question, out));
  return out;
}

absl::Status SqliteReleaseReads::ReadRecords(const ReleaseQuestion& question, ReleaseRecords& out) {
  if (question.attestation_key.empty()) {
    out.machine = std::string(question.machine);
  } else {
    ASSIGN_OR_RETURN(std::optional<RegisteredAk> ak, SqliteFindAk(*db_, question.attestation_key));
    if (!ak.has_value()) return absl::OkStatus();
    out.machine = std::move(ak->machine);
  }
  if (out.machine.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(out.denied, SqliteFindDenied(*db_, out.machine));
  if (out.denied.has_value()) return absl::OkStatus();
  return ReadKey(question, out);
}

absl::Status SqliteReleaseReads::ReadKey(const ReleaseQuestion& question, ReleaseRecords& out) {
  ASSIGN_OR_RETURN(out.key, SqliteFindKey(*db_, question.key_id));
  if (!out.key.has_value()) return absl::OkStatus();
  ASSIGN_OR_RETURN(out.version, AskedVersion(question.version, *out.key, [&] {
                     return SqliteKeyVersions(*db_, question.key_id);
                   }));
  const uint32_t wrapped = out.version.has_value() ? out.version->version : 0;
  std::optional<SqliteSealedVersion> sealed;
  if (wrapped != 0) {
    ASSIGN_OR_RETURN(sealed, SqliteFindSealed(*db_, question.key_id, wrapped));
  }
  ASSIGN_OR_RETURN(out.may_hold_offline_grant,
                   SqliteHoldsGrant(*db_, question.key_id, out.machine));
  out.revocation = RevocationReader(revocations_, question.key_id, out.machine);
  out.material = [keys = keys_, key = std::string(question.key_id), wrapped,
                  sealed = std::move(sealed)] { return keys->OpenSealed(key, wrapped, sealed); };
  return absl::OkStatus();
}

}  // namespace kb
