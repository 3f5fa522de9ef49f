// The PostgreSQL schema, its migrations (table kb_schema) and the opening of the stores.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/store/postgres/pg_stores.h"

namespace kb {
namespace {

// The advisory lock key under which the schema is created or migrated ("kbschema").
constexpr int64_t kSchemaLock = 0x6b62736368656d61;

// Version 1: the SQLite schema's version 6, in PostgreSQL types. Times are Unix milliseconds
// (collateral not_before/not_after in seconds), as in SQLite. Never edited; later changes are
// migrations.
constexpr absl::string_view kSchemaV1 = R"sql(
CREATE TABLE keys(
  key_id TEXT PRIMARY KEY, size_bytes BIGINT NOT NULL, latest_version BIGINT NOT NULL,
  disabled BOOLEAN NOT NULL DEFAULT FALSE, description TEXT NOT NULL,
  created_at BIGINT NOT NULL, policy_version BIGINT NOT NULL DEFAULT 0);
CREATE TABLE keks(
  id BIGINT PRIMARY KEY, sealed BYTEA NOT NULL, description TEXT NOT NULL,
  fingerprint TEXT NOT NULL);
CREATE TABLE key_versions(
  key_id TEXT NOT NULL REFERENCES keys(key_id), version BIGINT NOT NULL, sealed BYTEA NOT NULL,
  created_at BIGINT NOT NULL, retired BOOLEAN NOT NULL DEFAULT FALSE,
  kek_id BIGINT NOT NULL REFERENCES keks(id), PRIMARY KEY(key_id, version));
CREATE INDEX key_versions_by_kek ON key_versions(kek_id);
CREATE TABLE policies(
  key_id TEXT NOT NULL REFERENCES keys(key_id), version BIGINT NOT NULL,
  policy_json TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY(key_id, version));
CREATE TABLE challenges(
  id TEXT PRIMARY KEY, key_id TEXT NOT NULL, nonce BYTEA NOT NULL, expires_at BIGINT NOT NULL,
  used BOOLEAN NOT NULL DEFAULT FALSE);
CREATE INDEX challenges_expiry ON challenges(expires_at);
CREATE TABLE attestation_keys(
  ak_name BYTEA PRIMARY KEY, machine TEXT NOT NULL, ak_public BYTEA NOT NULL,
  registered_at BIGINT NOT NULL);
CREATE TABLE audit(
  id BIGINT PRIMARY KEY, time BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  key_id TEXT NOT NULL, key_version BIGINT NOT NULL, decision TEXT NOT NULL,
  reason TEXT NOT NULL, evidence_digest TEXT NOT NULL, policy_version BIGINT NOT NULL,
  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX audit_by_key ON audit(key_id, action, decision);
CREATE FUNCTION kb_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN RAISE EXCEPTION 'audit is append-only'; END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit
  FOR EACH STATEMENT EXECUTE FUNCTION kb_audit_append_only();
CREATE TABLE denied_machines(
  machine TEXT PRIMARY KEY, reason TEXT NOT NULL, denied_by TEXT NOT NULL,
  denied_at BIGINT NOT NULL);
CREATE TABLE offline_revocations(
  key_id TEXT NOT NULL, machine TEXT NOT NULL, reason TEXT NOT NULL, revoked_by TEXT NOT NULL,
  revoked_at BIGINT NOT NULL, PRIMARY KEY(key_id, machine));
CREATE TABLE enrolment_confirmations(
  key_id TEXT NOT NULL, machine TEXT NOT NULL, version BIGINT NOT NULL,
  confirmed_at BIGINT NOT NULL, PRIMARY KEY(key_id, machine));
CREATE TABLE offline_grants(
  key_id TEXT NOT NULL, machine TEXT NOT NULL, key_version BIGINT NOT NULL,
  offline_boots BIGINT NOT NULL, granted_at BIGINT NOT NULL, PRIMARY KEY(key_id, machine));
CREATE TABLE collateral(
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, slot TEXT NOT NULL, lookup_key TEXT NOT NULL,
  identity TEXT NOT NULL, name TEXT NOT NULL, not_before BIGINT NOT NULL,
  not_after BIGINT NOT NULL, imported_at BIGINT NOT NULL, content BYTEA NOT NULL,
  UNIQUE(kind, slot));
CREATE INDEX collateral_lookup ON collateral(kind, lookup_key);
)sql";

// Version 2: the SQLite schema's version 7 (machines an operator forgot).
constexpr absl::string_view kSchemaV2 = R"sql(
CREATE TABLE forgotten_machines(
  machine TEXT PRIMARY KEY, forgotten_by TEXT NOT NULL, forgotten_at BIGINT NOT NULL);
)sql";

// Version 3: self-authenticating challenges. The challenges' MAC key is kept sealed under
// each KEK that has been the current one; spent challenges are recorded until
// kSpentChallengeMargin after they expire. The challenges table is no longer used by this
// version (replicas of version 2 still running during an upgrade use it).
constexpr absl::string_view kSchemaV3 = R"sql(
ALTER TABLE keks ADD COLUMN challenge_key BYTEA;
CREATE TABLE spent_challenges(id TEXT PRIMARY KEY, expires_at BIGINT NOT NULL);
CREATE INDEX spent_challenges_expiry ON spent_challenges(expires_at);
)sql";

// Version 4: the audit chain extended in one statement, one round trip for a batch: under the
// advisory lock that replicas of version 3 take too (so both may append during an upgrade),
// the head is read and each record linked to it and inserted. The caller sends what the hash
// covers before prev_hash (AuditRecordHashPrefix); the function appends prev_hash's encoding
// (8-byte big-endian length, bytes) and hashes, as AuditRecordHash does.
constexpr absl::string_view kSchemaV4 = R"sql(
CREATE FUNCTION kb_audit_append(times BIGINT[], actors TEXT[], actions TEXT[],
    key_ids TEXT[], key_versions BIGINT[], decisions TEXT[], reasons TEXT[],
    evidence_digests TEXT[], policy_versions BIGINT[], prefixes BYTEA[], genesis TEXT)
  RETURNS TABLE(record_id BIGINT, record_prev TEXT, record_hash TEXT)
  LANGUAGE plpgsql AS $$
DECLARE
  head BIGINT;
  prev TEXT;
  linked TEXT;
BEGIN
  PERFORM pg_advisory_xact_lock(118070286050409);
  SELECT a.id, a.hash INTO head, prev FROM audit a ORDER BY a.id DESC LIMIT 1;
  IF NOT FOUND THEN
    head := 0;
    prev := genesis;
  END IF;
  FOR i IN 1 .. coalesce(cardinality(prefixes), 0) LOOP
    head := head + 1;
    linked := encode(sha256(prefixes[i] || int8send(octet_length(prev)::BIGINT) ||
                            convert_to(prev, 'UTF8')), 'hex');
    INSERT INTO audit(id, time, actor, action, key_id, key_version, decision, reason,
                      evidence_digest, policy_version, prev_hash, hash)
      VALUES(head, times[i], actors[i], actions[i], key_ids[i], key_versions[i], decisions[i],
             reasons[i], evidence_digests[i], policy_versions[i], prev, linked);
    record_id := head;
    record_prev := prev;
    record_hash := linked;
    RETURN NEXT;
    prev := linked;
  END LOOP;
END $$;
)sql";

// The schema version, 0 for a database without our tables.
absl::StatusOr<int64_t> SchemaVersion(PgConnection& conn) {
  ASSIGN_OR_RETURN(PgResult exists, conn.Exec("SELECT to_regclass('kb_schema') IS NOT NULL"));
  if (exists.Text(0, 0) != "t") return 0;
  ASSIGN_OR_RETURN(PgResult v, conn.Exec("SELECT version FROM kb_schema"));
  return v.rows() == 0 ? 0 : v.Int(0, 0);
}

absl::Status TooNew(const PgPool& pool, int64_t version) {
  return absl::FailedPreconditionError(absl::StrCat(
      pool.description(), ": schema version ", version, " is newer than this keybrokerd knows (",
      kPostgresSchemaVersion, "): run the keybrokerd that wrote it, or a newer one"));
}

}  // namespace

absl::Status MigratePostgresSchema(PgPool& pool) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool.Acquire());
  PgTransaction tx(*conn);
  RETURN_IF_ERROR(tx.status());
  // Held until the transaction ends: a replica starting meanwhile waits, then finds the schema.
  RETURN_IF_ERROR(
      conn->Exec("SELECT pg_advisory_xact_lock($1)", {PgParam::Int(kSchemaLock)}).status());
  ASSIGN_OR_RETURN(const int64_t version, SchemaVersion(*conn));
  if (version > kPostgresSchemaVersion) return TooNew(pool, version);
  if (version == kPostgresSchemaVersion) return absl::OkStatus();
  if (version < 1) {
    RETURN_IF_ERROR(conn->Command(kSchemaV1));
    RETURN_IF_ERROR(conn->Command("CREATE TABLE kb_schema(version BIGINT NOT NULL)"));
    RETURN_IF_ERROR(conn->Command("INSERT INTO kb_schema(version) VALUES(0)"));
  }
  if (version < 2) RETURN_IF_ERROR(conn->Command(kSchemaV2));
  if (version < 3) RETURN_IF_ERROR(conn->Command(kSchemaV3));
  if (version < 4) RETURN_IF_ERROR(conn->Command(kSchemaV4));
  RETURN_IF_ERROR(
      conn->Exec("UPDATE kb_schema SET version = $1", {PgParam::Int(kPostgresSchemaVersion)})
          .status());
  return tx.Commit();
}

absl::StatusOr<BrokerStores> OpenPostgresStores(PgPool::Options options, KekSet keks) {
  // A challenge's spend commits without waiting for the WAL flush: a spend lost in a crash
  // was never answered with a key, because an allowed release is answered only after its
  // audit record's commit, which flushes (and, with a synchronous standby, replicates) all the
  // WAL before it. Its own pool keeps that setting off every other connection; each release
  // uses it once (the spend with the release's reads).
  PgPool::Options challenge_options = options;
  challenge_options.size = std::max(2, options.size / 2);
  challenge_options.asynchronous_commit = true;
  ASSIGN_OR_RETURN(std::shared_ptr<PgPool> pool, PgPool::Create(std::move(options)));
  ASSIGN_OR_RETURN(std::shared_ptr<PgPool> challenge_pool,
                   PgPool::Create(std::move(challenge_options)));
  RETURN_IF_ERROR(MigratePostgresSchema(*pool));
  ASSIGN_OR_RETURN(std::shared_ptr<PgKeyStore> keys, PgKeyStore::Create(pool, std::move(keks)));
  ASSIGN_OR_RETURN(std::shared_ptr<const ChallengeMac> mac,
                   LoadChallengeMac(*pool, keys->sealing_keks()));
  auto sweep = std::make_shared<PgChallengeSweep>();
  auto reads = std::make_shared<PgReleaseReads>(challenge_pool, keys.get(), mac, sweep);
  BrokerStores stores =
      AssembleBrokerStores<PgAttestationKeyRegistry, PgAuditLog, PgMachineDenyList,
                           PgOfflineRevocations, PgMachineKeyState, PgCollateralStore>(
          std::move(keys),
          std::make_shared<PgChallengeStore>(challenge_pool, std::move(mac), std::move(sweep)),
          pool);
  stores.release_reads = reads.get();
  stores.owned.push_back(std::move(reads));
  return stores;
}

absl::StatusOr<std::string> CheckPostgresStore(PgPool::Options options, KekSet keks) {
  ASSIGN_OR_RETURN(std::shared_ptr<PgPool> pool, PgPool::Create(std::move(options)));
  int64_t version = 0;
  {
    ASSIGN_OR_RETURN(PgPool::Lease conn, pool->Acquire());
    ASSIGN_OR_RETURN(version, SchemaVersion(*conn));
  }
  if (version > kPostgresSchemaVersion) return TooNew(*pool, version);
  if (version == 0) {
    return absl::StrCat(pool->description(), " is reachable and holds no keybroker schema yet: ",
                        "keybrokerd creates it");
  }
  std::string note = absl::StrCat(pool->description(), " (schema version ", version, ")");
  if (version < kPostgresSchemaVersion) {
    absl::StrAppend(&note, ": keybrokerd migrates it to version ", kPostgresSchemaVersion,
                    " at start");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<PgKeyStore> keys,
                   PgKeyStore::Create(pool, std::move(keks), /*record=*/false));
  if (version < 3) {  // before self-authenticating challenges: no column for the key yet
    absl::StrAppend(&note, "; no challenge MAC key yet: keybrokerd makes one");
    return note;
  }
  ASSIGN_OR_RETURN(const std::string mac, DescribeChallengeMac(*pool, keys->sealing_keks()));
  absl::StrAppend(&note, "; ", mac);
  return note;
}

}  // namespace kb
