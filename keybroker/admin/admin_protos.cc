#include "keybroker/admin/admin_protos.h"

namespace kb {

void SetTime(google::protobuf::Timestamp* ts, absl::Time t) {
  const int64_t ms = absl::ToUnixMillis(t);
  ts->set_seconds(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  ts->set_nanos(static_cast<int32_t>((ms - ts->seconds() * 1000) * 1000000));
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

v1::KeyMetadata ToProto(const KeyRecord& k, const std::vector<KeyVersionRecord>& versions) {
  v1::KeyMetadata m;
  m.set_key_id(k.key_id);
  m.set_latest_version(k.latest_version);
  m.set_size_bytes(k.size_bytes);
  m.set_disabled(k.disabled);
  m.set_policy_version(k.policy_version);
  m.set_description(k.description);
  SetTime(m.mutable_created_at(), k.created_at);
  m.set_active_version(k.active_version);
  for (const KeyVersionRecord& v : versions) {
    v1::KeyVersionInfo* info = m.add_versions();
    info->set_version(v.version);
    info->set_retired(v.retired);
    SetTime(info->mutable_created_at(), v.created_at);
  }
  return m;
}

v1::AttestationKeyInfo ToProto(const RegisteredAk& ak) {
  v1::AttestationKeyInfo info;
  info.set_machine(ak.machine);
  info.set_ak_name(ak.name);
  SetTime(info.mutable_registered_at(), ak.registered_at);
  return info;
}

v1::AuditEvent ToProto(const AuditRecord& a) {
  v1::AuditEvent e;
  e.set_id(a.id);
  SetTime(e.mutable_time(), a.time);
  e.set_actor(a.actor);
  e.set_action(a.action);
  e.set_key_id(a.key_id);
  e.set_key_version(a.key_version);
  e.set_decision(a.decision);
  e.set_reason(a.reason);
  e.set_evidence_digest(a.evidence_digest);
  e.set_policy_version(a.policy_version);
  e.set_prev_hash(a.prev_hash);
  e.set_hash(a.hash);
  return e;
}

v1::DeniedMachine ToProto(const DeniedMachineRecord& d) {
  v1::DeniedMachine m;
  m.set_machine(d.machine);
  m.set_reason(d.reason);
  m.set_denied_by(d.denied_by);
  SetTime(m.mutable_denied_at(), d.denied_at);
  return m;
}

v1::OfflineRevocation ToProto(const OfflineRevocationRecord& r) {
  v1::OfflineRevocation out;
  out.set_key_id(r.key_id);
  out.set_machine(r.machine);
  out.set_reason(r.reason);
  out.set_revoked_by(r.revoked_by);
  SetTime(out.mutable_revoked_at(), r.revoked_at);
  return out;
}

}  // namespace kb
