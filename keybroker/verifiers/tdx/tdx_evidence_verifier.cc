#include "keybroker/verifiers/tdx/tdx_evidence_verifier.h"

#include <openssl/pem.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/files.h"
#include "common/secret_bytes.h"
#include "common/status_macros.h"
#include "keybroker/verifiers/tdx/pck_extensions.h"
#include "keybroker/verifiers/tdx/tdx_claims.h"
#include "keybroker/verifiers/tdx/tdx_collateral_lookup.h"
#include "keybroker/verifiers/tdx/tdx_quote.h"
#include "keybroker/verifiers/tdx/tdx_verifier.h"

namespace kb {
namespace {

using absl::StatusCode;

// The FMSPC in the PCK leaf certificate of `quote`; empty if it cannot be read (the
// verification pipeline then names the problem).
std::string QuoteFmspc(absl::string_view quote) {
  auto q = tdx::ParseTdxQuote(quote);
  if (!q.ok() || q->pck_cert_data_type != 5) return "";
  BioPtr bio(BIO_new_mem_buf(q->pck_cert_data.data(), static_cast<int>(q->pck_cert_data.size())));
  X509Ptr leaf(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!leaf) return "";
  auto info = tdx::ParsePckExtensions(leaf.get());
  return info.ok() ? info->fmspc : "";
}

absl::Status ReadDirFiles(const std::filesystem::path& dir, int depth,
                          std::vector<std::string>& items) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat("tdx collateral dir ", dir.string(), ": ", ec.message()));
  }
  for (const auto& entry : it) {
    if (entry.is_directory(ec) && depth == 0) {
      RETURN_IF_ERROR(ReadDirFiles(entry.path(), 1, items));
    } else if (entry.is_regular_file(ec)) {
      ASSIGN_OR_RETURN(std::string bytes, ReadFile(entry.path().string()));
      items.push_back(std::move(bytes));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TdxCollateralCache>> TdxCollateralCache::FromItems(
    const std::vector<std::string>& items) {
  std::vector<std::string> shared, tcb_infos;
  for (size_t i = 0; i < items.size(); ++i) {
    auto one = tdx::SortCollateral({items[i]});
    if (!one.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tdx collateral item ", i, ": ", one.status().message()));
    }
    (one->tcb_info.has_value() ? tcb_infos : shared).push_back(items[i]);
  }
  std::unique_ptr<TdxCollateralCache> cache(new TdxCollateralCache());
  ASSIGN_OR_RETURN(cache->shared_, tdx::SortCollateral(shared));
  for (const std::string& tcb : tcb_infos) {
    std::vector<std::string> set = shared;
    set.push_back(tcb);
    ASSIGN_OR_RETURN(tdx::TdxCollateral c, tdx::SortCollateral(set));
    if (!c.tcb_info.has_value()) continue;
    std::string fmspc = c.tcb_info.value().fmspc;
    cache->by_fmspc_[std::move(fmspc)] = std::move(c);  // a later tcbInfo for one FMSPC replaces
  }
  return cache;
}

absl::StatusOr<std::unique_ptr<TdxCollateralCache>> TdxCollateralCache::LoadDir(
    const std::string& dir) {
  std::vector<std::string> items;
  RETURN_IF_ERROR(ReadDirFiles(dir, 0, items));
  return FromItems(items);
}

const tdx::TdxCollateral* TdxCollateralCache::ForQuote(absl::string_view quote) const {
  auto it = by_fmspc_.find(QuoteFmspc(quote));
  if (it != by_fmspc_.end()) return &it->second;
  if (by_fmspc_.size() == 1) return &by_fmspc_.begin()->second;  // tcb_status names a mismatch
  return &shared_;
}

absl::StatusOr<const tdx::TdxCollateral*> TdxCollateralForQuote(const TdxCollateralCache* dir,
                                                                CollateralSource* cache,
                                                                absl::string_view quote,
                                                                absl::Time now,
                                                                tdx::TdxCollateral& storage) {
  const tdx::TdxCollateral* from_dir = dir != nullptr ? dir->ForQuote(quote) : nullptr;
  if (cache == nullptr) return from_dir;
  ASSIGN_OR_RETURN(storage, TdxCollateralWithCache(from_dir, *cache, QuoteFmspc(quote), now));
  return &storage;
}

absl::StatusOr<Claims> TdxEvidenceVerifier::Verify(const v1::Evidence& evidence,
                                                   const v1::TransferKey& transfer_key,
                                                   absl::string_view expected_binding) {
  return Check(evidence, transfer_key, expected_binding);
}

absl::StatusOr<Claims> TdxEvidenceVerifier::VerifyUnbound(const v1::Evidence& evidence,
                                                          const v1::TransferKey& transfer_key) {
  return Check(evidence, transfer_key, std::nullopt);
}

absl::StatusOr<Claims> TdxEvidenceVerifier::Check(
    const v1::Evidence& evidence, const v1::TransferKey& transfer_key,
    std::optional<absl::string_view> expected_binding) {
  if (!evidence.has_tdx_quote()) {
    return CheckFailed("parse", StatusCode::kInvalidArgument, "not TDX quote evidence");
  }
  if (!transfer_key.has_spki_der() &&
      (expected_binding.has_value() || transfer_key.kind_case() != v1::TransferKey::KIND_NOT_SET)) {
    return CheckFailed("parse", StatusCode::kInvalidArgument,
                       "TDX evidence needs a TEE-held transfer key (spki_der)");
  }
  const std::string& quote = evidence.tdx_quote().quote();
  tdx::TdxVerifyInput in;
  in.quote = quote;
  in.anchors = &anchors_;
  in.now = clock_->Now();
  tdx::TdxCollateral with_cache;
  ASSIGN_OR_RETURN(in.collateral,
                   TdxCollateralForQuote(collateral_.get(), cache_, quote, in.now, with_cache));
  if (expected_binding.has_value()) in.expected_report_data = std::string(*expected_binding);
  ASSIGN_OR_RETURN(tdx::TdxClaims claims, tdx::VerifyTdxQuote(in));
  return ClaimsFromTdx(claims);
}

}  // namespace kb
