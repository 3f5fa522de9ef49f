#include "keybroker/verifiers/tdx/collateral_set.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/verifiers/tdx/json_span.h"

namespace kb {
namespace tdx {
namespace {

absl::string_view TrimLeft(absl::string_view s) {
  while (!s.empty() && (s[0] == ' ' || s[0] == '\n' || s[0] == '\r' || s[0] == '\t')) {
    s.remove_prefix(1);
  }
  return s;
}

absl::Status AddJson(absl::string_view item, TdxCollateral& out) {
  if (TopLevelValueSpan(item, "tcbInfo").ok()) {
    if (out.tcb_info) return absl::InvalidArgumentError("more than one tcbInfo");
    ASSIGN_OR_RETURN(out.tcb_info, ParseTcbInfo(item));
    return absl::OkStatus();
  }
  if (TopLevelValueSpan(item, "enclaveIdentity").ok()) {
    if (out.qe_identity) return absl::InvalidArgumentError("more than one QE identity");
    ASSIGN_OR_RETURN(out.qe_identity, ParseQeIdentity(item));
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("JSON is neither a tcbInfo nor an enclave identity");
}

absl::Status AddItem(absl::string_view item, TdxCollateral& out) {
  absl::string_view text = TrimLeft(item);
  if (absl::StartsWith(text, "{")) return AddJson(item, out);
  if (absl::StartsWith(text, "-----BEGIN CERTIFICATE-----")) {
    ASSIGN_OR_RETURN(std::vector<X509Ptr> certs, ParsePemCertChain(item));
    for (auto& c : certs) out.issuer_certs.push_back(std::move(c));
    return absl::OkStatus();
  }
  auto crl = ParseCrl(item);
  if (!crl.ok()) {
    return absl::InvalidArgumentError("not a tcbInfo, QE identity, PEM certificate or CRL");
  }
  out.crls.push_back(std::move(crl).value());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TdxCollateral> SortCollateral(const std::vector<std::string>& items) {
  TdxCollateral out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (auto s = AddItem(items[i], out); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("collateral item ", i, ": ", s.message()));
    }
  }
  return out;
}

}  // namespace tdx
}  // namespace kb
