// PostgreSQL's challenges: self-authenticating (ChallengeMac), so issuing one writes nothing,
// and spent ones recorded in spent_challenges, so each is redeemed once across replicas.
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "keybroker/store/postgres/pg_stores.h"

namespace kb {
namespace {

// Spent challenges expired beyond the margin are swept at every this many spends of a replica.
constexpr uint64_t kSweepEvery = 256;

// The AAD name of the MAC key: "<name>/<KEK number>", never a key version's (key ids have no
// ':').
constexpr absl::string_view kMacKeyName = ":challenge-mac";

// The database's clock in Unix milliseconds: the spends and sweeps of every replica use this
// one clock, so a replica whose own clock is wrong cannot make a spent challenge new again.
constexpr absl::string_view kDatabaseNowMs =
    "(extract(epoch FROM clock_timestamp()) * 1000)::BIGINT";

// The MAC key as stored, opened: the current KEK's copy if it has one (`under_current`), else
// that of the newest previous KEK configured. nullopt when none is stored.
absl::StatusOr<std::optional<SecretBytes>> ReadMacKey(PgConnection& conn, const SealingKeks& keks,
                                                      bool& under_current) {
  const int64_t current = keks.current_id();
  ASSIGN_OR_RETURN(PgResult rows, conn.Exec("SELECT id, challenge_key FROM keks WHERE "
                                            "challenge_key IS NOT NULL ORDER BY id = $1 "
                                            "DESC, id DESC",
                                            {PgParam::Int(current)}));
  for (int i = 0; i < rows.rows(); ++i) {
    const int64_t id = rows.Int(i, 0);
    if (keks.Configured(id) == KekUse::Configured::kNo) continue;
    absl::StatusOr<SecretBytes> key =
        keks.Open(kMacKeyName, static_cast<uint32_t>(id), rows.Bytes(i, 1), id);
    if (!key.ok()) {
      return absl::Status(key.status().code(),
                          absl::StrCat("the challenges' MAC key stored under KEK number ", id,
                                       " does not open: ", key.status().message()));
    }
    under_current = id == current;
    return std::optional<SecretBytes>(*std::move(key));
  }
  under_current = false;
  return std::optional<SecretBytes>();
}

}  // namespace

std::string SpendChallengeSql(int id_param, int expiry_param) {
  const std::string expiry = absl::StrCat("$", expiry_param, "::BIGINT");
  return absl::StrCat("INSERT INTO spent_challenges(id, expires_at) SELECT $", id_param, "::TEXT, ",
                      expiry, " WHERE ", expiry, " > ", kDatabaseNowMs, " ON CONFLICT DO NOTHING");
}

absl::Status PgChallengeSweep::BeforeSpend(PgConnection& conn) {
  if (++spends_ % kSweepEvery != 0) return absl::OkStatus();
  const absl::Status swept =
      conn.Exec(absl::StrCat("DELETE FROM spent_challenges WHERE expires_at < ", kDatabaseNowMs,
                             " - $1"),
                {PgParam::Int(absl::ToInt64Milliseconds(kSpentChallengeMargin))})
          .status();
  // Housekeeping does not fail the spend it precedes; a later sweep deletes what this one
  // left. A connection that failed fails the spend anyway.
  if (swept.ok() || absl::IsUnavailable(swept)) return swept;
  LogError("sweeping spent challenges failed (the spend goes on): %s", swept.ToString());
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const ChallengeMac>> LoadChallengeMac(PgPool& pool,
                                                                     const SealingKeks& keks) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool.Acquire());
  bool under_current = false;
  ASSIGN_OR_RETURN(std::optional<SecretBytes> key, ReadMacKey(*conn, keks, under_current));
  if (!under_current) {
    // The first replica to run with a new KEK seals the key under it too (a new key when the
    // store has none), so that replicas with the old KEK and the new one share it while the
    // KEK is rotated. The row lock makes one of two replicas starting together win; both
    // then read the winner's.
    if (!key.has_value()) {
      ASSIGN_OR_RETURN(key, RandomSecret(32));
    }
    ASSIGN_OR_RETURN(std::string sealed,
                     keks.Seal(kMacKeyName, static_cast<uint32_t>(keks.current_id()), *key));
    RETURN_IF_ERROR(conn->Exec("UPDATE keks SET challenge_key = $1 WHERE id = $2 AND "
                               "challenge_key IS NULL",
                               {PgParam::Bytes(sealed), PgParam::Int(keks.current_id())})
                        .status());
    ASSIGN_OR_RETURN(key, ReadMacKey(*conn, keks, under_current));
  }
  // ReadMacKey finds a key whenever it says the current KEK opens one.
  if (!under_current || !key.has_value()) {
    return absl::InternalError("the challenges' MAC key was not stored");
  }
  ASSIGN_OR_RETURN(ChallengeMac mac, ChallengeMac::Create(*std::move(key)));
  return std::make_shared<const ChallengeMac>(std::move(mac));
}

absl::StatusOr<std::string> DescribeChallengeMac(PgPool& pool, const SealingKeks& keks) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool.Acquire());
  bool under_current = false;
  ASSIGN_OR_RETURN(std::optional<SecretBytes> key, ReadMacKey(*conn, keks, under_current));
  if (!key.has_value()) return std::string("no challenge MAC key yet: keybrokerd makes one");
  RETURN_IF_ERROR(ChallengeMac::Create(*std::move(key)).status());
  if (under_current) return std::string("the challenge MAC key opens under the current KEK");
  return std::string(
      "the challenge MAC key opens under a previous KEK: keybrokerd seals it under the current "
      "one");
}

absl::StatusOr<Challenge> PgChallengeStore::New(absl::string_view key_id, absl::Time expires_at) {
  return mac_->Mint(key_id, expires_at);
}

absl::Status PgChallengeStore::Put(const Challenge&, absl::Time) { return absl::OkStatus(); }

absl::StatusOr<Challenge> PgChallengeStore::Consume(absl::string_view id,
                                                    absl::string_view key_id) {
  std::optional<Challenge> mine = mac_->Verify(id, key_id);
  if (!mine.has_value()) return absl::NotFoundError("challenge unknown or already used");
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  RETURN_IF_ERROR(sweep_->BeforeSpend(*conn));
  // One row: of two replicas spending the same challenge, the second finds it there.
  static const std::string* const kSpend = new std::string(SpendChallengeSql(1, 2));
  ASSIGN_OR_RETURN(PgResult r,
                   conn->Exec(*kSpend, {PgParam::Text(mine->id),
                                        PgParam::Int(absl::ToUnixMillis(mine->expires_at))}));
  if (r.affected() == 0) return absl::NotFoundError("challenge unknown or already used");
  return *std::move(mine);
}

}  // namespace kb
