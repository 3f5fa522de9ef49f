// SqliteKeyStore::CheckKeks: the configured KEKs against the check values stored with the keys
// (one per KEK the database has known; schema version 6, one only in version 5).
#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/store/sqlite_stores.h"

namespace kb {
namespace {

constexpr absl::string_view kCheckAad = "kb-kek-check-v1";
constexpr absl::string_view kCheckText = "keybroker KEK check value v1";

// One stored check value.
struct KekRow {
  int64_t id;
  std::string sealed, description, fingerprint;
};

std::string Named(absl::string_view description, absl::string_view fingerprint) {
  return fingerprint.empty() ? std::string(description)
                             : absl::StrCat(description, ", fingerprint ", fingerprint);
}

absl::StatusOr<bool> HasTable(SqliteDb& db, absl::string_view name) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                       "name = ?"));
  return st.Bind(1, name).Step();
}

// The stored check values. Read-only checks (--check-config) may meet a database from before
// version 6 (one value, table kek_check) or 5 (none).
absl::StatusOr<std::vector<KekRow>> ReadKekRows(SqliteDb& db) {
  std::vector<KekRow> rows;
  ASSIGN_OR_RETURN(const bool v6, HasTable(db, "keks"));
  ASSIGN_OR_RETURN(const bool v5, HasTable(db, "kek_check"));
  if (!v6 && !v5) return rows;
  ASSIGN_OR_RETURN(auto st, db.Prepare(absl::StrCat("SELECT id, sealed, description, fingerprint "
                                                    "FROM ",
                                                    v6 ? "keks" : "kek_check", " ORDER BY id")));
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return rows;
    rows.push_back({st.Int(0), st.Text(1), st.Text(2), st.Text(3)});
  }
}

// Key versions per KEK number (all under number 1 before version 6).
absl::StatusOr<std::vector<std::pair<int64_t, int64_t>>> VersionsByKek(SqliteDb& db) {
  ASSIGN_OR_RETURN(const bool v6, HasTable(db, "keks"));
  ASSIGN_OR_RETURN(auto st, db.Prepare(v6 ? "SELECT kek_id, COUNT(*) FROM key_versions GROUP BY "
                                            "kek_id ORDER BY kek_id"
                                          : "SELECT 1, COUNT(*) FROM key_versions HAVING "
                                            "COUNT(*) > 0"));
  std::vector<std::pair<int64_t, int64_t>> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.emplace_back(st.Int(0), st.Int(1));
  }
}

// The row whose check value `kek` opens; nullopt for none. An error that is not DATA_LOSS (an
// HSM that cannot answer) is returned as such, never taken for a wrong KEK.
absl::StatusOr<std::optional<int64_t>> Match(Kek& kek, const std::vector<KekRow>& rows) {
  for (const KekRow& row : rows) {
    auto opened = kek.Open(row.sealed, kCheckAad);
    if (opened.ok() && opened->view() == kCheckText) return row.id;
    if (!opened.ok() && opened.status().code() != absl::StatusCode::kDataLoss) {
      return absl::Status(opened.status().code(), absl::StrCat("checking the KEK (", kek.Describe(),
                                                               "): ", opened.status().message()));
    }
  }
  return std::nullopt;
}

// Key versions sealed under the KEK `id`, which is not configured.
absl::Status Unconfigured(const std::vector<KekRow>& rows, int64_t id, int64_t count) {
  auto row = std::find_if(rows.begin(), rows.end(), [id](const KekRow& r) { return r.id == id; });
  const std::string name =
      row == rows.end() ? absl::StrCat("number ", id) : Named(row->description, row->fingerprint);
  return absl::FailedPreconditionError(absl::StrCat(
      count, " key version(s) are sealed under a KEK that is not configured (", name,
      "): configure it as the KEK or in previous_keks (finish `keybrokerctl kek rotate` before "
      "removing it)"));
}

}  // namespace

absl::Status SqliteKeyStore::CheckKeks(KekCheck check) {
  auto lock = db_->Lock();
  ASSIGN_OR_RETURN(const std::vector<KekRow> rows, ReadKekRows(*db_));
  ASSIGN_OR_RETURN(const auto in_use, VersionsByKek(*db_));
  for (size_t i = 0; i < previous_.size(); ++i) {
    ASSIGN_OR_RETURN(std::optional<int64_t> id, Match(*previous_[i], rows));
    if (!id) {
      return absl::FailedPreconditionError(absl::StrCat(
          "previous_keks[", i, "] (", Named(previous_[i]->Describe(), previous_[i]->Fingerprint()),
          ") is not a KEK this database's keys were ever sealed under"));
    }
    by_id_[*id] = previous_[i].get();
  }
  ASSIGN_OR_RETURN(std::optional<int64_t> current, Match(*kek_, rows));
  bool record = false;
  if (current) {
    current_id_ = *current;
  } else if (rows.empty()) {
    RETURN_IF_ERROR(CheckFirstKeyVersion());
    current_id_ = 1;
    record = true;
  } else if (!previous_.empty()) {
    current_id_ = rows.back().id + 1;  // a new KEK: the rotation begins
    record = true;
  } else {
    const KekRow& last = rows.back();
    return WrongKek(Named(last.description, last.fingerprint));
  }
  by_id_[current_id_] = kek_.get();
  for (const auto& [id, count] : in_use) {
    if (!by_id_.contains(id)) return Unconfigured(rows, id, count);
  }
  ASSIGN_OR_RETURN(const bool v6, HasTable(*db_, "keks"));
  if (!record || check == KekCheck::kVerifyOnly || !v6) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string sealed, kek_->Seal(SecretBytes::FromString(kCheckText), kCheckAad));
  ASSIGN_OR_RETURN(auto ins, db_->Prepare("INSERT INTO keks(id, sealed, description, fingerprint) "
                                          "VALUES(?, ?, ?, ?)"));
  return ins.Bind(1, current_id_)
      .BindBlob(2, sealed)
      .Bind(3, kek_->Describe())
      .Bind(4, kek_->Fingerprint())
      .Run();
}

absl::Status SqliteKeyStore::WrongKek(absl::string_view expected) const {
  return absl::FailedPreconditionError(absl::StrCat(
      "the configured KEK (", Named(kek_->Describe(), kek_->Fingerprint()),
      ") is not the one this database's keys were written with (", expected,
      "): every release would be refused. Configure the KEK the keys were created with (or, to "
      "rotate to a new KEK, list the old one in previous_keks)"));
}

// A database from before check values (or a new one): a stored key version must open.
absl::Status SqliteKeyStore::CheckFirstKeyVersion() const {
  ASSIGN_OR_RETURN(auto first, db_->Prepare("SELECT key_id, version, sealed FROM key_versions "
                                            "ORDER BY key_id, version LIMIT 1"));
  ASSIGN_OR_RETURN(bool has_keys, first.Step());
  if (!has_keys) return absl::OkStatus();
  const std::string aad = Aad(first.Text(0), static_cast<uint32_t>(first.Int(1)));
  auto opened = kek_->Open(first.Text(2), aad);
  if (opened.ok()) return absl::OkStatus();
  if (opened.status().code() != absl::StatusCode::kDataLoss) {
    return absl::Status(opened.status().code(), absl::StrCat("checking the KEK (", kek_->Describe(),
                                                             "): ", opened.status().message()));
  }
  return WrongKek(absl::StrCat("key '", first.Text(0), "' version ", first.Int(1),
                               " does not decrypt under it"));
}

}  // namespace kb
