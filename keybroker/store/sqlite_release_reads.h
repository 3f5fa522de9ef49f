#ifndef KB_KEYBROKER_STORE_SQLITE_RELEASE_READS_H_
#define KB_KEYBROKER_STORE_SQLITE_RELEASE_READS_H_

#include <memory>

#include "keybroker/store/challenge_store.h"
#include "keybroker/store/offline_revocations.h"
#include "keybroker/store/release_reads.h"
#include "keybroker/store/sqlite_db.h"
#include "keybroker/store/sqlite_stores.h"

namespace kb {

// The SQLite store's part of a release: the challenge spent in `challenges` (keybrokerd's
// memory), then every read the release needs (the attestation key's machine, the deny list, the
// key with its policy and version, the version's sealed material, whether the machine holds an
// offline grant) under one lock of the connection and in one read transaction, so one snapshot
// and one pair of SQLite's file locks instead of a lock and a snapshot per read. The sealed
// material is opened only when the release calls `material`; the operator's revocation of
// offline grace is read only when the release calls `revocation`. Thread-safe; the arguments
// must outlive it.
class SqliteReleaseReads final : public ReleaseReads {
 public:
  SqliteReleaseReads(std::shared_ptr<SqliteDb> db, ChallengeStore* challenges,
                     const SqliteKeyStore* keys, OfflineRevocations* revocations)
      : db_(std::move(db)), challenges_(challenges), keys_(keys), revocations_(revocations) {}
  absl::StatusOr<ReleaseRecords> Read(const ReleaseQuestion& question) override;

 private:
  // The reads after the challenge's spend. Caller holds db_->Lock() inside a read transaction.
  absl::Status ReadRecords(const ReleaseQuestion& question, ReleaseRecords& out);
  // The key, its version and the version's sealed material; the grant. Same caller.
  absl::Status ReadKey(const ReleaseQuestion& question, ReleaseRecords& out);

  std::shared_ptr<SqliteDb> db_;
  ChallengeStore* const challenges_;
  const SqliteKeyStore* const keys_;
  OfflineRevocations* const revocations_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_SQLITE_RELEASE_READS_H_
