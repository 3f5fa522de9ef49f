#include "keybroker/verifiers/azure/azure_hcl.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/secret_bytes.h"
#include "common/status_macros.h"
#include "keybroker/verifiers/api/check.h"
#include "keybroker/verifiers/snp/snp_report.h"

namespace kb {
namespace {

using absl::StatusCode;
using google::protobuf::Struct;
using google::protobuf::Value;

uint32_t Le32(absl::string_view b, std::size_t off) {
  uint32_t v = 0;
  for (std::size_t i = 0; i < 4 && off + i < b.size(); ++i) {
    v |= static_cast<uint32_t>(static_cast<uint8_t>(b[off + i])) << (8 * i);
  }
  return v;
}

absl::Status AkFailed(absl::string_view why) {
  return CheckFailed(kAzCheckAkFromRuntimeClaims, StatusCode::kUnauthenticated, why);
}

absl::StatusOr<BignumPtr> Base64UrlBignum(const Value& v, absl::string_view what) {
  std::string raw;
  if (v.kind_case() != Value::kStringValue ||
      !absl::WebSafeBase64Unescape(v.string_value(), &raw) || raw.empty()) {
    return AkFailed(absl::StrCat("HCLAkPub '", what, "' is not base64url"));
  }
  BignumPtr bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()),
                         static_cast<int>(raw.size()), nullptr));
  if (!bn) return OpenSslError("BN_bin2bn");
  return bn;
}

absl::StatusOr<EvpPkeyPtr> RsaFromJwk(const Struct& jwk) {
  const auto& f = jwk.fields();
  auto kty = f.find("kty");
  auto n_it = f.find("n");
  auto e_it = f.find("e");
  if (kty == f.end() || kty->second.string_value() != "RSA" || n_it == f.end() || e_it == f.end()) {
    return AkFailed("HCLAkPub is not an RSA JWK with n and e");
  }
  ASSIGN_OR_RETURN(BignumPtr n, Base64UrlBignum(n_it->second, "n"));
  ASSIGN_OR_RETURN(BignumPtr e, Base64UrlBignum(e_it->second, "e"));
  if (BN_num_bits(n.get()) < 2048) return AkFailed("HCLAkPub is shorter than 2048 bits");
  std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD_free>> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return OpenSslError("OSSL_PARAM_BLD");
  }
  EvpPkeyPtr key = KeyFromParams("RSA", EVP_PKEY_PUBLIC_KEY, bld.get());
  if (!key) return OpenSslError("HCLAkPub is not a usable RSA key", StatusCode::kUnauthenticated);
  return key;
}

absl::StatusOr<std::string> SpkiDer(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  if (len <= 0) return OpenSslError("i2d_PUBKEY");
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

const Struct* FindAkJwk(const Struct& root) {
  auto keys = root.fields().find("keys");
  if (keys == root.fields().end() || !keys->second.has_list_value()) return nullptr;
  for (const Value& k : keys->second.list_value().values()) {
    if (!k.has_struct_value()) continue;
    auto kid = k.struct_value().fields().find("kid");
    if (kid != k.struct_value().fields().end() && kid->second.string_value() == "HCLAkPub") {
      return &k.struct_value();
    }
  }
  return nullptr;
}

void ReadVmConfiguration(const Struct& root, RuntimeClaims& claims) {
  auto cfg = root.fields().find("vm-configuration");
  if (cfg == root.fields().end() || !cfg->second.has_struct_value()) return;
  const auto& f = cfg->second.struct_value().fields();
  auto flag = [&f](const char* name) {
    auto it = f.find(name);
    return it != f.end() && it->second.kind_case() == Value::kBoolValue && it->second.bool_value();
  };
  claims.secure_boot = flag("secure-boot");
  claims.tpm_enabled = flag("tpm-enabled");
  claims.console_enabled = flag("console-enabled");
  auto id = f.find("vmUniqueId");
  if (id != f.end()) claims.vm_unique_id = id->second.string_value();
}

const char* ReportTypeName(uint32_t type) { return type == kHclReportTypeTdx ? "TDX" : "SNP"; }

absl::Status CheckIgvmFields(const HclReport& h, uint32_t want_type) {
  if (h.report_type != want_type) {
    return absl::InvalidArgumentError(absl::StrCat("HCL report type ", h.report_type, " is not ",
                                                   ReportTypeName(want_type), " (", want_type,
                                                   ")"));
  }
  if (h.hash_type != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("HCL report-data hash type ", h.hash_type, " is not SHA-256 (1)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<HclReport> ParseHcl(absl::string_view bytes, uint32_t want_type) {
  if (bytes.size() < kHclRuntimeDataOffset) {
    return absl::InvalidArgumentError(absl::StrCat("HCL report is ", bytes.size(),
                                                   " bytes, shorter than its fixed part (",
                                                   kHclRuntimeDataOffset, ")"));
  }
  if (bytes.size() > kHclMaxReportSize) {
    return absl::InvalidArgumentError(absl::StrCat("HCL report is oversized (", bytes.size(), ")"));
  }
  if (bytes.substr(0, 4) != "HCLA") {
    return absl::InvalidArgumentError("HCL report does not start with \"HCLA\"");
  }
  HclReport h;
  h.header_version = Le32(bytes, 0x04);
  h.report_size = Le32(bytes, 0x08);
  h.request_type = Le32(bytes, 0x0C);
  h.igvm_version = Le32(bytes, 0x4C4);
  h.report_type = Le32(bytes, 0x4C8);
  h.hash_type = Le32(bytes, 0x4CC);
  RETURN_IF_ERROR(CheckIgvmFields(h, want_type));
  const uint32_t var_size = Le32(bytes, 0x4D0);
  if (var_size > bytes.size() - kHclRuntimeDataOffset) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HCL runtime data (", var_size, " bytes) runs past the end of the report (truncated)"));
  }
  const uint32_t data_size = Le32(bytes, 0x4C0);
  if (data_size != var_size + 20 || h.report_size != kHclIgvmDataOffset + data_size) {
    return absl::InvalidArgumentError("HCL report sizes are inconsistent");
  }
  const std::size_t hw_size = want_type == kHclReportTypeTdx ? kTdReportSize : kSnpReportSize;
  h.hw_report = std::string(bytes.substr(kHclHwReportOffset, hw_size));
  h.runtime_data = std::string(bytes.substr(kHclRuntimeDataOffset, var_size));
  return h;
}

}  // namespace

absl::StatusOr<HclReport> ParseHclReport(absl::string_view bytes) {
  return ParseHcl(bytes, kHclReportTypeSnp);
}

absl::StatusOr<HclReport> ParseTdxHclReport(absl::string_view bytes) {
  return ParseHcl(bytes, kHclReportTypeTdx);
}

absl::Status CheckRuntimeDataDigest(const HclReport& hcl, absl::string_view report_data) {
  const std::string digest = Sha256(hcl.runtime_data);
  const char* field =
      hcl.report_type == kHclReportTypeTdx ? "TDREPORT REPORTDATA" : "SNP REPORT_DATA";
  if (report_data.size() != 64 || !ConstantTimeEquals(report_data.substr(0, 32), digest)) {
    return CheckFailed(kAzCheckRuntimeDataDigest, StatusCode::kUnauthenticated,
                       absl::StrCat("SHA-256 of the HCL runtime data does not match ", field));
  }
  if (report_data.substr(32) != std::string(32, '\0')) {
    return CheckFailed(kAzCheckRuntimeDataDigest, StatusCode::kUnauthenticated,
                       absl::StrCat(field, "[32:64] is not zero"));
  }
  return absl::OkStatus();
}

absl::StatusOr<RuntimeClaims> ParseRuntimeClaims(absl::string_view json) {
  Struct root;
  auto parsed = google::protobuf::util::JsonStringToMessage(std::string(json), &root);
  if (!parsed.ok()) return AkFailed("runtime claims are not a JSON object");
  const Struct* jwk = FindAkJwk(root);
  if (jwk == nullptr) return AkFailed("runtime claims have no \"HCLAkPub\" key");
  RuntimeClaims claims;
  ASSIGN_OR_RETURN(claims.ak, RsaFromJwk(*jwk));
  ASSIGN_OR_RETURN(claims.ak_spki_der, SpkiDer(claims.ak.get()));
  auto user = root.fields().find("user-data");
  if (user != root.fields().end()) {
    auto decoded = HexDecode(user->second.string_value());
    if (!decoded.ok()) return AkFailed("runtime claims \"user-data\" is not hex");
    claims.user_data = *std::move(decoded);
  }
  ReadVmConfiguration(root, claims);
  return claims;
}

absl::Status CheckUserData(const RuntimeClaims& claims, absl::string_view expected) {
  if (!claims.user_data) {
    return CheckFailed(kAzCheckUserData, StatusCode::kUnauthenticated,
                       "runtime claims carry no \"user-data\"");
  }
  std::string padded(expected);
  if (padded.size() < claims.user_data->size()) padded.resize(claims.user_data->size(), '\0');
  if (!ConstantTimeEquals(*claims.user_data, padded)) {
    return CheckFailed(kAzCheckUserData, StatusCode::kUnauthenticated,
                       "runtime claims \"user-data\" does not match the expected binding");
  }
  return absl::OkStatus();
}

}  // namespace kb
