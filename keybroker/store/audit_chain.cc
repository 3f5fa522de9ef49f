#include "common/crypto.h"
#include "common/logging.h"
#include "keybroker/store/audit_log.h"

namespace kb {
namespace {

void PutU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

void PutString(std::string& out, absl::string_view s) {
  PutU64(out, s.size());
  out.append(s.data(), s.size());
}

}  // namespace

AuditRecord SanitizedForAudit(AuditRecord record) {
  record.actor = EscapeUntrusted(record.actor, 512);
  record.action = EscapeUntrusted(record.action, 64);
  record.key_id = EscapeUntrusted(record.key_id, 256);
  record.reason = EscapeUntrusted(record.reason, 2048);
  return record;
}

std::string AuditRecordHash(const AuditRecord& r) {
  std::string enc = AuditRecordHashPrefix(r);
  PutString(enc, r.prev_hash);
  return HexEncode(Sha256(enc));
}

std::string AuditRecordHashPrefix(const AuditRecord& r) {
  std::string enc;
  PutString(enc, "kb.audit.v1");
  PutU64(enc, static_cast<uint64_t>(absl::ToUnixMillis(r.time)));
  PutString(enc, r.actor);
  PutString(enc, r.action);
  PutString(enc, r.key_id);
  PutU64(enc, r.key_version);
  PutString(enc, r.evidence_digest);
  PutU64(enc, r.policy_version);
  PutString(enc, r.decision);
  PutString(enc, r.reason);
  return enc;
}

}  // namespace kb
