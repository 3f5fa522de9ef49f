// SealingKeks: the configured KEKs against the check values stored with the keys, and the
// sealing of key versions.
#include "keybroker/store/sealing_keks.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/request_deadline.h"
#include "common/status_macros.h"

namespace kb {
namespace {

constexpr absl::string_view kCheckAad = "kb-kek-check-v1";
constexpr absl::string_view kCheckText = "keybroker KEK check value v1";

std::string Aad(absl::string_view key_id, uint32_t version) {
  return absl::StrCat(key_id, "/", version);
}

std::string Named(absl::string_view description, absl::string_view fingerprint) {
  return fingerprint.empty() ? std::string(description)
                             : absl::StrCat(description, ", fingerprint ", fingerprint);
}

// An error of `kek` that is not DATA_LOSS (an HSM that cannot answer), kept as such.
absl::Status KekFailed(const Kek& kek, const absl::Status& s) {
  return absl::Status(s.code(),
                      absl::StrCat("checking the KEK (", kek.Describe(), "): ", s.message()));
}

// The check value that `kek` opens; nullopt for none.
absl::StatusOr<std::optional<int64_t>> MatchOne(Kek& kek, const StoredKeks& stored) {
  for (const StoredKeks::CheckValue& row : stored.check_values) {
    auto opened = kek.Open(row.sealed, kCheckAad);
    if (opened.ok() && opened->view() == kCheckText) return row.id;
    if (!opened.ok() && opened.status().code() != absl::StatusCode::kDataLoss) {
      return KekFailed(kek, opened.status());
    }
  }
  return std::nullopt;
}

// Key versions sealed under the KEK `id`, which is not configured.
absl::Status Unconfigured(const StoredKeks& stored, int64_t id, int64_t count) {
  const auto& rows = stored.check_values;
  auto row = std::find_if(rows.begin(), rows.end(), [id](const auto& r) { return r.id == id; });
  const std::string name =
      row == rows.end() ? absl::StrCat("number ", id) : Named(row->description, row->fingerprint);
  return absl::FailedPreconditionError(absl::StrCat(
      count, " key version(s) are sealed under a KEK that is not configured (", name,
      "): configure it as the KEK or in previous_keks (finish `keybrokerctl kek rotate` before "
      "removing it)"));
}

// The stored check value with `kek`'s fingerprint, if `kek` has one; nullptr for none.
const StoredKeks::CheckValue* SameFingerprint(const StoredKeks& stored, const Kek& kek) {
  const std::string fingerprint = kek.Fingerprint();
  if (fingerprint.empty()) return nullptr;
  for (const StoredKeks::CheckValue& row : stored.check_values) {
    if (row.fingerprint == fingerprint) return &row;
  }
  return nullptr;
}

// `kek` did not open `row`, whose fingerprint is its own: a fault of the KEK (an HSM's
// CKR_GENERAL_ERROR reads as a tag that does not verify), not a new KEK to record again, which
// would leave two rows for one KEK and the versions sealed under the second unopenable later.
absl::Status FailedOwnCheck(const Kek& kek, const StoredKeks::CheckValue& row) {
  return absl::UnavailableError(absl::StrCat(
      "the configured KEK (", Named(kek.Describe(), kek.Fingerprint()),
      ") has the fingerprint of stored KEK number ", row.id,
      " but did not open its check value: the KEK failed (is the HSM answering?); start again "
      "when it answers. (Were it a different key with the same fingerprint, use another key.)"));
}

}  // namespace

absl::StatusOr<SealingKeks> SealingKeks::Match(KekSet keks, const StoredKeks& stored) {
  if (keks.current == nullptr) return absl::InvalidArgumentError("no KEK");
  SealingKeks out(std::move(keks));
  RETURN_IF_ERROR(out.MatchAll(stored));
  return out;
}

absl::Status SealingKeks::MatchAll(const StoredKeks& stored) {
  for (size_t i = 0; i < keks_.previous.size(); ++i) {
    Kek& kek = *keks_.previous[i];
    ASSIGN_OR_RETURN(std::optional<int64_t> id, MatchOne(kek, stored));
    if (!id) {
      return absl::FailedPreconditionError(
          absl::StrCat("previous_keks[", i, "] (", Named(kek.Describe(), kek.Fingerprint()),
                       ") is not a KEK this database's keys were ever sealed under"));
    }
    by_id_[*id] = &kek;
  }
  ASSIGN_OR_RETURN(std::optional<int64_t> current, MatchOne(*keks_.current, stored));
  if (current) {
    current_id_ = *current;
  } else if (stored.check_values.empty()) {
    RETURN_IF_ERROR(CheckFirstVersion(stored));
    current_id_ = 1;
    current_is_new_ = true;
  } else if (const StoredKeks::CheckValue* same = SameFingerprint(stored, *keks_.current)) {
    return FailedOwnCheck(*keks_.current, *same);
  } else if (!keks_.previous.empty()) {
    current_id_ = stored.check_values.back().id + 1;  // a new KEK: the rotation begins
    current_is_new_ = true;
  } else {
    const StoredKeks::CheckValue& last = stored.check_values.back();
    return WrongKek(Named(last.description, last.fingerprint));
  }
  by_id_[current_id_] = keks_.current.get();
  for (const auto& [id, count] : stored.versions) {
    if (!by_id_.contains(id)) return Unconfigured(stored, id, count);
  }
  return absl::OkStatus();
}

// A store from before check values (or a new one): a stored key version must open.
absl::Status SealingKeks::CheckFirstVersion(const StoredKeks& stored) const {
  if (!stored.first_version) return absl::OkStatus();
  const StoredKeks::FirstVersion& first = *stored.first_version;
  auto opened = keks_.current->Open(first.sealed, Aad(first.key_id, first.version));
  if (opened.ok()) return absl::OkStatus();
  if (opened.status().code() != absl::StatusCode::kDataLoss) {
    return KekFailed(*keks_.current, opened.status());
  }
  return WrongKek(absl::StrCat("key '", first.key_id, "' version ", first.version,
                               " does not decrypt under it"));
}

absl::Status SealingKeks::WrongKek(absl::string_view expected) const {
  const Kek& kek = *keks_.current;
  return absl::FailedPreconditionError(absl::StrCat(
      "the configured KEK (", Named(kek.Describe(), kek.Fingerprint()),
      ") is not the one this database's keys were written with (", expected,
      "): every release would be refused. Configure the KEK the keys were created with (or, to "
      "rotate to a new KEK, list the old one in previous_keks)"));
}

absl::StatusOr<StoredKeks::CheckValue> SealingKeks::CheckValue() const {
  Kek& kek = *keks_.current;
  ASSIGN_OR_RETURN(std::string sealed, kek.Seal(SecretBytes::FromString(kCheckText), kCheckAad));
  return StoredKeks::CheckValue{current_id_, std::move(sealed), kek.Describe(), kek.Fingerprint()};
}

absl::StatusOr<std::string> SealingKeks::Seal(absl::string_view key_id, uint32_t version,
                                              const SecretBytes& material) const {
  return keks_.current->Seal(material, Aad(key_id, version));
}

absl::StatusOr<SecretBytes> SealingKeks::Open(absl::string_view key_id, uint32_t version,
                                              absl::string_view sealed, int64_t kek_id) const {
  const std::string name = absl::StrCat("key '", key_id, "' version ", version);
  auto it = by_id_.find(kek_id);
  if (it == by_id_.end()) {
    return absl::FailedPreconditionError(absl::StrCat(
        name, ": sealed under KEK number ", kek_id,
        " of this database, which is not configured here (another replica may have rotated to "
        "a new KEK: configure it, with this one in previous_keks)"));
  }
  Kek& kek = *it->second;
  auto material = kek.Open(sealed, Aad(key_id, version));
  if (material.ok()) return material;
  if (material.status().code() == absl::StatusCode::kDataLoss) {
    return absl::DataLossError(
        absl::StrCat(name, " does not decrypt under the configured KEK (", kek.Describe(), ")"));
  }
  return absl::Status(material.status().code(),
                      absl::StrCat(name, ": ", kek.Describe(), ": ", material.status().message()));
}

absl::Status SealingKeks::Reseal(SealedVersion& v) const {
  ASSIGN_OR_RETURN(SecretBytes material, Open(v.key_id, v.version, v.sealed, v.kek_id));
  ASSIGN_OR_RETURN(v.sealed, Seal(v.key_id, v.version, material));
  return absl::OkStatus();
}

absl::Status SealingKeks::ResealBatch(std::vector<SealedVersion>& batch) const {
  // The KEK calls get half of what is left to the deadline, so that the store has the rest to
  // commit what they did (a PostgreSQL store checks the deadline, SQLite does not).
  const absl::Time deadline = RequestDeadline::Current();
  const absl::Time now = absl::Now();
  const RequestDeadline::Scope kek_calls(
      deadline == absl::InfiniteFuture()
          ? deadline
          : now + std::max(deadline - now, absl::ZeroDuration()) / 2);
  for (size_t i = 0; i < batch.size(); ++i) {
    absl::Status resealed = Reseal(batch[i]);
    if (resealed.ok()) continue;
    if (i == 0) return resealed;
    batch.resize(i);  // the next step starts at the version that failed, and says why
    return absl::OkStatus();
  }
  return absl::OkStatus();
}

KekUse::Configured SealingKeks::Configured(int64_t kek_id) const {
  if (kek_id == current_id_) return KekUse::Configured::kCurrent;
  return by_id_.contains(kek_id) ? KekUse::Configured::kPrevious : KekUse::Configured::kNo;
}

}  // namespace kb
