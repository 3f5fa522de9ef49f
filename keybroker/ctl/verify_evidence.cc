#include "keybroker/ctl/verify_evidence.h"

#include <cstdio>
#include <map>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/files.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"
#include "google/protobuf/util/json_util.h"
#include "keybroker/ctl/verify_evidence_inputs.h"
#include "keybroker/verifiers/azure/azure_claims.h"
#include "keybroker/verifiers/azure/azure_snp_verifier.h"
#include "keybroker/verifiers/azure/azure_tdx_vtpm_verifier.h"
#include "keybroker/verifiers/snp/snp_claims.h"
#include "keybroker/verifiers/snp/snp_verifier.h"
#include "keybroker/verifiers/tdx/tdx_claims.h"
#include "keybroker/verifiers/tdx/tdx_evidence_verifier.h"
#include "keybroker/verifiers/tdx/tdx_verifier.h"

namespace kb {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

absl::Status Usage(absl::string_view why) { return absl::InvalidArgumentError(why); }

absl::StatusOr<std::string> Hex(absl::string_view flag, absl::string_view value) {
  auto bytes = HexDecode(value);
  if (!bytes.ok()) return Usage(absl::StrCat(flag, ": not hex"));
  return bytes;
}

absl::Status CheckRequired(const VerifyEvidenceArgs& a) {
  std::vector<std::pair<const char*, const std::string*>> need;
  if (a.type == "snp") {
    need = {{"--report", &a.report}, {"--vcek", &a.vcek}};
  } else if (a.type == "tdx") {
    need = {{"--report", &a.report}};
  } else if (a.type == "az-snp-vtpm") {
    need = {{"--report", &a.report}, {"--vcek", &a.vcek}, {"--tpm-quote", &a.tpm_quote}};
  } else if (a.type == "tpm") {
    need = {{"--tpm-quote", &a.tpm_quote}, {"--tpm-signature", &a.tpm_signature}, {"--ak", &a.ak}};
  } else if (a.type == "az-tdx-vtpm") {
    need = {{"--report", &a.report}, {"--td-quote", &a.td_quote}, {"--tpm-quote", &a.tpm_quote}};
  } else {
    return Usage(absl::StrCat("--type: unknown evidence type '", a.type,
                              "' (snp, tdx, az-snp-vtpm, az-tdx-vtpm, tpm)"));
  }
  for (const auto& [flag, value] : need) {
    if (value->empty()) return Usage(absl::StrCat("--type ", a.type, " needs ", flag));
  }
  if (a.report_data.has_value() && a.report_data->size() > 64) {
    return Usage("--report-data: at most 64 bytes");
  }
  return absl::OkStatus();
}

// A report given as hex text (e.g. virtee's report_milan.hex) is decoded.
std::string MaybeHex(const std::string& data) {
  if (data.size() == kSnpReportSize) return data;
  auto bytes = HexDecode(absl::StripAsciiWhitespace(data));
  return bytes.ok() ? *bytes : data;
}

absl::Time VerifyTime(const VerifyEvidenceArgs& a) { return a.at.value_or(absl::Now()); }

absl::StatusOr<Claims> VerifySnp(const VerifyEvidenceArgs& a) {
  SnpVerifyInput in;
  ASSIGN_OR_RETURN(std::string report, ReadInput(a.report));
  in.report = MaybeHex(report);
  ASSIGN_OR_RETURN(in.vcek, ReadInput(a.vcek));
  ASSIGN_OR_RETURN(in.chain_pem, ReadInput(a.cert_chain));
  in.verify_time = VerifyTime(a);
  in.expected_report_data = a.report_data;
  ASSIGN_OR_RETURN(SnpClaims snp, VerifySnpReport(in));
  return ClaimsFromSnp(snp);
}

absl::StatusOr<Claims> VerifyTdx(const VerifyEvidenceArgs& a, std::string* input_error) {
  ASSIGN_OR_RETURN(std::string quote, ReadInput(a.report));
  ASSIGN_OR_RETURN(TdxInputs inputs, LoadTdxInputs(a, input_error));
  tdx::TdxVerifyInput in;
  in.quote = quote;
  in.anchors = &inputs.anchors;
  in.now = VerifyTime(a);
  std::tie(in.collateral, in.options) = TdxCollateralFor(inputs, quote);
  ASSIGN_OR_RETURN(tdx::TdxClaims claims, tdx::VerifyTdxQuote(in));
  if (a.report_data.has_value()) {
    RETURN_IF_ERROR(CheckReportDataBinding(claims.report_data, *a.report_data));
  }
  return ClaimsFromTdx(claims);
}

absl::StatusOr<Claims> VerifyAzureSnp(const VerifyEvidenceArgs& a) {
  AzureSnpVtpmInput in;
  ASSIGN_OR_RETURN(in.hcl_report, ReadInput(a.report));
  ASSIGN_OR_RETURN(in.vcek, ReadInput(a.vcek));
  ASSIGN_OR_RETURN(in.chain_pem, ReadInput(a.cert_chain));
  in.verify_time = VerifyTime(a);
  in.expected_user_data = a.report_data;
  in.expected_nonce = a.nonce;
  ASSIGN_OR_RETURN(in.quote, LoadQuote(a));
  ASSIGN_OR_RETURN(AzureSnpVtpmClaims az, VerifyAzureSnpVtpm(in));
  return ClaimsFromAzureSnp(az);
}

absl::StatusOr<Claims> VerifyAzureTdx(const VerifyEvidenceArgs& a, std::string* input_error) {
  AzureTdxVtpmInput in;
  ASSIGN_OR_RETURN(in.hcl_report, ReadInput(a.report));
  ASSIGN_OR_RETURN(in.td_quote, ReadInput(a.td_quote));
  ASSIGN_OR_RETURN(TdxInputs inputs, LoadTdxInputs(a, input_error));
  in.anchors = &inputs.anchors;
  std::tie(in.collateral, in.options) = TdxCollateralFor(inputs, in.td_quote);
  in.verify_time = VerifyTime(a);
  in.expected_user_data = a.report_data;
  in.expected_nonce = a.nonce;
  ASSIGN_OR_RETURN(in.quote, LoadQuote(a));
  ASSIGN_OR_RETURN(AzureTdxVtpmClaims az, VerifyAzureTdxVtpm(in));
  return ClaimsFromAzureTdx(az);
}

absl::StatusOr<Claims> VerifyTpm(const VerifyEvidenceArgs& a) {
  ASSIGN_OR_RETURN(std::string ak_bytes, ReadInput(a.ak));
  ASSIGN_OR_RETURN(EvpPkeyPtr ak, LoadAk(ak_bytes));
  ASSIGN_OR_RETURN(AzureTpmQuote quote, LoadQuote(a));
  ASSIGN_OR_RETURN(AzureQuoteClaims q, VerifyAzureTpmQuote(ak.get(), quote, a.nonce));
  Claims c;
  c.evidence_type = "tpm";
  c.attributes["tpm.nonce"] = q.nonce;
  for (const auto& [index, value] : q.pcrs) c.pcrs["sha256"][index] = value;
  return c;
}

v1::TpmQuoteEvidence QuoteToProto(const AzureTpmQuote& quote) {
  v1::TpmQuoteEvidence out;
  out.set_attest(quote.attest);
  out.set_signature(quote.signature);
  for (size_t i = 0; i < quote.pcrs_sha256.size(); ++i) {
    if (quote.pcrs_sha256[i].empty()) continue;
    v1::PcrValue* pcr = out.add_pcrs();
    pcr->set_bank("sha256");
    pcr->set_index(static_cast<uint32_t>(i));
    pcr->set_digest(quote.pcrs_sha256[i]);
  }
  return out;
}

// Writes BuildEvidence(a) as protobuf JSON to a.json_evidence_out.
absl::Status WriteEvidenceJson(const VerifyEvidenceArgs& a) {
  ASSIGN_OR_RETURN(v1::Evidence evidence, BuildEvidence(a));
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  if (!google::protobuf::util::MessageToJsonString(evidence, &json, options).ok()) {
    return absl::InternalError("cannot print the evidence as JSON");
  }
  return WriteFileAtomic(a.json_evidence_out, json, 0644);
}

}  // namespace

absl::StatusOr<v1::Evidence> BuildEvidence(const VerifyEvidenceArgs& a) {
  v1::Evidence e;
  if (a.type == "snp") {
    ASSIGN_OR_RETURN(std::string report, ReadInput(a.report));
    e.mutable_snp_report()->set_report(MaybeHex(report));
    ASSIGN_OR_RETURN(*e.mutable_snp_report()->mutable_vcek(), ReadInput(a.vcek));
  } else if (a.type == "tdx") {
    ASSIGN_OR_RETURN(*e.mutable_tdx_quote()->mutable_quote(), ReadInput(a.report));
  } else if (a.type == "az-snp-vtpm") {
    v1::AzureVtpmEvidence* az = e.mutable_azure_vtpm();
    az->set_kind(v1::AZURE_VTPM_KIND_SNP);
    ASSIGN_OR_RETURN(*az->mutable_hcl_report(), ReadInput(a.report));
    ASSIGN_OR_RETURN(*az->mutable_vcek(), ReadInput(a.vcek));
    ASSIGN_OR_RETURN(AzureTpmQuote quote, LoadQuote(a));
    *az->mutable_quote() = QuoteToProto(quote);
  } else if (a.type == "az-tdx-vtpm") {
    v1::AzureVtpmEvidence* az = e.mutable_azure_vtpm();
    az->set_kind(v1::AZURE_VTPM_KIND_TDX);
    ASSIGN_OR_RETURN(*az->mutable_hcl_report(), ReadInput(a.report));
    ASSIGN_OR_RETURN(*az->mutable_td_quote(), ReadInput(a.td_quote));
    ASSIGN_OR_RETURN(AzureTpmQuote quote, LoadQuote(a));
    *az->mutable_quote() = QuoteToProto(quote);
  } else if (a.type == "tpm") {
    ASSIGN_OR_RETURN(AzureTpmQuote quote, LoadQuote(a));
    *e.mutable_tpm_quote() = QuoteToProto(quote);
    ASSIGN_OR_RETURN(std::string ak, ReadInput(a.ak));
    if (absl::StrContains(ak, "-----BEGIN")) {
      return Usage("--json-evidence-out needs --ak as a TPMT_PUBLIC or TPM2B_PUBLIC, not PEM");
    }
    ASSIGN_OR_RETURN(*e.mutable_tpm_quote()->mutable_ak_public(), AkPublicArea(ak));
  } else {
    return Usage(absl::StrCat("--type ", a.type, ": no kb.v1.Evidence form"));
  }
  return e;
}

absl::StatusOr<VerifyEvidenceArgs> ParseVerifyEvidenceArgs(const std::vector<std::string>& args) {
  VerifyEvidenceArgs a;
  std::string nonce, report_data, at;
  const std::map<std::string, std::string*> flags = {
      {"--type", &a.type},
      {"--report", &a.report},
      {"--vcek", &a.vcek},
      {"--cert-chain", &a.cert_chain},
      {"--collateral", &a.collateral},
      {"--td-quote", &a.td_quote},
      {"--tpm-quote", &a.tpm_quote},
      {"--tpm-signature", &a.tpm_signature},
      {"--ak", &a.ak},
      {"--pcrs", &a.pcrs},
      {"--pinned-tcb-signer", &a.pinned_tcb_signer},
      {"--nonce", &nonce},
      {"--report-data", &report_data},
      {"--at", &at},
      {"--json-evidence-out", &a.json_evidence_out},
  };
  for (size_t i = 1; i < args.size(); ++i) {
    std::string flag = args[i], value;
    const size_t eq = flag.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    auto it = flags.find(flag);
    if (it == flags.end()) return Usage(absl::StrCat("verify-evidence: unknown flag '", flag, "'"));
    if (!inline_value) {
      if (i + 1 >= args.size()) return Usage(absl::StrCat(flag, " needs a value"));
      value = args[++i];
    }
    if (value.empty()) return Usage(absl::StrCat(flag, " needs a value"));
    *it->second = value;
  }
  if (a.type.empty()) return Usage("verify-evidence needs --type");
  if (!nonce.empty()) {
    ASSIGN_OR_RETURN(a.nonce, Hex("--nonce", nonce));
  }
  if (!report_data.empty()) {
    ASSIGN_OR_RETURN(a.report_data, Hex("--report-data", report_data));
  }
  if (!at.empty()) {
    absl::Time t;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, at, &t, &err)) {
      return Usage(absl::StrCat("--at: not an RFC 3339 time (", err, ")"));
    }
    a.at = t;
  }
  RETURN_IF_ERROR(CheckRequired(a));
  return a;
}

std::string VerifyEvidenceUsage() {
  return "usage: keybrokerctl verify-evidence --type {snp,tdx,az-snp-vtpm,az-tdx-vtpm,tpm}\n"
         "         [--report FILE] [--vcek FILE] [--cert-chain FILE] [--collateral DIR]\n"
         "         [--td-quote FILE] [--tpm-quote FILE [--tpm-signature FILE]] [--ak FILE]\n"
         "         [--pcrs FILE]\n"
         "         [--nonce HEX] [--report-data HEX] [--at RFC3339] [--pinned-tcb-signer FILE]\n"
         "         [--json-evidence-out FILE]\n"
         "  Verifies evidence offline (no broker) and prints the verified claims as JSON.\n"
         "  snp          --report (raw or hex) --vcek (PEM/DER) [--cert-chain ASK+ARK PEM]\n"
         "  tdx          --report QUOTE [--collateral DIR] [--cert-chain Intel root PEM]\n"
         "  az-snp-vtpm  --report HCL --vcek --tpm-quote (attest, or the bincode container)\n"
         "  az-tdx-vtpm  --report HCL --td-quote QUOTE --tpm-quote [--collateral DIR]\n"
         "               [--cert-chain Intel root PEM]\n"
         "  tpm          --tpm-quote ATTEST --tpm-signature SIG\n"
         "               --ak (TPMT_PUBLIC, TPM2B_PUBLIC or PEM)\n"
         "  --pcrs: SHA-256 PCR values: a tpm2-tools PCR-values file, raw 32-byte values or\n"
         "  INDEX HEX lines.\n"
         "  --report-data: expected prefix of REPORT_DATA (Azure: runtime claims user-data)\n"
         "  --nonce: expected quote extraData. --at: verification time (default now).\n"
         "  --json-evidence-out FILE: also write the evidence as kb.v1.Evidence JSON (input\n"
         "  of `keybrokerctl policy test --evidence FILE`).\n"
         "  Exit 0 verified; 1 a check failed (named on stderr); 2 usage or I/O error.\n";
}

int RunVerifyEvidence(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::fputs(VerifyEvidenceUsage().c_str(), stdout);
      return kExitOk;
    }
  }
  auto parsed = ParseVerifyEvidenceArgs(args);
  if (!parsed.ok()) {
    std::fprintf(stderr, "keybrokerctl: %s\n%s", std::string(parsed.status().message()).c_str(),
                 VerifyEvidenceUsage().c_str());
    return kExitUsage;
  }
  const VerifyEvidenceArgs& a = *parsed;
  for (const std::string* path : {&a.report, &a.vcek, &a.cert_chain, &a.td_quote, &a.tpm_quote,
                                  &a.tpm_signature, &a.ak, &a.pcrs, &a.pinned_tcb_signer}) {
    if (auto read = ReadInput(*path); !read.ok()) {
      std::fprintf(stderr, "keybrokerctl: %s\n", std::string(read.status().message()).c_str());
      return kExitUsage;
    }
  }
  if (!a.json_evidence_out.empty()) {
    // Written whatever the verification says: `policy test` reports why it fails.
    if (absl::Status s = WriteEvidenceJson(a); !s.ok()) {
      std::fprintf(stderr, "keybrokerctl: --json-evidence-out: %s\n",
                   std::string(s.message()).c_str());
      return kExitUsage;
    }
  }
  std::string input_error;
  absl::StatusOr<Claims> claims = absl::UnknownError("unreachable");
  if (a.type == "snp") claims = VerifySnp(a);
  if (a.type == "tdx") claims = VerifyTdx(a, &input_error);
  if (a.type == "az-snp-vtpm") claims = VerifyAzureSnp(a);
  if (a.type == "az-tdx-vtpm") claims = VerifyAzureTdx(a, &input_error);
  if (a.type == "tpm") claims = VerifyTpm(a);
  if (!claims.ok()) {
    const std::string msg(claims.status().message());
    // File and directory problems are the operator's inputs: exit 2. Everything else is the
    // evidence failing a named check.
    const bool io = !input_error.empty() ||
                    (absl::IsInvalidArgument(claims.status()) && absl::StartsWith(msg, "--"));
    std::fprintf(stderr, "keybrokerctl: verify-evidence: %s\n",
                 input_error.empty() ? msg.c_str() : input_error.c_str());
    return io ? kExitUsage : kExitFailed;
  }
  const std::string json = ClaimsToJson(*claims);
  std::fwrite(json.data(), 1, json.size(), stdout);
  return std::fflush(stdout) == 0 ? kExitOk : kExitUsage;
}

}  // namespace kb
