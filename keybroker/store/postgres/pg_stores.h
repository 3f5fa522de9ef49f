#ifndef KB_KEYBROKER_STORE_POSTGRES_PG_STORES_H_
#define KB_KEYBROKER_STORE_POSTGRES_PG_STORES_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "keybroker/store/broker_stores.h"
#include "keybroker/store/challenge_mac.h"
#include "keybroker/store/group_commit.h"
#include "keybroker/store/postgres/pg_pool.h"
#include "keybroker/store/release_reads.h"
#include "keybroker/store/sealing_keks.h"

namespace kb {

// The PostgreSQL store: every role interface over one database that several keybrokerd
// replicas share. Nothing is cached in the process: each call reads the database, so a change
// made through one replica holds on every replica for the next request. Key material is sealed
// under the KEK exactly as in SqliteKeyStore (AAD "key_id/version").
class PgKeyStore final : public KeyStore, public KekRotation {
 public:
  // The key store over `pool`, its KEKs matched against the stored check values
  // (SealingKeks::Match) under an advisory lock, so that replicas starting together with a
  // new KEK record its check value once. `record` false: verify only (--check-config).
  static absl::StatusOr<std::unique_ptr<PgKeyStore>> Create(std::shared_ptr<PgPool> pool,
                                                            KekSet keks, bool record = true);
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
  // KekRotation (pg_kek.cc).
  absl::StatusOr<std::vector<KekUse>> ListKeks() override;
  absl::StatusOr<RewrapProgress> RewrapUnderCurrentKek(uint32_t max_versions) override;
  // Version `version` of `key_id`, `sealed` under the KEK `kek_id`, opened (as GetKeyMaterial
  // opens what it reads).
  absl::StatusOr<SecretBytes> OpenSealed(absl::string_view key_id, uint32_t version,
                                         absl::string_view sealed, int64_t kek_id) const {
    return keks_.Open(key_id, version, sealed, kek_id);
  }
  const SealingKeks& sealing_keks() const { return keks_; }

 private:
  PgKeyStore(std::shared_ptr<PgPool> pool, SealingKeks keks)
      : pool_(std::move(pool)), keks_(std::move(keks)) {}
  std::shared_ptr<PgPool> pool_;
  const SealingKeks keks_;
};

// Sweeps spent challenges expired beyond kSpentChallengeMargin (by the database's clock) at
// every 256th spend of a replica, before that spend, on its connection; a sweep that fails is
// logged and does not fail the spend (unless its connection failed). Thread-safe.
class PgChallengeSweep {
 public:
  absl::Status BeforeSpend(PgConnection& conn);

 private:
  std::atomic<uint64_t> spends_{0};
};

// The store's part of a release in one statement (pg_release_reads.cc): the challenge spent,
// the attestation key's machine, its deny entry, the key with its policy, the offline-grace
// revocation and the version to wrap with its sealed material, all as of that statement. It
// writes (the spend), so it runs on the asynchronously committing pool, as the challenges do.
class PgReleaseReads final : public ReleaseReads {
 public:
  // `keys` opens the sealed material; it must outlive this. `mac` verifies the challenges, as
  // PgChallengeStore does.
  PgReleaseReads(std::shared_ptr<PgPool> pool, const PgKeyStore* keys,
                 std::shared_ptr<const ChallengeMac> mac, std::shared_ptr<PgChallengeSweep> sweep)
      : pool_(std::move(pool)), keys_(keys), mac_(std::move(mac)), sweep_(std::move(sweep)) {}
  absl::StatusOr<ReleaseRecords> Read(const ReleaseQuestion& question) override;

 private:
  std::shared_ptr<PgPool> pool_;
  const PgKeyStore* keys_;
  std::shared_ptr<const ChallengeMac> mac_;
  std::shared_ptr<PgChallengeSweep> sweep_;
};

// Challenges shared by replicas (pg_challenges.cc): self-authenticating (ChallengeMac), so
// New() and Put() write nothing and GetChallenge needs no database, and Consume() records the
// spend in spent_challenges, one row per challenge, so that of all the replicas' redemptions
// of one challenge exactly one gets it. An id the MAC does not verify (made for another key
// id, altered, forged, or by a replica of schema version 2, whose challenges were rows) is
// unknown without a round trip, and not spent.
class PgChallengeStore final : public ChallengeStore {
 public:
  PgChallengeStore(std::shared_ptr<PgPool> pool, std::shared_ptr<const ChallengeMac> mac,
                   std::shared_ptr<PgChallengeSweep> sweep)
      : pool_(std::move(pool)), mac_(std::move(mac)), sweep_(std::move(sweep)) {}
  absl::StatusOr<Challenge> New(absl::string_view key_id, absl::Time expires_at) override;
  absl::Status Put(const Challenge& challenge, absl::Time now) override;
  // NOT_FOUND also for a challenge made for another key id than `key_id`, and for one that
  // expired by the database's clock.
  absl::StatusOr<Challenge> Consume(absl::string_view id, absl::string_view key_id) override;

 private:
  std::shared_ptr<PgPool> pool_;
  std::shared_ptr<const ChallengeMac> mac_;
  std::shared_ptr<PgChallengeSweep> sweep_;
};

class PgAttestationKeyRegistry final : public AttestationKeyRegistry {
 public:
  explicit PgAttestationKeyRegistry(std::shared_ptr<PgPool> pool) : pool_(std::move(pool)) {}
  absl::Status Register(const RegisteredAk& ak) override;
  absl::StatusOr<RegisteredAk> Lookup(absl::string_view name) override;
  absl::StatusOr<std::vector<RegisteredAk>> List() override;
  absl::StatusOr<RegisteredAk> Remove(absl::string_view name) override;

 private:
  std::shared_ptr<PgPool> pool_;
};

// The hash-chained audit log (pg_audit_log.cc). Records of concurrent calls in one process are
// written in one transaction (group commit); across replicas an advisory lock held by that
// transaction keeps the chain linear.
class PgAuditLog final : public AuditLog {
 public:
  explicit PgAuditLog(std::shared_ptr<PgPool> pool) : pool_(std::move(pool)) {}
  absl::Status Append(const AuditRecord& record) override;
  absl::StatusOr<std::vector<AuditRecord>> List(const AuditQuery& query) override;
  absl::StatusOr<AuditChainReport> Verify() override;
  absl::StatusOr<std::vector<MachineRelease>> LatestReleases(absl::string_view key_id) override;

 private:
  // Links and inserts `batch` in one statement, its own transaction (kb_audit_append).
  absl::Status WriteBatch(const std::vector<AuditRecord*>& batch);

  std::shared_ptr<PgPool> pool_;
  GroupCommit<AuditRecord> commits_{
      kAuditRecordFloor};  // concurrent Append() calls share one commit
};

class PgMachineDenyList final : public MachineDenyList {
 public:
  explicit PgMachineDenyList(std::shared_ptr<PgPool> pool) : pool_(std::move(pool)) {}
  absl::Status Deny(const DeniedMachineRecord& record) override;
  absl::StatusOr<bool> Allow(absl::string_view machine) override;
  absl::StatusOr<std::optional<DeniedMachineRecord>> Find(absl::string_view machine) override;
  absl::StatusOr<std::vector<DeniedMachineRecord>> List() override;

 private:
  std::shared_ptr<PgPool> pool_;
};

class PgOfflineRevocations final : public OfflineRevocations {
 public:
  explicit PgOfflineRevocations(std::shared_ptr<PgPool> pool) : pool_(std::move(pool)) {}
  absl::Status Revoke(const OfflineRevocationRecord& record) override;
  absl::StatusOr<bool> Restore(absl::string_view key_id, absl::string_view machine) override;
  absl::StatusOr<std::optional<OfflineRevocationRecord>> Find(absl::string_view key_id,
                                                              absl::string_view machine) override;
  absl::StatusOr<std::vector<OfflineRevocationRecord>> List(absl::string_view key_id) override;

 private:
  std::shared_ptr<PgPool> pool_;
};

class PgMachineKeyState final : public EnrolmentConfirmations,
                                public OfflineGrants,
                                public ForgottenMachines {
 public:
  explicit PgMachineKeyState(std::shared_ptr<PgPool> pool) : pool_(std::move(pool)) {}
  absl::Status Confirm(const EnrolmentConfirmation& confirmation) override;
  absl::StatusOr<std::vector<EnrolmentConfirmation>> ListConfirmations(
      absl::string_view key_id) override;
  absl::Status RecordRelease(const OfflineGrantRecord& release) override;
  absl::StatusOr<std::vector<OfflineGrantRecord>> ListGrants(absl::string_view key_id) override;
  absl::StatusOr<ForgetCounts> Forget(const ForgottenMachineRecord& record) override;
  absl::StatusOr<std::vector<ForgottenMachineRecord>> ListForgotten() override;

 private:
  std::shared_ptr<PgPool> pool_;
};

class PgCollateralStore final : public CollateralStore {
 public:
  explicit PgCollateralStore(std::shared_ptr<PgPool> pool) : pool_(std::move(pool)) {}
  absl::StatusOr<std::vector<CollateralRecord>> FindCollateral(
      absl::string_view kind, absl::string_view lookup_key) override;
  absl::StatusOr<std::optional<CollateralRecord>> PutCollateral(
      const CollateralRecord& record,
      absl::Status (*check_replace)(const CollateralRecord& existing,
                                    const CollateralRecord& incoming)) override;
  absl::StatusOr<std::vector<CollateralRecord>> ListCollateral() override;
  absl::StatusOr<CollateralRecord> DeleteCollateral(absl::string_view id) override;

 private:
  std::shared_ptr<PgPool> pool_;
};

// Connects to the database of `options`, creates or migrates its schema (pg_schema.cc) and
// returns every store over it, its keys sealed under `keks`. FAILED_PRECONDITION for a schema
// newer than this keybrokerd knows or a KEK the store was not written with; UNAVAILABLE when
// the database cannot be reached.
absl::StatusOr<BrokerStores> OpenPostgresStores(PgPool::Options options, KekSet keks);

// What `keybrokerd --check-config` says of the database, changing nothing: its schema version
// (or that it is empty) after checking `keks` against it as OpenPostgresStores does, and
// whether the challenges' MAC key opens (DescribeChallengeMac).
absl::StatusOr<std::string> CheckPostgresStore(PgPool::Options options, KekSet keks);

// Creates or migrates the schema under an advisory lock (several replicas starting together
// migrate once). FAILED_PRECONDITION when the schema is newer than this code knows.
absl::Status MigratePostgresSchema(PgPool& pool);

// The challenges' MAC key, one for the store, kept in the keks table sealed under each KEK
// that has been the current one (column challenge_key): opened, or made and stored when the
// current KEK has no copy (pg_challenges.cc).
absl::StatusOr<std::shared_ptr<const ChallengeMac>> LoadChallengeMac(PgPool& pool,
                                                                     const SealingKeks& keks);
// --check-config's view of that key, changing nothing: which KEK opens it, or that keybrokerd
// makes it at start. An error naming the KEK when the copy that start would use does not open.
absl::StatusOr<std::string> DescribeChallengeMac(PgPool& pool, const SealingKeks& keks);

// The spend of a self-authenticating challenge, with its id and its expiry (Unix ms) as the
// statement's parameters `id_param` and `expiry_param`: inserts nothing when the challenge was
// spent before or has expired by the database's clock.
std::string SpendChallengeSql(int id_param, int expiry_param);

// How long a spent challenge stays recorded after it expired. The spend refuses an expired
// challenge by the same (the database's) clock, so this is only a safety margin.
inline constexpr absl::Duration kSpentChallengeMargin = absl::Minutes(10);

// The schema version this keybrokerd writes.
inline constexpr int64_t kPostgresSchemaVersion = 4;

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_POSTGRES_PG_STORES_H_
