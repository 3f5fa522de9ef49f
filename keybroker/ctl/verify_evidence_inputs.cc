#include "keybroker/ctl/verify_evidence_inputs.h"

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/crypto.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"

namespace kb {
namespace {

absl::Status Usage(absl::string_view why) { return absl::InvalidArgumentError(why); }

}  // namespace

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  if (path.empty()) return std::string();
  return ReadFile(path);
}

absl::StatusOr<std::vector<std::string>> ParsePcrFile(const std::string& data) {
  std::vector<std::string> pcrs;
  const bool text = absl::c_all_of(data, [](char c) {
    return absl::ascii_isprint(static_cast<unsigned char>(c)) || absl::ascii_isspace(c);
  });
  if (!text) {
    if (data.empty() || data.size() % 32 != 0 || data.size() > 24 * 32) {
      return Usage("--pcrs: binary PCR files hold 1..24 SHA-256 values");
    }
    for (size_t i = 0; i < data.size(); i += 32) pcrs.push_back(data.substr(i, 32));
    return pcrs;
  }
  for (absl::string_view line : absl::StrSplit(data, '\n')) {
    line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    absl::ConsumePrefix(&line, "sha256:");
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t:="), absl::SkipEmpty());
    uint32_t index = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &index) || index > 23) {
      return Usage(absl::StrCat("--pcrs: bad line '", line, "' (want INDEX HEX)"));
    }
    auto digest = HexDecode(parts[1]);
    if (!digest.ok() || digest->size() != 32) {
      return Usage(absl::StrCat("--pcrs: PCR ", index, " is not a SHA-256 hex digest"));
    }
    if (pcrs.size() <= index) pcrs.resize(index + 1);
    pcrs[index] = *digest;
  }
  return pcrs;
}

absl::StatusOr<AzureTpmQuote> LoadQuote(const VerifyEvidenceArgs& a) {
  ASSIGN_OR_RETURN(std::string quote, ReadInput(a.tpm_quote));
  AzureTpmQuote out;
  if (a.tpm_signature.empty()) {
    // The azure-cvm-tooling container (signature, attest and PCR values together).
    return ParseAzureBincodeQuote(quote);
  }
  out.attest = std::move(quote);
  ASSIGN_OR_RETURN(out.signature, ReadInput(a.tpm_signature));
  out.encoding = ParseTpmtSignature(out.signature, "signature").ok()
                     ? TpmSignatureEncoding::kTpmtSignature
                     : TpmSignatureEncoding::kRawRsassaSha256;
  if (!a.pcrs.empty()) {
    ASSIGN_OR_RETURN(std::string data, ReadInput(a.pcrs));
    ASSIGN_OR_RETURN(out.pcrs_sha256, ParsePcrFile(data));
  }
  return out;
}

absl::StatusOr<TdxInputs> LoadTdxInputs(const VerifyEvidenceArgs& a, std::string* input_error) {
  ASSIGN_OR_RETURN(std::string roots, ReadInput(a.cert_chain));
  ASSIGN_OR_RETURN(std::string pins, ReadInput(a.pinned_tcb_signer));
  TdxInputs out;
  ASSIGN_OR_RETURN(
      out.anchors,
      tdx::IntelTrustAnchors::FromPem(
          roots.empty() ? std::string(tdx::EmbeddedIntelSgxRootCaPem()) : roots, pins));
  if (!a.collateral.empty()) {
    auto loaded = TdxCollateralCache::LoadDir(a.collateral);
    if (!loaded.ok()) {
      *input_error = absl::StrCat("--collateral: ", loaded.status().message());
      return loaded.status();
    }
    out.cache = std::move(*loaded);
  }
  return out;
}

std::pair<const tdx::TdxCollateral*, tdx::TdxVerifyOptions> TdxCollateralFor(
    const TdxInputs& in, absl::string_view quote) {
  tdx::TdxVerifyOptions options{false, false, false};
  if (!in.cache) return {nullptr, options};
  const tdx::TdxCollateral* c = in.cache->ForQuote(quote);
  options.require_tcb_info = true;
  options.require_qe_identity = c->qe_identity.has_value();
  options.require_crls = !c->crls.empty();
  return {c, options};
}

}  // namespace kb
