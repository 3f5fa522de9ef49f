#ifndef KB_KEYBROKER_ADMIN_ADMIN_PROTOS_H_
#define KB_KEYBROKER_ADMIN_ADMIN_PROTOS_H_

#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "kb/v1/admin.pb.h"
#include "keybroker/store/attestation_key_registry.h"
#include "keybroker/store/audit_log.h"
#include "keybroker/store/key_store.h"
#include "keybroker/store/machine_denylist.h"
#include "keybroker/store/offline_revocations.h"

namespace kb {

// Store records to admin API messages (and back, for times). Never copies key bytes.
void SetTime(google::protobuf::Timestamp* ts, absl::Time t);
absl::Time FromTimestamp(const google::protobuf::Timestamp& ts);
v1::KeyMetadata ToProto(const KeyRecord& key, const std::vector<KeyVersionRecord>& versions);
v1::AttestationKeyInfo ToProto(const RegisteredAk& ak);
v1::AuditEvent ToProto(const AuditRecord& record);
v1::DeniedMachine ToProto(const DeniedMachineRecord& denied);
v1::OfflineRevocation ToProto(const OfflineRevocationRecord& revocation);

}  // namespace kb

#endif  // KB_KEYBROKER_ADMIN_ADMIN_PROTOS_H_
