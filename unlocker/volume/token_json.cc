#include "unlocker/volume/token_json.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace kb {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr uint32_t kMaxPcr = 23;
constexpr size_t kMaxStringField = 1024;
constexpr const char* kTransferKeys[] = {"ecc-p256", "rsa-2048", "rsa-3072"};

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("keybroker token: field \"", field, "\" ", what));
}

bool HasControlChars(absl::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// "host:port" or "[v6]:port", port 1..65535, no whitespace or control characters.
bool IsValidEndpoint(absl::string_view endpoint) {
  if (endpoint.size() > kMaxStringField || HasControlChars(endpoint) ||
      absl::StrContains(endpoint, ' ')) {
    return false;
  }
  size_t colon = endpoint.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  absl::string_view host = endpoint.substr(0, colon);
  absl::string_view port = endpoint.substr(colon + 1);
  if (host.front() == '[' && host.back() != ']') return false;
  if (host.front() != '[' && absl::StrContains(host, ':')) return false;  // bare IPv6
  if (port.empty() || port.size() > 5) return false;
  for (char c : port) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  uint32_t value = 0;
  return absl::SimpleAtoi(port, &value) && value >= 1 && value <= 65535;
}

bool IsHex(absl::string_view s, size_t digits) {
  if (s.size() != digits) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(c)) return false;
  }
  return true;
}

constexpr const char* kEvidenceKinds[] = {"tpm", "azure", "snp", "tdx"};

bool IsKnownEvidence(absl::string_view name) {
  for (const char* known : kEvidenceKinds) {
    if (name == known) return true;
  }
  return false;
}

bool IsKnownTransferKey(absl::string_view name) {
  for (const char* known : kTransferKeys) {
    if (name == known) return true;
  }
  return false;
}

// Appends `s` as a JSON string literal (RFC 8259 escaping; non-ASCII bytes pass through).
void AppendJsonString(std::string* out, absl::string_view s) {
  out->push_back('"');
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (u < 0x20) {
      absl::StrAppend(out, absl::StrFormat("\\u%04x", u));
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

// --- Typed field access on a parsed google.protobuf.Struct. ---

absl::StatusOr<const Value*> Field(const Struct& obj, absl::string_view name) {
  auto it = obj.fields().find(std::string(name));
  if (it == obj.fields().end()) return FieldError(name, "is missing");
  return &it->second;
}

absl::StatusOr<std::string> StringField(const Struct& obj, absl::string_view name) {
  ASSIGN_OR_RETURN(const Value* v, Field(obj, name));
  if (v->kind_case() != Value::kStringValue) return FieldError(name, "must be a string");
  if (v->string_value().size() > kMaxStringField) return FieldError(name, "is too long");
  return v->string_value();
}

// A JSON number that is an integer in [0, max].
absl::StatusOr<uint32_t> ToUint(const Value& v, absl::string_view name, uint32_t max) {
  if (v.kind_case() != Value::kNumberValue) return FieldError(name, "must be a number");
  double d = v.number_value();
  if (!std::isfinite(d) || d != std::floor(d) || d < 0 || d > max) {
    return FieldError(name, absl::StrCat("must be an integer in 0..", max));
  }
  return static_cast<uint32_t>(d);
}

// A JSON number that is an integer in [0, 2^53] (exactly representable).
absl::StatusOr<uint64_t> ToUint64(const Value& v, absl::string_view name) {
  constexpr double kMax = 9007199254740992.0;
  if (v.kind_case() != Value::kNumberValue) return FieldError(name, "must be a number");
  double d = v.number_value();
  if (!std::isfinite(d) || d != std::floor(d) || d < 0 || d > kMax) {
    return FieldError(name, "must be a non-negative integer below 2^53");
  }
  return static_cast<uint64_t>(d);
}

absl::StatusOr<uint32_t> UintField(const Struct& obj, absl::string_view name, uint32_t max) {
  ASSIGN_OR_RETURN(const Value* v, Field(obj, name));
  return ToUint(*v, name, max);
}

absl::StatusOr<const ListValue*> ListField(const Struct& obj, absl::string_view name) {
  ASSIGN_OR_RETURN(const Value* v, Field(obj, name));
  if (v->kind_case() != Value::kListValue) return FieldError(name, "must be an array");
  return &v->list_value();
}

absl::StatusOr<int> ParseKeyslots(const Struct& obj) {
  ASSIGN_OR_RETURN(const ListValue* list, ListField(obj, "keyslots"));
  if (list->values_size() != 1) return FieldError("keyslots", "must hold exactly one keyslot");
  const Value& slot = list->values(0);
  int keyslot = -1;
  if (slot.kind_case() != Value::kStringValue || slot.string_value().empty() ||
      slot.string_value().size() > 3 || !absl::ascii_isdigit(slot.string_value()[0]) ||
      !absl::SimpleAtoi(slot.string_value(), &keyslot)) {
    return FieldError("keyslots", "must hold a keyslot number as a decimal string");
  }
  return keyslot;
}

absl::StatusOr<std::vector<std::string>> ParseEndpoints(const Struct& obj) {
  ASSIGN_OR_RETURN(const ListValue* list, ListField(obj, "endpoints"));
  std::vector<std::string> endpoints;
  for (const Value& v : list->values()) {
    if (v.kind_case() != Value::kStringValue) {
      return FieldError("endpoints", "must hold only strings");
    }
    endpoints.push_back(v.string_value());
  }
  return endpoints;
}

absl::StatusOr<std::vector<uint32_t>> ParsePcrs(const Struct& obj) {
  ASSIGN_OR_RETURN(const ListValue* list, ListField(obj, "pcrs"));
  std::vector<uint32_t> pcrs;
  for (const Value& v : list->values()) {
    ASSIGN_OR_RETURN(uint32_t pcr, ToUint(v, "pcrs", kMaxPcr));
    pcrs.push_back(pcr);
  }
  return pcrs;
}

// The optional "offline" object: {"blob": base64, "nv_index": n, "limit": n, "pcrs": [..]}.
absl::StatusOr<std::optional<OfflineSeal>> ParseOffline(const Struct& obj) {
  auto it = obj.fields().find("offline");
  if (it == obj.fields().end()) return std::optional<OfflineSeal>();
  if (it->second.kind_case() != Value::kStructValue) {
    return FieldError("offline", "must be an object");
  }
  const Struct& o = it->second.struct_value();
  OfflineSeal seal;
  ASSIGN_OR_RETURN(std::string blob, StringField(o, "blob"));
  if (!absl::Base64Unescape(blob, &seal.blob) || seal.blob.empty()) {
    return FieldError("offline.blob", "must be non-empty base64");
  }
  ASSIGN_OR_RETURN(seal.nv_index, UintField(o, "nv_index", UINT32_MAX));
  ASSIGN_OR_RETURN(const Value* limit, Field(o, "limit"));
  ASSIGN_OR_RETURN(seal.limit, ToUint64(*limit, "offline.limit"));
  ASSIGN_OR_RETURN(seal.pcrs, ParsePcrs(o));
  return std::optional<OfflineSeal>(std::move(seal));
}

absl::Status CheckHeader(const Struct& obj) {
  ASSIGN_OR_RETURN(std::string type, StringField(obj, "type"));
  if (type != kKeybrokerTokenType) {
    return FieldError("type", absl::StrCat("must be \"", kKeybrokerTokenType, "\""));
  }
  ASSIGN_OR_RETURN(uint32_t version, UintField(obj, "kb_version", UINT32_MAX));
  if (version != kKeybrokerTokenVersion) {
    return FieldError("kb_version", absl::StrCat("has unsupported value ", version));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateKeybrokerToken(const KeybrokerToken& token) {
  if (token.keyslot < 0) return FieldError("keyslots", "must name a keyslot >= 0");
  if (token.endpoints.empty()) return FieldError("endpoints", "must not be empty");
  for (const std::string& endpoint : token.endpoints) {
    if (!IsValidEndpoint(endpoint)) return FieldError("endpoints", "must hold host:port strings");
  }
  if (!IsHex(token.ca_sha256, 64)) return FieldError("ca_sha256", "must be 64 hex digits");
  if (token.key_id.empty() || token.key_id.size() > kMaxStringField ||
      HasControlChars(token.key_id)) {
    return FieldError("key_id", "must be a non-empty printable string");
  }
  std::set<uint32_t> seen;
  for (uint32_t pcr : token.pcrs) {
    if (pcr > kMaxPcr) return FieldError("pcrs", absl::StrCat("must be in 0..", kMaxPcr));
    if (!seen.insert(pcr).second) return FieldError("pcrs", "must not repeat a PCR");
  }
  if (!IsKnownTransferKey(token.transfer_key)) {
    return FieldError("transfer_key",
                      absl::StrCat("must be one of ", absl::StrJoin(kTransferKeys, ", ")));
  }
  if (!IsKnownEvidence(token.evidence)) {
    return FieldError("evidence",
                      absl::StrCat("must be one of ", absl::StrJoin(kEvidenceKinds, ", ")));
  }
  if (!token.ak_trust.empty() && token.ak_trust != "ek") {
    return FieldError("ak_trust", "must be \"ek\" when present");
  }
  if (!token.vtpm.empty() && !IsHex(token.vtpm, 32)) {
    return FieldError("vtpm", "must be 32 hex digits when present");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> KeybrokerTokenToJson(const KeybrokerToken& token) {
  RETURN_IF_ERROR(ValidateKeybrokerToken(token));
  std::string out =
      absl::StrCat("{\"type\":\"", kKeybrokerTokenType, "\",\"keyslots\":[\"", token.keyslot,
                   "\"],\"kb_version\":", kKeybrokerTokenVersion, ",\"endpoints\":[");
  for (size_t i = 0; i < token.endpoints.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(&out, token.endpoints[i]);
  }
  absl::StrAppend(&out, "],\"ca_sha256\":\"", absl::AsciiStrToLower(token.ca_sha256),
                  "\",\"key_id\":");
  AppendJsonString(&out, token.key_id);
  absl::StrAppend(&out, ",\"key_version\":", token.key_version, ",\"pcrs\":[",
                  absl::StrJoin(token.pcrs, ","), "],\"transfer_key\":");
  AppendJsonString(&out, token.transfer_key);
  if (token.evidence != "tpm") {  // absent means "tpm": older tokens stay byte-identical
    absl::StrAppend(&out, ",\"evidence\":");
    AppendJsonString(&out, token.evidence);
  }
  if (!token.ak_trust.empty()) {  // absent: an operator-registered AK, as in older tokens
    absl::StrAppend(&out, ",\"ak_trust\":");
    AppendJsonString(&out, token.ak_trust);
  }
  if (!token.vtpm.empty()) {
    absl::StrAppend(&out, ",\"vtpm\":\"", absl::AsciiStrToLower(token.vtpm), "\"");
  }
  if (token.confirmed.has_value()) {  // absent in tokens from before confirmations
    absl::StrAppend(&out, ",\"confirmed\":", *token.confirmed ? "true" : "false");
  }
  if (token.offline.has_value()) {
    const OfflineSeal& o = *token.offline;
    absl::StrAppend(&out, ",\"offline\":{\"blob\":\"", absl::Base64Escape(o.blob),
                    "\",\"nv_index\":", o.nv_index, ",\"limit\":", o.limit, ",\"pcrs\":[",
                    absl::StrJoin(o.pcrs, ","), "]}");
  }
  out.push_back('}');
  return out;
}

absl::StatusOr<KeybrokerToken> KeybrokerTokenFromJson(absl::string_view json) {
  Struct obj;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &obj);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("keybroker token: not a JSON object: ", parsed.message().as_string()));
  }
  RETURN_IF_ERROR(CheckHeader(obj));
  KeybrokerToken token;
  ASSIGN_OR_RETURN(token.keyslot, ParseKeyslots(obj));
  ASSIGN_OR_RETURN(token.endpoints, ParseEndpoints(obj));
  ASSIGN_OR_RETURN(token.ca_sha256, StringField(obj, "ca_sha256"));
  ASSIGN_OR_RETURN(token.key_id, StringField(obj, "key_id"));
  ASSIGN_OR_RETURN(token.key_version, UintField(obj, "key_version", UINT32_MAX));
  ASSIGN_OR_RETURN(token.pcrs, ParsePcrs(obj));
  ASSIGN_OR_RETURN(token.transfer_key, StringField(obj, "transfer_key"));
  if (obj.fields().count("evidence") != 0) {
    ASSIGN_OR_RETURN(token.evidence, StringField(obj, "evidence"));
  }
  ASSIGN_OR_RETURN(token.offline, ParseOffline(obj));
  if (obj.fields().count("ak_trust") != 0) {
    ASSIGN_OR_RETURN(token.ak_trust, StringField(obj, "ak_trust"));
  }
  if (obj.fields().count("vtpm") != 0) {
    ASSIGN_OR_RETURN(token.vtpm, StringField(obj, "vtpm"));
  }
  if (auto it = obj.fields().find("confirmed"); it != obj.fields().end()) {
    if (it->second.kind_case() != Value::kBoolValue) {
      return FieldError("confirmed", "must be true or false");
    }
    token.confirmed = it->second.bool_value();
  }
  RETURN_IF_ERROR(ValidateKeybrokerToken(token));
  token.ca_sha256 = absl::AsciiStrToLower(token.ca_sha256);
  token.vtpm = absl::AsciiStrToLower(token.vtpm);
  return token;
}

}  // namespace kb
