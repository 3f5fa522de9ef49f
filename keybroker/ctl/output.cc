#include "keybroker/ctl/output.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace kb {
namespace {

std::string Printable(absl::string_view s) {
  std::string out(s);
  for (char& c : out) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return out;
}

std::string OrDash(absl::string_view s) { return s.empty() ? "-" : std::string(s); }

std::string YesNo(bool b) { return b ? "yes" : "no"; }

std::string PolicyVersion(uint64_t v) { return v == 0 ? "none" : absl::StrCat(v); }

// "1 (retired), 2", or "-" for a key without version metadata.
std::string Versions(const v1::KeyMetadata& key) {
  std::string out;
  for (const v1::KeyVersionInfo& v : key.versions()) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", v.version(), v.retired() ? " (retired)" : "");
  }
  return OrDash(out);
}

}  // namespace

absl::StatusOr<std::string> FormatJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print JSON: ", status.ToString()));
  }
  return json + "\n";
}

std::string FormatTimestamp(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(ts.seconds()),
                          absl::UTCTimeZone());
}

std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 0);
  auto measure = [&width](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  std::string out;
  auto append = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      std::string cell = Printable(row[i]);
      if (i + 1 < row.size()) cell.resize(width[i] + 2, ' ');
      line += cell;
    }
    absl::StrAppend(&out, line, "\n");
  };
  append(header);
  for (const auto& row : rows) append(row);
  return out;
}

std::string FormatKey(const v1::KeyMetadata& key) {
  return RenderTable(
      {"key_id:", key.key_id()},
      {{"version:", absl::StrCat(key.latest_version())},
       {"active_version:", key.active_version() == 0 ? "none (every version is retired)"
                                                     : absl::StrCat(key.active_version())},
       {"versions:", Versions(key)},
       {"size:", absl::StrCat(key.size_bytes(), " bytes")},
       {"disabled:", YesNo(key.disabled())},
       {"policy_version:", key.policy_version() == 0 ? "none (the key is never released)"
                                                     : absl::StrCat(key.policy_version())},
       {"description:", OrDash(key.description())},
       {"created:", FormatTimestamp(key.created_at())}});
}

std::string FormatKeyTable(const v1::ListKeysResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::KeyMetadata& k : response.keys()) {
    rows.push_back({k.key_id(), absl::StrCat(k.latest_version()), absl::StrCat(k.size_bytes()),
                    YesNo(k.disabled()), PolicyVersion(k.policy_version()),
                    FormatTimestamp(k.created_at())});
  }
  return RenderTable({"KEY_ID", "VERSION", "SIZE", "DISABLED", "POLICY_VERSION", "CREATED"}, rows);
}

std::string FormatAttestationKey(const v1::AttestationKeyInfo& ak) {
  return RenderTable({"machine:", ak.machine()},
                     {{"ak_name:", absl::BytesToHexString(ak.ak_name())},
                      {"registered:", FormatTimestamp(ak.registered_at())}});
}

std::string FormatAttestationKeyTable(const v1::ListAttestationKeysResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::AttestationKeyInfo& ak : response.keys()) {
    rows.push_back(
        {ak.machine(), absl::BytesToHexString(ak.ak_name()), FormatTimestamp(ak.registered_at())});
  }
  return RenderTable({"MACHINE", "AK_NAME", "REGISTERED"}, rows);
}

std::string FormatAuditEvents(const v1::ListAuditEventsResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::AuditEvent& e : response.events()) {
    std::string key = OrDash(e.key_id());
    if (!e.key_id().empty() && e.key_version() != 0) absl::StrAppend(&key, "/v", e.key_version());
    rows.push_back({absl::StrCat(e.id()), FormatTimestamp(e.time()), OrDash(e.actor()),
                    OrDash(e.action()), key, OrDash(e.decision()), OrDash(e.reason())});
  }
  return RenderTable({"ID", "TIME", "ACTOR", "ACTION", "KEY", "DECISION", "REASON"}, rows);
}

std::string FormatRotationStatus(const v1::GetRotationStatusResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::MachineRelease& m : response.machines()) {
    std::string released = FormatTimestamp(m.released_at());
    if (m.last_released_version() != 0)
      absl::StrAppend(&released, " (v", m.last_released_version(), ")");
    rows.push_back({m.machine(), absl::StrCat(m.version()), OrDash(m.source()), YesNo(m.current()),
                    FormatTimestamp(m.confirmed_at()), released});
  }
  return absl::StrCat(
      "key ", Printable(response.key_id()), ": active version ", response.active_version(), "\n",
      RenderTable({"MACHINE", "VERSION", "SOURCE", "CURRENT", "CONFIRMED", "LAST_RELEASE"}, rows));
}

std::string FormatDeniedMachines(const v1::ListDeniedMachinesResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::DeniedMachine& m : response.machines()) {
    rows.push_back(
        {m.machine(), OrDash(m.reason()), OrDash(m.denied_by()), FormatTimestamp(m.denied_at())});
  }
  return RenderTable({"MACHINE", "REASON", "DENIED_BY", "DENIED"}, rows);
}

std::string FormatOfflineGrants(const v1::ListOfflineGrantsResponse& response) {
  std::vector<std::vector<std::string>> grants;
  for (const v1::OfflineGrant& g : response.grants()) {
    grants.push_back({g.key_id(), g.machine(), absl::StrCat(g.key_version()),
                      absl::StrCat(g.offline_boots()), FormatTimestamp(g.granted_at()),
                      YesNo(g.revoked())});
  }
  std::vector<std::vector<std::string>> revocations;
  for (const v1::OfflineRevocation& r : response.revocations()) {
    revocations.push_back({r.key_id(), r.machine().empty() ? "(every machine)" : r.machine(),
                           OrDash(r.reason()), OrDash(r.revoked_by()),
                           FormatTimestamp(r.revoked_at())});
  }
  return absl::StrCat(
      "offline grants:\n",
      RenderTable({"KEY", "MACHINE", "VERSION", "BOOTS", "GRANTED", "REVOKED"}, grants),
      "offline revocations:\n",
      RenderTable({"KEY", "MACHINE", "REASON", "REVOKED_BY", "REVOKED"}, revocations));
}

}  // namespace kb
