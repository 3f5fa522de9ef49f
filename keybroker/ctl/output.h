#ifndef KB_KEYBROKER_CTL_OUTPUT_H_
#define KB_KEYBROKER_CTL_OUTPUT_H_

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kb/v1/admin.pb.h"

namespace kb {

// The message as JSON (proto field names, default values printed, bytes as base64) plus a
// newline. INTERNAL if protobuf cannot serialize it.
absl::StatusOr<std::string> FormatJson(const google::protobuf::Message& message);

// RFC 3339 UTC ("2024-05-01T12:00:00Z"), or "-" when unset.
std::string FormatTimestamp(const google::protobuf::Timestamp& ts);

// Left-aligned columns separated by two spaces, one line per row, header first. Control
// characters in cells are replaced by '?', so broker-supplied text cannot drive the terminal.
std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// Human-readable renderings of the admin responses; each ends with a newline.
std::string FormatKey(const v1::KeyMetadata& key);
std::string FormatKeyTable(const v1::ListKeysResponse& response);
std::string FormatAttestationKey(const v1::AttestationKeyInfo& ak);
std::string FormatAttestationKeyTable(const v1::ListAttestationKeysResponse& response);
std::string FormatAuditEvents(const v1::ListAuditEventsResponse& response);
std::string FormatRotationStatus(const v1::GetRotationStatusResponse& response);
std::string FormatDeniedMachines(const v1::ListDeniedMachinesResponse& response);
std::string FormatOfflineGrants(const v1::ListOfflineGrantsResponse& response);

}  // namespace kb

#endif  // KB_KEYBROKER_CTL_OUTPUT_H_
