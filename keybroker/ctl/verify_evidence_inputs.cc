#include "keybroker/ctl/verify_evidence_inputs.h"

#include <openssl/pem.h>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/crypto.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"
#include "keybroker/verifiers/azure/azure_quote.h"

namespace kb {
namespace {

// An --ak or --pcrs input that cannot be read: a usage error of `verify-evidence`.
absl::Status BadInput(absl::string_view why) { return absl::InvalidArgumentError(why); }

// tpm2-tools' PCR-values file (see ParseTpm2ToolsPcrs): sizes of its native structures.
constexpr size_t kSelectionSize = 132;   // TPML_PCR_SELECTION
constexpr size_t kSelectionEntry = 8;    // TPMS_PCR_SELECTION with its padding byte
constexpr size_t kDigestListSize = 532;  // TPML_DIGEST
constexpr size_t kDigestEntry = 66;      // TPM2B_DIGEST
constexpr uint32_t kMaxBanks = 16, kMaxSelectBytes = 4, kMaxDigestsPerList = 8;

uint32_t Le(absl::string_view b, size_t offset, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[offset + i]);
  return v;
}

// The name of a PCR bank, and its digest size; empty for a bank we do not support.
std::pair<std::string, size_t> Bank(uint32_t alg) {
  if (alg == TPM2_ALG_SHA1) return {"sha1", 20};
  if (alg == TPM2_ALG_SHA256) return {"sha256", 32};
  if (alg == TPM2_ALG_SHA384) return {"sha384", 48};
  return {"", 0};
}

// The (hash algorithm, PCR index) of every PCR the file's selection selects, in order.
absl::StatusOr<std::vector<std::pair<uint32_t, uint32_t>>> SelectedPcrs(absl::string_view data) {
  const uint32_t banks = Le(data, 0, 4);
  if (banks > kMaxBanks) return BadInput("--pcrs: more than 16 PCR banks selected");
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (uint32_t b = 0; b < banks; ++b) {
    const size_t at = 4 + b * kSelectionEntry;
    const uint32_t alg = Le(data, at, 2), select_bytes = Le(data, at + 2, 1);
    if (select_bytes > kMaxSelectBytes) return BadInput("--pcrs: PCR bitmap longer than 4 bytes");
    for (uint32_t i = 0; i < select_bytes * 8; ++i) {
      if (Le(data, at + 3 + i / 8, 1) & (1u << (i % 8))) out.emplace_back(alg, i);
    }
  }
  return out;
}

// Every digest of the file's TPML_DIGEST lists, in order.
absl::StatusOr<std::vector<std::string>> DigestValues(absl::string_view data) {
  std::vector<std::string> out;
  const uint32_t lists = Le(data, kSelectionSize, 4);
  for (uint32_t l = 0; l < lists; ++l) {
    const size_t list = kSelectionSize + 4 + l * kDigestListSize;
    const uint32_t count = Le(data, list, 4);
    if (count > kMaxDigestsPerList) return BadInput("--pcrs: more than 8 digests in a TPML_DIGEST");
    for (uint32_t d = 0; d < count; ++d) {
      const size_t at = list + 4 + d * kDigestEntry;
      const uint32_t size = Le(data, at, 2);
      if (size > kDigestEntry - 2) return BadInput("--pcrs: PCR digest longer than 64 bytes");
      out.emplace_back(data.substr(at + 2, size));
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> AkPublicArea(absl::string_view data) {
  if (ParseTpmtPublic(data, "--ak").ok()) return std::string(data);
  const size_t tpm2b_size =
      data.size() > 2 ? (static_cast<uint8_t>(data[0]) << 8) | static_cast<uint8_t>(data[1]) : 0;
  if (data.size() > 2 && tpm2b_size == data.size() - 2 &&
      ParseTpmtPublic(data.substr(2), "--ak").ok()) {
    return std::string(data.substr(2));  // TPM2B_PUBLIC: the size prefix dropped
  }
  return BadInput("--ak: neither a PEM public key, a TPMT_PUBLIC nor a TPM2B_PUBLIC");
}

absl::StatusOr<EvpPkeyPtr> LoadAk(const std::string& data) {
  if (absl::StrContains(data, "-----BEGIN")) {
    BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    EvpPkeyPtr key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key) return BadInput("--ak: PEM does not hold a public key");
    return key;
  }
  ASSIGN_OR_RETURN(std::string area, AkPublicArea(data));
  ASSIGN_OR_RETURN(TPMT_PUBLIC pub, ParseTpmtPublic(area, "--ak TPMT_PUBLIC"));
  return PublicKeyFromTpmt(pub);
}

bool IsTpm2ToolsPcrFile(absl::string_view data) {
  if (data.size() < kSelectionSize + 4 + kDigestListSize) return false;
  const size_t lists = data.size() - kSelectionSize - 4;
  return lists % kDigestListSize == 0 && Le(data, kSelectionSize, 4) == lists / kDigestListSize;
}

absl::StatusOr<std::vector<v1::PcrValue>> ParseTpm2ToolsPcrs(absl::string_view data) {
  if (!IsTpm2ToolsPcrFile(data)) return BadInput("--pcrs: not a tpm2-tools PCR-values file");
  ASSIGN_OR_RETURN(auto selected, SelectedPcrs(data));
  ASSIGN_OR_RETURN(std::vector<std::string> digests, DigestValues(data));
  if (selected.size() != digests.size()) {
    return BadInput(absl::StrCat("--pcrs: ", selected.size(), " PCRs selected but ", digests.size(),
                                 " values given"));
  }
  std::vector<v1::PcrValue> out;
  for (size_t i = 0; i < selected.size(); ++i) {
    const auto [bank, size] = Bank(selected[i].first);
    if (bank.empty()) return BadInput("--pcrs: unsupported PCR bank (sha1, sha256, sha384)");
    if (digests[i].size() != size) {
      return BadInput(absl::StrCat("--pcrs: ", bank, " PCR ", selected[i].second,
                                   " has a value of the wrong size"));
    }
    v1::PcrValue& v = out.emplace_back();
    v.set_bank(bank);
    v.set_index(selected[i].second);
    v.set_digest(digests[i]);
  }
  return out;
}

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  if (path.empty()) return std::string();
  return ReadFile(path);
}

absl::StatusOr<std::vector<std::string>> ParsePcrFile(const std::string& data) {
  std::vector<std::string> pcrs;
  if (IsTpm2ToolsPcrFile(data)) {
    ASSIGN_OR_RETURN(std::vector<v1::PcrValue> values, ParseTpm2ToolsPcrs(data));
    for (const v1::PcrValue& v : values) {
      if (v.bank() != "sha256") return BadInput("--pcrs: only SHA-256 PCR values are supported");
      if (pcrs.size() <= v.index()) pcrs.resize(v.index() + 1);
      pcrs[v.index()] = v.digest();
    }
    return pcrs;
  }
  const bool text = absl::c_all_of(data, [](char c) {
    return absl::ascii_isprint(static_cast<unsigned char>(c)) || absl::ascii_isspace(c);
  });
  if (!text) {
    if (data.empty() || data.size() % 32 != 0 || data.size() > 24 * 32) {
      return BadInput("--pcrs: binary PCR files hold 1..24 SHA-256 values");
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
      return BadInput(absl::StrCat("--pcrs: bad line '", line, "' (want INDEX HEX)"));
    }
    auto digest = HexDecode(parts[1]);
    if (!digest.ok() || digest->size() != 32) {
      return BadInput(absl::StrCat("--pcrs: PCR ", index, " is not a SHA-256 hex digest"));
    }
    if (pcrs.size() <= index) pcrs.resize(index + 1);
    pcrs[index] = *digest;
  }
  return pcrs;
}

absl::StatusOr<TpmQuote> LoadQuote(const VerifyEvidenceArgs& a) {
  ASSIGN_OR_RETURN(std::string quote, ReadInput(a.tpm_quote));
  TpmQuote out;
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

}  // namespace kb
