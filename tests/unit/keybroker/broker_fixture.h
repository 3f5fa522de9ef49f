#ifndef KB_TESTS_UNIT_KEYBROKER_BROKER_FIXTURE_H_
#define KB_TESTS_UNIT_KEYBROKER_BROKER_FIXTURE_H_

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/crypto.h"
#include "gtest/gtest.h"
#include "keybroker/admin/admin_api.h"
#include "keybroker/service/release_service.h"
#include "keybroker/store/memory_challenge_store.h"
#include "keybroker/store/sqlite_release_reads.h"
#include "keybroker/store/sqlite_stores.h"
#include "keybroker/verifiers/api/verifier_set.h"
#include "keybroker/verifiers/tpm/tpm_quote_verifier.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/evidence_builder.h"

namespace kb {

// A complete broker core over an in-memory SQLite database, a fake clock and a software TPM.
class BrokerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = *OpenBrokerDatabase(":memory:");
    keys_ = *SqliteKeyStore::Create(db_, *AesKek::Create(*RandomSecret(32), "test KEK"));
    challenges_ = std::make_unique<MemoryChallengeStore>();
    aks_ = std::make_unique<SqliteAttestationKeyRegistry>(db_);
    audit_ = std::make_unique<SqliteAuditLog>(db_);
    denylist_ = std::make_unique<SqliteMachineDenyList>(db_);
    revocations_ = std::make_unique<SqliteOfflineRevocations>(db_);
    machine_keys_ = std::make_unique<SqliteMachineKeyState>(db_);
    sqlite_reads_ = std::make_unique<SqliteReleaseReads>(db_, challenges_.get(), keys_.get(),
                                                         revocations_.get());
    ASSERT_THAT(roles_.Grant("op", kRoleAdmin), IsOk());
    ASSERT_THAT(roles_.Grant("CN=alice", kRoleAdmin), IsOk());
    ASSERT_THAT(roles_.Grant("CN=olivia", kRoleOperator), IsOk());
    ASSERT_THAT(roles_.Grant("auditor-ann", kRoleAuditor), IsOk());  // matched by common name
    verifiers_.Add(v1::Evidence::kTpmQuote, std::make_unique<TpmQuoteVerifier>(aks_.get()));
    release_ = std::make_unique<ReleaseService>(ReleaseDeps(), absl::Seconds(60));
    admin_runner_ = std::make_unique<AdminRunner>(&roles_, audit_.get(), &clock_);
    key_admin_ = std::make_unique<KeyAdmin>(KeyAdmin::Deps{.run = admin_runner_.get(),
                                                           .keys = keys_.get(),
                                                           .audit = audit_.get(),
                                                           .confirmations = machine_keys_.get(),
                                                           .forgotten = machine_keys_.get()});
    policy_admin_ = std::make_unique<PolicyAdmin>(PolicyAdmin::Deps{
        .run = admin_runner_.get(), .keys = keys_.get(), .verifier = &verifiers_});
    machine_admin_ =
        std::make_unique<MachineAdmin>(MachineAdmin::Deps{.run = admin_runner_.get(),
                                                          .aks = aks_.get(),
                                                          .denylist = denylist_.get(),
                                                          .keys = keys_.get(),
                                                          .revocations = revocations_.get(),
                                                          .grants = machine_keys_.get(),
                                                          .forgotten = machine_keys_.get()});
    collateral_admin_ = std::make_unique<CollateralCacheAdmin>(
        CollateralCacheAdmin::Deps{.run = admin_runner_.get()});  // no cache
    audit_admin_ = std::make_unique<AuditAdmin>(
        AuditAdmin::Deps{.run = admin_runner_.get(), .audit = audit_.get()});
    kek_admin_ = std::make_unique<KekAdmin>(
        KekAdmin::Deps{.run = admin_runner_.get(), .rotation = keys_.get()});
    admin_ = {key_admin_.get(),        policy_admin_.get(), machine_admin_.get(),
              collateral_admin_.get(), audit_admin_.get(),  kek_admin_.get()};
    tpm_ = *SoftwareTpm::Create();
    tpm_->SetPcr(7, std::string(32, '\x07'));
  }

  // The release service's dependencies over the fixture's stores, the release's reads through
  // SqliteReleaseReads as in keybrokerd (a test may change some and make its own release
  // service).
  ReleaseService::Deps ReleaseDeps() {
    return {.keys = keys_.get(),
            .challenges = challenges_.get(),
            .audit = audit_.get(),
            .denylist = denylist_.get(),
            .verifier = &verifiers_,
            .clock = &clock_,
            .revocations = revocations_.get(),
            .confirmations = machine_keys_.get(),
            .grants = machine_keys_.get(),
            .aks = aks_.get(),
            .reads = sqlite_reads_.get()};
  }

  void RegisterAk(Tpm& tpm, const std::string& machine) {
    v1::RegisterAttestationKeyRequest r;
    r.set_machine(machine);
    r.set_ak_public(*tpm.AttestationKeyPublic());
    auto info = admin_.machines->RegisterAttestationKey(r, {"CN=op", "op"});
    ASSERT_THAT(info, IsOk());
  }

  void CreateKey(const std::string& key_id) {
    v1::CreateKeyRequest r;
    r.set_key_id(key_id);
    ASSERT_THAT(admin_.keys->CreateKey(r, {"CN=op", "op"}), IsOk());
  }

  absl::Status SetPolicy(const std::string& key_id, const std::string& json) {
    v1::SetPolicyRequest r;
    r.set_key_id(key_id);
    r.set_policy_json(json);
    return admin_.policies->SetPolicy(r, {"CN=op", "op"}).status();
  }

  std::string Pcr7PolicyFor(const std::string& machine) {
    return R"({"allow":[{"name":"r1","machines":[")" + machine +
           R"("],"pcrs":[{"index":7,"allowed":[")" + HexEncode(std::string(32, '\x07')) +
           R"("]}]}]})";
  }

  // Runs GetChallenge + ReleaseKey for `key_id` with `tpm`.
  absl::StatusOr<v1::ReleaseKeyResponse> Release(Tpm& tpm, const std::string& key_id) {
    v1::GetChallengeRequest cr;
    cr.set_key_id(key_id);
    auto challenge = release_->GetChallenge(cr);
    if (!challenge.ok()) return challenge.status();
    auto request = BuildRequest(tpm, challenge->challenge_id(), challenge->nonce(), key_id);
    if (!request.ok()) return request.status();
    return release_->ReleaseKey(*request, "127.0.0.1:1");
  }

  FakeClock clock_;
  std::shared_ptr<SqliteDb> db_;
  std::unique_ptr<SqliteKeyStore> keys_;
  std::unique_ptr<MemoryChallengeStore> challenges_;
  std::unique_ptr<SqliteAttestationKeyRegistry> aks_;
  std::unique_ptr<SqliteAuditLog> audit_;
  std::unique_ptr<SqliteMachineDenyList> denylist_;
  std::unique_ptr<SqliteOfflineRevocations> revocations_;
  std::unique_ptr<SqliteMachineKeyState> machine_keys_;
  std::unique_ptr<SqliteReleaseReads> sqlite_reads_;
  RoleMap roles_;
  VerifierSet verifiers_;
  std::unique_ptr<ReleaseService> release_;
  std::unique_ptr<AdminRunner> admin_runner_;
  std::unique_ptr<KeyAdmin> key_admin_;
  std::unique_ptr<PolicyAdmin> policy_admin_;
  std::unique_ptr<MachineAdmin> machine_admin_;
  std::unique_ptr<CollateralCacheAdmin> collateral_admin_;
  std::unique_ptr<AuditAdmin> audit_admin_;
  std::unique_ptr<KekAdmin> kek_admin_;
  AdminApi admin_{};  // the six services above
  std::unique_ptr<SoftwareTpm> tpm_;
};

}  // namespace kb

#endif  // KB_TESTS_UNIT_KEYBROKER_BROKER_FIXTURE_H_
