// SqliteKeyStore::CheckKek: the KEK's check value, stored with the keys (schema version 5).
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/store/sqlite_stores.h"

namespace kb {
namespace {

constexpr absl::string_view kCheckAad = "kb-kek-check-v1";
constexpr absl::string_view kCheckText = "keybroker KEK check value v1";

std::string Named(absl::string_view description, absl::string_view fingerprint) {
  return fingerprint.empty() ? std::string(description)
                             : absl::StrCat(description, ", fingerprint ", fingerprint);
}

}  // namespace

absl::Status SqliteKeyStore::CheckKek(KekCheck check) {
  auto wrong = [&](absl::string_view expected) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the configured KEK (", Named(kek_->Describe(), kek_->Fingerprint()),
        ") is not the one this database's keys were written with (", expected,
        "): every release would be refused. Configure the KEK the keys were created with"));
  };
  auto unreachable = [&](const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat("checking the configured KEK (", kek_->Describe(),
                                               "): ", s.message()));
  };
  auto lock = db_->Lock();
  // Read-only checks (--check-config) may meet a database from before schema version 5.
  ASSIGN_OR_RETURN(auto table, db_->Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                            "AND name = 'kek_check'"));
  ASSIGN_OR_RETURN(const bool has_table, table.Step());
  if (has_table) {
    ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT sealed, description, fingerprint FROM "
                                           "kek_check WHERE id = 1"));
    ASSIGN_OR_RETURN(bool recorded, st.Step());
    if (recorded) {
      auto opened = kek_->Open(st.Text(0), kCheckAad);
      if (opened.ok() && opened->view() == kCheckText) return absl::OkStatus();
      if (!opened.ok() && opened.status().code() != absl::StatusCode::kDataLoss) {
        return unreachable(opened.status());  // an HSM that cannot answer: not a wrong KEK
      }
      return wrong(Named(st.Text(1), st.Text(2)));
    }
  }
  // A database from before check values (or a new one): a stored key version must open.
  ASSIGN_OR_RETURN(auto first, db_->Prepare("SELECT key_id, version, sealed FROM key_versions "
                                            "ORDER BY key_id, version LIMIT 1"));
  ASSIGN_OR_RETURN(bool has_keys, first.Step());
  if (has_keys) {
    const std::string aad = Aad(first.Text(0), static_cast<uint32_t>(first.Int(1)));
    auto opened = kek_->Open(first.Text(2), aad);
    if (!opened.ok() && opened.status().code() != absl::StatusCode::kDataLoss) {
      return unreachable(opened.status());
    }
    if (!opened.ok()) {
      return wrong(absl::StrCat("key '", first.Text(0), "' version ", first.Int(1),
                                " does not decrypt under it"));
    }
  }
  if (check == KekCheck::kVerifyOnly || !has_table) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string sealed, kek_->Seal(SecretBytes::FromString(kCheckText), kCheckAad));
  ASSIGN_OR_RETURN(auto ins, db_->Prepare("INSERT INTO kek_check(id, sealed, description, "
                                          "fingerprint) VALUES(1, ?, ?, ?)"));
  return ins.BindBlob(1, sealed).Bind(2, kek_->Describe()).Bind(3, kek_->Fingerprint()).Run();
}

}  // namespace kb
