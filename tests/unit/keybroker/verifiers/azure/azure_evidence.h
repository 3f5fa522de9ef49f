#ifndef KB_TESTS_UNIT_KEYBROKER_VERIFIERS_AZURE_AZURE_EVIDENCE_H_
#define KB_TESTS_UNIT_KEYBROKER_VERIFIERS_AZURE_AZURE_EVIDENCE_H_

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <string>

#include "absl/strings/escaping.h"
#include "common/crypto.h"
#include "keybroker/verifiers/tpm/tpm_quote.h"
#include "tests/support/status_matchers.h"

namespace kb::snp_test {

// The pieces of trustee's az-snp-vtpm evidence JSON (test_data/az-snp-vtpm/evidence-*.json,
// tpm-quote-v1.json): v0 carries int arrays and a PEM VCEK; v1/v2 carry base64url and hex.
struct AzureEvidence {
  std::string hcl_report;
  std::string vcek;
  TpmQuote quote;
};

inline std::string IntArrayBytes(const google::protobuf::Value& v) {
  std::string out;
  for (const auto& e : v.list_value().values()) out.push_back(static_cast<char>(e.number_value()));
  return out;
}

// A byte field: an int array, a hex string, or (for `b64url`) a base64url string.
inline std::string BytesField(const google::protobuf::Value& v, bool b64url = false) {
  if (v.has_list_value()) return IntArrayBytes(v);
  std::string out;
  if (b64url) {
    absl::WebSafeBase64Unescape(v.string_value(), &out);
    return out;
  }
  auto hex = HexDecode(v.string_value());
  return hex.ok() ? *hex : std::string();
}

// {signature, message, pcrs[]} in any of trustee's encodings.
inline TpmQuote QuoteFromStruct(const google::protobuf::Struct& q) {
  TpmQuote quote;
  quote.signature = BytesField(q.fields().at("signature"));
  quote.attest = BytesField(q.fields().at("message"));
  for (const auto& pcr : q.fields().at("pcrs").list_value().values()) {
    quote.pcrs_sha256.push_back(BytesField(pcr));
  }
  return quote;
}

inline google::protobuf::Struct ParseJson(const std::string& json) {
  google::protobuf::Struct s;
  EXPECT_THAT(google::protobuf::util::JsonStringToMessage(json, &s), IsOk());
  return s;
}

inline AzureEvidence ParseTrusteeEvidence(const std::string& json) {
  const google::protobuf::Struct root = ParseJson(json);
  const auto& f = root.fields();
  AzureEvidence ev;
  const bool v0 = f.count("report") != 0;
  ev.hcl_report = v0 ? IntArrayBytes(f.at("report")) : BytesField(f.at("hcl_report"), true);
  ev.vcek = v0 ? f.at("vcek").string_value() : BytesField(f.at("vcek"), true);
  ev.quote = QuoteFromStruct(f.at(v0 ? "quote" : "tpm_quote").struct_value());
  return ev;
}

inline TpmQuote ParseTrusteeQuote(const std::string& json) {
  return QuoteFromStruct(ParseJson(json));
}

}  // namespace kb::snp_test

#endif  // KB_TESTS_UNIT_KEYBROKER_VERIFIERS_AZURE_AZURE_EVIDENCE_H_
