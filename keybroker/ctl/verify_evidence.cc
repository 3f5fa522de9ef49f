#include "keybroker/ctl/verify_evidence.h"

#include <cstdio>
#include <map>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/files.h"
#include "common/flags.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "keybroker/ctl/verify_evidence_inputs.h"
#include "keybroker/verifiers/api/evidence_types.h"
#include "keybroker/verifiers/evidence_kinds.h"

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

// The flag that names each input of the table of kinds, and its value in `a`.
absl::string_view FlagOf(EvidenceInput in) {
  switch (in) {
    case EvidenceInput::kReport:
      return "--report";
    case EvidenceInput::kVcek:
      return "--vcek";
    case EvidenceInput::kTdQuote:
      return "--td-quote";
    case EvidenceInput::kTpmQuote:
      return "--tpm-quote";
    case EvidenceInput::kTpmSignature:
      return "--tpm-signature";
    case EvidenceInput::kAk:
      return "--ak";
    case EvidenceInput::kCollateral:
      return "--collateral";
  }
  return "";
}

const std::string& PathOf(const VerifyEvidenceArgs& a, EvidenceInput in) {
  switch (in) {
    case EvidenceInput::kReport:
      return a.report;
    case EvidenceInput::kVcek:
      return a.vcek;
    case EvidenceInput::kTdQuote:
      return a.td_quote;
    case EvidenceInput::kTpmQuote:
      return a.tpm_quote;
    case EvidenceInput::kTpmSignature:
      return a.tpm_signature;
    case EvidenceInput::kAk:
      return a.ak;
    case EvidenceInput::kCollateral:
      return a.collateral;
  }
  return a.report;
}

bool Uses(const EvidenceKind& row, EvidenceInput in) {
  return absl::c_linear_search(row.required, in) || absl::c_linear_search(row.optional, in);
}

absl::StatusOr<const EvidenceKind*> RowOf(const VerifyEvidenceArgs& a) {
  const EvidenceKind* row = FindEvidenceKind(a.type);
  if (row == nullptr) {
    return Usage(
        absl::StrCat("--type: unknown evidence type '", a.type, "' (", EvidenceTypeList(), ")"));
  }
  return row;
}

absl::Status CheckRequired(const VerifyEvidenceArgs& a) {
  ASSIGN_OR_RETURN(const EvidenceKind* row, RowOf(a));
  for (EvidenceInput in : row->required) {
    if (PathOf(a, in).empty()) return Usage(absl::StrCat("--type ", a.type, " needs ", FlagOf(in)));
  }
  if (a.report_data.has_value() && a.report_data->size() > 64) {
    return Usage("--report-data: at most 64 bytes");
  }
  return absl::OkStatus();
}

// The files of `a` that `row` uses, read and decoded.
absl::StatusOr<OfflineEvidence> LoadEvidence(const VerifyEvidenceArgs& a, const EvidenceKind& row) {
  OfflineEvidence e;
  ASSIGN_OR_RETURN(e.report, ReadInput(a.report));
  if (Uses(row, EvidenceInput::kVcek)) {
    ASSIGN_OR_RETURN(e.vcek, ReadInput(a.vcek));
  }
  if (Uses(row, EvidenceInput::kTdQuote)) {
    ASSIGN_OR_RETURN(e.td_quote, ReadInput(a.td_quote));
  }
  if (Uses(row, EvidenceInput::kTpmQuote)) {
    ASSIGN_OR_RETURN(e.quote, LoadQuote(a));
  }
  if (Uses(row, EvidenceInput::kAk)) {
    ASSIGN_OR_RETURN(std::string ak, ReadInput(a.ak));
    ASSIGN_OR_RETURN(e.ak, LoadAk(ak));
    if (!absl::StrContains(ak, "-----BEGIN")) {
      ASSIGN_OR_RETURN(e.ak_public, AkPublicArea(ak));
    }
  }
  return e;
}

// The trust of the command line: --cert-chain is the AMD chain for SEV-SNP types and the Intel
// root for TDX types (each row reads the one it needs), --pinned-tcb-signer, --collateral.
// A --collateral problem sets `*input_error`.
absl::StatusOr<VerifierTrust> LoadTrust(const VerifyEvidenceArgs& a, const EvidenceKind& row,
                                        std::string* input_error) {
  VerifierTrust trust;
  ASSIGN_OR_RETURN(trust.amd_chain_pem, ReadInput(a.cert_chain));
  trust.intel_roots_pem = trust.amd_chain_pem;
  ASSIGN_OR_RETURN(trust.intel_pinned_pem, ReadInput(a.pinned_tcb_signer));
  if (Uses(row, EvidenceInput::kCollateral) && !a.collateral.empty()) {
    auto loaded = TdxCollateralCache::LoadDir(a.collateral);
    if (!loaded.ok()) {
      *input_error = absl::StrCat("--collateral: ", loaded.status().message());
      return loaded.status();
    }
    trust.tdx_collateral = std::move(*loaded);
  }
  return trust;
}

absl::StatusOr<Claims> VerifyOffline(const VerifyEvidenceArgs& a, std::string* input_error) {
  ASSIGN_OR_RETURN(const EvidenceKind* row, RowOf(a));
  ASSIGN_OR_RETURN(VerifierTrust trust, LoadTrust(a, *row, input_error));
  ASSIGN_OR_RETURN(OfflineEvidence evidence, LoadEvidence(a, *row));
  return row->verify_offline(evidence, trust, {a.at.value_or(absl::Now()), a.report_data, a.nonce});
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
  ASSIGN_OR_RETURN(const EvidenceKind* row, RowOf(a));
  ASSIGN_OR_RETURN(OfflineEvidence evidence, LoadEvidence(a, *row));
  return row->to_proto(evidence);
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
  for (size_t i = 1; i < args.size();) {
    const std::string flag(FlagName(args[i]));
    auto it = flags.find(flag);
    if (it == flags.end()) return Usage(absl::StrCat("verify-evidence: unknown flag '", flag, "'"));
    ASSIGN_OR_RETURN(std::string value, TakeFlagValue(args, &i, FlagKind::kValued));
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
  absl::StatusOr<Claims> claims = VerifyOffline(a, &input_error);
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
  // Verified, but with nothing to judge the platform's TCB by: say so where a reader looks
  // (the claims on stdout stay JSON).
  if (auto it = claims->attributes.find("tdx.tcb_status");
      it != claims->attributes.end() && it->second == "NotEvaluated") {
    std::fprintf(stderr,
                 "keybrokerctl: verify-evidence: warning: the TCB was not evaluated "
                 "(tdx.tcb_status is NotEvaluated): give --collateral DIR with the platform's "
                 "tcbInfo and QE identity; a policy that requires an evaluated TCB refuses this "
                 "evidence\n");
  }
  const std::string json = ClaimsToJson(*claims);
  std::fwrite(json.data(), 1, json.size(), stdout);
  return std::fflush(stdout) == 0 ? kExitOk : kExitUsage;
}

}  // namespace kb
