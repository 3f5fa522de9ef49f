#ifndef KB_KEYBROKER_STORE_SQLITE_STORES_H_
#define KB_KEYBROKER_STORE_SQLITE_STORES_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/secret_bytes.h"
#include "keybroker/store/attestation_key_registry.h"
#include "keybroker/store/audit_log.h"
#include "keybroker/store/broker_stores.h"
#include "keybroker/store/challenge_store.h"
#include "keybroker/store/group_commit.h"
#include "keybroker/store/kek.h"
#include "keybroker/store/kek_rotation.h"
#include "keybroker/store/key_store.h"
#include "keybroker/store/machine_denylist.h"
#include "keybroker/store/machine_key_state.h"
#include "keybroker/store/offline_revocations.h"
#include "keybroker/store/sealing_keks.h"
#include "keybroker/store/sqlite_db.h"
#include "keybroker/store/sqlite_locked_reads.h"

namespace kb {

// The embedded store: every role interface backed by one SQLite database (WAL,
// synchronous=FULL). Key material is sealed under the KEK (Kek::Seal), AAD "key_id/version".
class SqliteKeyStore final : public KeyStore, public KekRotation {
 public:
  // Whether Create() may record a KEK's check value in the database (a new database, one from
  // before check values, or a new current KEK next to previous ones).
  enum class KekCheck { kVerifyAndRecord, kVerifyOnly };
  // The key store over `db`, its keys sealed under `keks` once they match the check values
  // stored with the keys (SealingKeks::Match; sqlite_kek_check.cc). With kVerifyAndRecord, a
  // current KEK new to the store (a new database, or a rotation) has its check value stored.
  static absl::StatusOr<std::unique_ptr<SqliteKeyStore>> Create(
      std::shared_ptr<SqliteDb> db, KekSet keks, KekCheck check = KekCheck::kVerifyAndRecord);
  static absl::StatusOr<std::unique_ptr<SqliteKeyStore>> Create(
      std::shared_ptr<SqliteDb> db, std::unique_ptr<Kek> kek,
      KekCheck check = KekCheck::kVerifyAndRecord) {
    KekSet keks;
    keks.current = std::move(kek);
    return Create(std::move(db), std::move(keks), check);
  }
  absl::Status CreateKey(const KeyRecord& record, const SecretBytes& material) override;
  absl::StatusOr<KeyRecord> GetKey(absl::string_view key_id) override;
  absl::StatusOr<std::vector<KeyRecord>> ListKeys() override;
  absl::StatusOr<SecretBytes> GetKeyMaterial(absl::string_view key_id, uint32_t version) override;
  absl::StatusOr<uint64_t> SetPolicy(absl::string_view key_id, absl::string_view policy_json,
                                     std::optional<uint64_t> expected_version) override;
  absl::Status SetDisabled(absl::string_view key_id, bool disabled) override;
  absl::Status AddVersion(absl::string_view key_id, uint32_t version, const SecretBytes& material,
                          absl::Time now) override;
  absl::Status RetireVersion(absl::string_view key_id, uint32_t version) override;
  absl::StatusOr<std::vector<KeyVersionRecord>> ListVersions(absl::string_view key_id) override;
  // KekRotation (sqlite_kek_rotation.cc).
  absl::StatusOr<std::vector<KekUse>> ListKeks() override;
  absl::StatusOr<RewrapProgress> RewrapUnderCurrentKek(uint32_t max_versions) override;
  // The material of `key_id` version `version` from its stored form (SqliteFindSealed);
  // NOT_FOUND when there is no such version (nullopt), DATA_LOSS when it fails to decrypt.
  absl::StatusOr<SecretBytes> OpenSealed(absl::string_view key_id, uint32_t version,
                                         const std::optional<SqliteSealedVersion>& sealed) const;

 private:
  SqliteKeyStore(std::shared_ptr<SqliteDb> db, SealingKeks keks)
      : db_(std::move(db)), keks_(std::move(keks)) {}
  std::shared_ptr<SqliteDb> db_;
  const SealingKeks keks_;
};

class SqliteAttestationKeyRegistry final : public AttestationKeyRegistry {
 public:
  explicit SqliteAttestationKeyRegistry(std::shared_ptr<SqliteDb> db) : db_(std::move(db)) {}
  absl::Status Register(const RegisteredAk& ak) override;
  absl::StatusOr<RegisteredAk> Lookup(absl::string_view name) override;
  absl::StatusOr<std::vector<RegisteredAk>> List() override;
  absl::StatusOr<RegisteredAk> Remove(absl::string_view name) override;

 private:
  std::shared_ptr<SqliteDb> db_;
};

class SqliteAuditLog final : public AuditLog {
 public:
  explicit SqliteAuditLog(std::shared_ptr<SqliteDb> db) : db_(std::move(db)) {}
  absl::Status Append(const AuditRecord& record) override;
  absl::StatusOr<std::vector<AuditRecord>> List(const AuditQuery& query) override;
  absl::StatusOr<AuditChainReport> Verify() override;
  absl::StatusOr<std::vector<MachineRelease>> LatestReleases(absl::string_view key_id) override;

 private:
  // Caller holds the DB lock. Links and inserts `batch` in one transaction.
  absl::Status WriteBatch(const std::vector<AuditRecord*>& batch);

  std::shared_ptr<SqliteDb> db_;
  // Concurrent Append() calls share one transaction and one fsync.
  GroupCommit<AuditRecord> commits_{kAuditRecordFloor};
};

class SqliteMachineDenyList final : public MachineDenyList {
 public:
  explicit SqliteMachineDenyList(std::shared_ptr<SqliteDb> db) : db_(std::move(db)) {}
  absl::Status Deny(const DeniedMachineRecord& record) override;
  absl::StatusOr<bool> Allow(absl::string_view machine) override;
  absl::StatusOr<std::optional<DeniedMachineRecord>> Find(absl::string_view machine) override;
  absl::StatusOr<std::vector<DeniedMachineRecord>> List() override;

 private:
  std::shared_ptr<SqliteDb> db_;
};

class SqliteOfflineRevocations final : public OfflineRevocations {
 public:
  explicit SqliteOfflineRevocations(std::shared_ptr<SqliteDb> db) : db_(std::move(db)) {}
  absl::Status Revoke(const OfflineRevocationRecord& record) override;
  absl::StatusOr<bool> Restore(absl::string_view key_id, absl::string_view machine) override;
  absl::StatusOr<std::optional<OfflineRevocationRecord>> Find(absl::string_view key_id,
                                                              absl::string_view machine) override;
  absl::StatusOr<std::vector<OfflineRevocationRecord>> List(absl::string_view key_id) override;

 private:
  std::shared_ptr<SqliteDb> db_;
};

// Enrolment confirmations and offline grants (sqlite_machine_key_state.cc).
class SqliteMachineKeyState final : public EnrolmentConfirmations,
                                    public OfflineGrants,
                                    public ForgottenMachines {
 public:
  explicit SqliteMachineKeyState(std::shared_ptr<SqliteDb> db) : db_(std::move(db)) {}
  absl::Status Confirm(const EnrolmentConfirmation& confirmation) override;
  absl::StatusOr<std::vector<EnrolmentConfirmation>> ListConfirmations(
      absl::string_view key_id) override;
  absl::Status RecordRelease(const OfflineGrantRecord& release) override;
  absl::StatusOr<std::vector<OfflineGrantRecord>> ListGrants(absl::string_view key_id) override;
  absl::StatusOr<ForgetCounts> Forget(const ForgottenMachineRecord& record) override;
  absl::StatusOr<std::vector<ForgottenMachineRecord>> ListForgotten() override;

 private:
  std::shared_ptr<SqliteDb> db_;
};

// Opens the broker database at `path`, creating the schema or migrating an older one
// (PRAGMA user_version; docs/config.md). FAILED_PRECONDITION when its directory is writable by
// others or its schema is newer than this code knows; existing database files that group or
// others can read are made 0600 first.
absl::StatusOr<std::shared_ptr<SqliteDb>> OpenBrokerDatabase(const std::string& path);

// Every store over the database at `path` (OpenBrokerDatabase), its keys sealed under `keks`.
absl::StatusOr<BrokerStores> OpenSqliteStores(const std::string& path, KekSet keks);

// What `keybrokerd --check-config` says of the database at `path`, changing nothing: that it
// does not exist yet, or its schema version (and that keybrokerd will migrate it), after
// checking `keks` against it as SqliteKeyStore::Create does (kVerifyOnly). FAILED_PRECONDITION
// for a wrong KEK or a schema newer than this code; UNAVAILABLE if it cannot be read.
absl::StatusOr<std::string> CheckBrokerDatabase(const std::string& path, KekSet keks);

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_SQLITE_STORES_H_
