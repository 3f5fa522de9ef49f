#include "keybroker/verifiers/tdx/tdx_verifier.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "keybroker/verifiers/tdx/checks.h"
#include "keybroker/verifiers/tdx/collateral_checks.h"
#include "keybroker/verifiers/tdx/quote_checks.h"

namespace kb {
namespace tdx {
namespace {

using absl::StatusCode;

absl::StatusOr<TdxQuote> ParseChecked(absl::string_view bytes) {
  auto header = ParseTdxQuoteHeader(bytes);
  if (!header.ok()) {
    return CheckFailed(kCheckHeader, StatusCode::kInvalidArgument, header.status().message());
  }
  RETURN_IF_ERROR(CheckHeader(*header));
  auto quote = ParseTdxQuote(bytes);
  if (!quote.ok()) {
    return CheckFailed(kCheckParse, StatusCode::kInvalidArgument, quote.status().message());
  }
  return quote;
}

// Certificates embedded in the quote that may issue CRLs (the PCK CA and the root).
std::vector<X509Ptr> EmbeddedIssuers(const TdxQuote& quote) {
  auto certs = ParsePemCertChain(quote.pck_cert_data);
  if (!certs.ok() || certs->empty()) return {};
  certs->erase(certs->begin());  // the leaf issues nothing
  return std::move(certs).value();
}

absl::Status CheckTcb(const TdxQuote& quote, const PckChain& pck, const TdxCollateral* c,
                      TdxClaims& claims) {
  if (c == nullptr || !c->tcb_info) return absl::OkStatus();  // 'collateral' enforced presence
  ASSIGN_OR_RETURN(TcbEvaluation eval, EvaluateTdxTcb(quote.body, pck.info, *c->tcb_info));
  if (eval.status == TcbStatus::kTcbNotSupported || eval.status == TcbStatus::kRevoked) {
    return CheckFailed(kCheckTcbStatus, StatusCode::kUnauthenticated,
                       absl::StrCat("platform TCB is ", TcbStatusName(eval.status)));
  }
  claims.tcb_status = eval.status;
  claims.advisory_ids = std::move(eval.advisory_ids);
  claims.tcb_date = std::move(eval.tcb_date);
  claims.tdx_module_status = eval.module_status;
  return absl::OkStatus();
}

absl::Status CheckQe(const TdxQuote& quote, const TdxCollateral* c, TdxClaims& claims) {
  if (c == nullptr || !c->qe_identity) return absl::OkStatus();
  ASSIGN_OR_RETURN(QeIdentityEvaluation eval, EvaluateQeIdentity(quote.qe_report, *c->qe_identity));
  if (eval.status == TcbStatus::kRevoked) {
    return CheckFailed(kCheckQeIdentity, StatusCode::kUnauthenticated, "QE TCB is Revoked");
  }
  claims.qe_identity_status = eval.status;
  // As Intel's quote verification library does: an OutOfDate quoting enclave makes the
  // platform's verdict OutOfDate too, so a policy on tdx.tcb_status alone cannot miss it.
  if (claims.tcb_status != TcbStatus::kNotEvaluated) {
    claims.tcb_status = ConvergeTcbStatus(claims.tcb_status, eval.status);
  }
  return absl::OkStatus();
}

TdxClaims ClaimsFrom(const TdxQuote& q, const PckChain& pck) {
  const TdReportBody& b = q.body;
  TdxClaims c;
  c.quote_version = q.header.version;
  c.mr_td = HexEncode(b.mr_td);
  for (std::size_t i = 0; i < c.rtmr.size(); ++i) c.rtmr[i] = HexEncode(b.rtmr[i]);
  c.mr_config_id = HexEncode(b.mr_config_id);
  c.mr_owner = HexEncode(b.mr_owner);
  c.mr_owner_config = HexEncode(b.mr_owner_config);
  c.td_attributes = HexEncode(b.td_attributes);
  c.debug = TdAttributesDebug(b.td_attributes);
  c.xfam = HexEncode(b.xfam);
  c.mr_seam = HexEncode(b.mr_seam);
  c.mr_signer_seam = HexEncode(b.mr_signer_seam);
  c.seam_attributes = HexEncode(b.seam_attributes);
  c.tee_tcb_svn = HexEncode(b.tee_tcb_svn);
  c.report_data = HexEncode(b.report_data);
  c.fmspc = HexEncode(pck.info.fmspc);
  return c;
}

absl::Status CheckCollateralFor(const TdxVerifyInput& in, const TdxQuote& quote,
                                const IntelTrustAnchors& anchors) {
  CollateralRequirements required{in.options.require_tcb_info, in.options.require_qe_identity,
                                  in.options.require_crls};
  TdxCollateral empty;
  const TdxCollateral& c = in.collateral != nullptr ? *in.collateral : empty;
  std::vector<X509Ptr> embedded = EmbeddedIssuers(quote);
  std::vector<X509*> issuers;
  for (const X509Ptr& cert : embedded) issuers.push_back(cert.get());
  return CheckCollateral(c, anchors, issuers, in.now, required);
}

std::vector<X509_CRL*> CrlsOf(const TdxCollateral* c) {
  std::vector<X509_CRL*> out;
  if (c == nullptr) return out;
  for (const X509CrlPtr& crl : c->crls) out.push_back(crl.get());
  return out;
}

}  // namespace

absl::StatusOr<TdxClaims> VerifyTdxQuote(const TdxVerifyInput& in) {
  ASSIGN_OR_RETURN(TdxQuote quote, ParseChecked(in.quote));
  IntelTrustAnchors default_anchors;
  if (in.anchors == nullptr) {
    ASSIGN_OR_RETURN(default_anchors, IntelTrustAnchors::Default());
  }
  const IntelTrustAnchors& anchors = in.anchors != nullptr ? *in.anchors : default_anchors;
  RETURN_IF_ERROR(CheckCollateralFor(in, quote, anchors));
  ASSIGN_OR_RETURN(PckChain pck, CheckPckChain(quote, anchors, CrlsOf(in.collateral), in.now));
  RETURN_IF_ERROR(CheckQeReportSignature(quote, pck.leaf_key.get()));
  RETURN_IF_ERROR(CheckQeReportBinding(quote));
  RETURN_IF_ERROR(CheckQuoteSignature(quote));
  TdxClaims claims = ClaimsFrom(quote, pck);
  RETURN_IF_ERROR(CheckTcb(quote, pck, in.collateral, claims));
  RETURN_IF_ERROR(CheckQe(quote, in.collateral, claims));
  if (in.expected_report_data) RETURN_IF_ERROR(CheckReportData(quote, *in.expected_report_data));
  return claims;
}

}  // namespace tdx
}  // namespace kb
