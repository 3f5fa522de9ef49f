#ifndef KB_KEYBROKER_STORE_AUDIT_LOG_H_
#define KB_KEYBROKER_STORE_AUDIT_LOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kb {

// One decision or admin action. Never holds secret material.
struct AuditRecord {
  uint64_t id = 0;  // assigned by the log
  absl::Time time;
  std::string actor;
  std::string action;
  std::string key_id;
  uint32_t key_version = 0;
  std::string decision;  // "allow" / "deny"
  std::string reason;
  std::string evidence_digest;  // releases: hex SHA-256 of the serialized evidence
  uint64_t policy_version = 0;  // releases: the policy version evaluated
  std::string prev_hash;        // set by the log: hash of the previous record
  std::string hash;             // set by the log: AuditRecordHash(*this)
};

// Which records List() returns; empty fields match everything.
struct AuditQuery {
  int limit = 100;
  std::string key_id;
  std::string actor;
  std::string decision;
  std::optional<absl::Time> since;
  uint64_t before_id = 0;  // only records with a smaller id (paging); 0: no bound
};

// The outcome of checking the hash chain.
struct AuditChainReport {
  bool ok = true;
  uint64_t records = 0;
  uint64_t first_bad_id = 0;  // 0 when ok
  std::string problem;        // what is wrong with first_bad_id
  std::string head_hash;      // hash of the newest record ("" for an empty log)
};

// The latest allowed release of a key to one machine.
struct MachineRelease {
  std::string machine;
  uint32_t version = 0;
  absl::Time time;
};

// Append-only, hash-chained audit trail: each record carries the hash of its predecessor.
// Thread-safe; appends are serialized, so the chain is linear under concurrency.
class AuditLog {
 public:
  virtual ~AuditLog() = default;
  // Links `record` to the newest record (its id, prev_hash and hash are ignored) and stores it.
  // UNAVAILABLE when the store is down.
  virtual absl::Status Append(const AuditRecord& record) = 0;
  // Matching records, newest first, at most `query.limit`.
  virtual absl::StatusOr<std::vector<AuditRecord>> List(const AuditQuery& query) = 0;
  // Walks the whole chain, oldest first, and reports the first record that does not verify.
  virtual absl::StatusOr<AuditChainReport> Verify() = 0;
  // Per machine, the latest allowed release of `key_id` (by machine name).
  virtual absl::StatusOr<std::vector<MachineRelease>> LatestReleases(absl::string_view key_id) = 0;
};

// The least time an audit record is given to be written after its Append() began, whatever
// the request's deadline (RequestDeadline): a client cannot have the record of its own refused
// attempt dropped by choosing a deadline that passes just before it is written.
inline constexpr absl::Duration kAuditRecordFloor = absl::Milliseconds(500);

// `record` with its free-text fields (actor, action, key id, reason) passed through
// EscapeUntrusted: whatever a client sent, a stored record holds printable ASCII only. Every
// AuditLog applies it before hashing and storing.
AuditRecord SanitizedForAudit(AuditRecord record);

// The chain's starting point: prev_hash of the first record.
inline constexpr absl::string_view kAuditGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Hex SHA-256 over a canonical, length-prefixed encoding of the record's time (ms), actor,
// action, key id, key version, evidence digest, policy version, decision, reason and
// prev_hash. The id and hash fields are not covered.
std::string AuditRecordHash(const AuditRecord& record);
// What AuditRecordHash hashes before prev_hash, whose encoding (its length as 8 bytes
// big-endian, then its bytes) completes it: for a store that links records where the chain's
// head is (PostgreSQL's kb_audit_append).
std::string AuditRecordHashPrefix(const AuditRecord& record);

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_AUDIT_LOG_H_
