#include "unlocker/cli/status_output.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace kb {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

absl::string_view Confirmation(const KeybrokerToken& t) {
  if (!t.confirmed.has_value()) return "no confirmation (token predates confirmations)";
  return *t.confirmed ? "enrolment confirmed to the broker" : "enrolment not yet confirmed";
}

Value Text(absl::string_view s) {
  Value v;
  v.set_string_value(std::string(s));
  return v;
}

Value Number(double n) {
  Value v;
  v.set_number_value(n);
  return v;
}

Value Bool(bool b) {
  Value v;
  v.set_bool_value(b);
  return v;
}

template <typename T, typename F>
Value List(const std::vector<T>& items, F&& each) {
  Value v;
  ListValue* list = v.mutable_list_value();
  for (const T& item : items) *list->add_values() = each(item);
  return v;
}

Value TokenValue(const KeybrokerToken& t) {
  Value v;
  auto& f = *v.mutable_struct_value()->mutable_fields();
  f["token_id"] = Number(t.token_id);
  f["keyslot"] = Number(t.keyslot);
  f["key_id"] = Text(t.key_id);
  f["key_version"] = Number(t.key_version);
  f["brokers"] = List(t.endpoints, [](const std::string& e) { return Text(e); });
  f["pcrs"] = List(t.pcrs, [](uint32_t p) { return Number(p); });
  f["transfer_key"] = Text(t.transfer_key);
  f["evidence"] = Text(t.evidence);
  f["ak_trust"] = Text(t.ak_trust.empty() ? "registered" : t.ak_trust);
  if (t.confirmed.has_value()) {
    f["confirmed"] = Bool(*t.confirmed);
  } else {
    f["confirmed"].set_null_value(google::protobuf::NULL_VALUE);
  }
  f["offline_copy"] = Bool(t.offline.has_value());
  f["ca_sha256"] = Text(t.ca_sha256);
  f["vtpm"] = Text(t.vtpm);
  return v;
}

}  // namespace

std::string StatusText(const std::vector<KeyslotInfo>& slots,
                       const std::vector<KeybrokerToken>& tokens) {
  std::string out = "keyslots:\n";
  for (const KeyslotInfo& s : slots) {
    if (s.state != "inactive") absl::StrAppend(&out, "  ", s.keyslot, ": ", s.state, "\n");
  }
  absl::StrAppend(&out, "keybroker tokens:", tokens.empty() ? " none" : "", "\n");
  for (const KeybrokerToken& t : tokens) {
    absl::StrAppendFormat(
        &out,
        "  token %d -> keyslot %d: key '%s' version %u, brokers %s, pcrs [%s], "
        "transfer key %s, evidence %s, AK trust %s, %s, offline copy %s, CA sha256 %s...\n",
        t.token_id, t.keyslot, t.key_id, t.key_version, absl::StrJoin(t.endpoints, ","),
        absl::StrJoin(t.pcrs, ","), t.transfer_key, t.evidence,
        t.ak_trust.empty() ? "registered" : t.ak_trust, Confirmation(t),
        t.offline.has_value() ? "sealed" : "none", t.ca_sha256.substr(0, 16));
  }
  return out;
}

std::string StatusJson(const std::string& device, const std::vector<KeyslotInfo>& slots,
                       const std::vector<KeybrokerToken>& tokens) {
  Struct root;
  auto& f = *root.mutable_fields();
  f["device"] = Text(device);
  std::vector<KeyslotInfo> used;
  for (const KeyslotInfo& s : slots) {
    if (s.state != "inactive") used.push_back(s);
  }
  f["keyslots"] = List(used, [](const KeyslotInfo& s) {
    Value v;
    (*v.mutable_struct_value()->mutable_fields())["keyslot"] = Number(s.keyslot);
    (*v.mutable_struct_value()->mutable_fields())["state"] = Text(s.state);
    return v;
  });
  f["tokens"] = List(tokens, TokenValue);
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(root, &json, options);
  return json;
}

}  // namespace kb
