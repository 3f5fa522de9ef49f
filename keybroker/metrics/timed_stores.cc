// The timing wrappers of TimedStores: each call measured with a monotonic clock and forwarded.
#include "keybroker/metrics/timed_stores.h"

#include <chrono>
#include <memory>

namespace kb {
namespace {

// Runs `call`, tells `observer` how long it took as `operation`, returns what it returned.
template <typename F>
auto Timed(StoreLatencyObserver* observer, absl::string_view operation, F&& call) {
  const auto start = std::chrono::steady_clock::now();
  auto result = call();
  observer->ObserveStore(operation, absl::FromChrono(std::chrono::steady_clock::now() - start));
  return result;
}

class TimedChallenges : public ChallengeStore {
 public:
  TimedChallenges(ChallengeStore* s, StoreLatencyObserver* o) : s_(s), o_(o) {}
  // Not timed: making a challenge reads no store.
  absl::StatusOr<Challenge> New(absl::string_view key_id, absl::Time expires_at) override {
    return s_->New(key_id, expires_at);
  }
  absl::Status Put(const Challenge& c, absl::Time now) override {
    return Timed(o_, "challenge_put", [&] { return s_->Put(c, now); });
  }
  absl::StatusOr<Challenge> Consume(absl::string_view id, absl::string_view key_id) override {
    return Timed(o_, "challenge_consume", [&] { return s_->Consume(id, key_id); });
  }

 private:
  ChallengeStore* s_;
  StoreLatencyObserver* o_;
};

class TimedKeys : public KeyStore {
 public:
  TimedKeys(KeyStore* s, StoreLatencyObserver* o) : s_(s), o_(o) {}
  absl::Status CreateKey(const KeyRecord& r, const SecretBytes& m) override {
    return Timed(o_, "key_create", [&] { return s_->CreateKey(r, m); });
  }
  absl::StatusOr<KeyRecord> GetKey(absl::string_view id) override {
    return Timed(o_, "key_get", [&] { return s_->GetKey(id); });
  }
  absl::StatusOr<std::vector<KeyRecord>> ListKeys() override {
    return Timed(o_, "key_list", [&] { return s_->ListKeys(); });
  }
  absl::StatusOr<SecretBytes> GetKeyMaterial(absl::string_view id, uint32_t version) override {
    return Timed(o_, "key_material", [&] { return s_->GetKeyMaterial(id, version); });
  }
  absl::StatusOr<uint64_t> SetPolicy(absl::string_view id, absl::string_view json,
                                     std::optional<uint64_t> expected) override {
    return Timed(o_, "key_set_policy", [&] { return s_->SetPolicy(id, json, expected); });
  }
  absl::Status SetDisabled(absl::string_view id, bool disabled) override {
    return Timed(o_, "key_set_disabled", [&] { return s_->SetDisabled(id, disabled); });
  }
  absl::Status AddVersion(absl::string_view id, uint32_t version, const SecretBytes& m,
                          absl::Time now) override {
    return Timed(o_, "key_add_version", [&] { return s_->AddVersion(id, version, m, now); });
  }
  absl::Status RetireVersion(absl::string_view id, uint32_t version) override {
    return Timed(o_, "key_retire_version", [&] { return s_->RetireVersion(id, version); });
  }
  absl::StatusOr<std::vector<KeyVersionRecord>> ListVersions(absl::string_view id) override {
    return Timed(o_, "key_list_versions", [&] { return s_->ListVersions(id); });
  }

 private:
  KeyStore* s_;
  StoreLatencyObserver* o_;
};

class TimedAudit : public AuditLog {
 public:
  TimedAudit(AuditLog* s, StoreLatencyObserver* o) : s_(s), o_(o) {}
  absl::Status Append(const AuditRecord& r) override {
    return Timed(o_, "audit_append", [&] { return s_->Append(r); });
  }
  absl::StatusOr<std::vector<AuditRecord>> List(const AuditQuery& q) override {
    return Timed(o_, "audit_list", [&] { return s_->List(q); });
  }
  absl::StatusOr<AuditChainReport> Verify() override {
    return Timed(o_, "audit_verify", [&] { return s_->Verify(); });
  }
  absl::StatusOr<std::vector<MachineRelease>> LatestReleases(absl::string_view id) override {
    return Timed(o_, "audit_latest_releases", [&] { return s_->LatestReleases(id); });
  }

 private:
  AuditLog* s_;
  StoreLatencyObserver* o_;
};

class TimedDenyList : public MachineDenyList {
 public:
  TimedDenyList(MachineDenyList* s, StoreLatencyObserver* o) : s_(s), o_(o) {}
  absl::Status Deny(const DeniedMachineRecord& r) override {
    return Timed(o_, "deny_add", [&] { return s_->Deny(r); });
  }
  absl::StatusOr<bool> Allow(absl::string_view m) override {
    return Timed(o_, "deny_remove", [&] { return s_->Allow(m); });
  }
  absl::StatusOr<std::optional<DeniedMachineRecord>> Find(absl::string_view m) override {
    return Timed(o_, "deny_find", [&] { return s_->Find(m); });
  }
  absl::StatusOr<std::vector<DeniedMachineRecord>> List() override {
    return Timed(o_, "deny_list", [&] { return s_->List(); });
  }

 private:
  MachineDenyList* s_;
  StoreLatencyObserver* o_;
};

class TimedRevocations : public OfflineRevocations {
 public:
  TimedRevocations(OfflineRevocations* s, StoreLatencyObserver* o) : s_(s), o_(o) {}
  absl::Status Revoke(const OfflineRevocationRecord& r) override {
    return Timed(o_, "revocation_add", [&] { return s_->Revoke(r); });
  }
  absl::StatusOr<bool> Restore(absl::string_view key_id, absl::string_view machine) override {
    return Timed(o_, "revocation_remove", [&] { return s_->Restore(key_id, machine); });
  }
  absl::StatusOr<std::optional<OfflineRevocationRecord>> Find(absl::string_view key_id,
                                                              absl::string_view machine) override {
    return Timed(o_, "revocation_find", [&] { return s_->Find(key_id, machine); });
  }
  absl::StatusOr<std::vector<OfflineRevocationRecord>> List(absl::string_view key_id) override {
    return Timed(o_, "revocation_list", [&] { return s_->List(key_id); });
  }

 private:
  OfflineRevocations* s_;
  StoreLatencyObserver* o_;
};

class TimedReleaseReads : public ReleaseReads {
 public:
  TimedReleaseReads(ReleaseReads* s, StoreLatencyObserver* o) : s_(s), o_(o) {}
  absl::StatusOr<ReleaseRecords> Read(const ReleaseQuestion& question) override {
    return Timed(o_, "release_reads", [&] { return s_->Read(question); });
  }

 private:
  ReleaseReads* s_;
  StoreLatencyObserver* o_;
};

class TimedGrants : public OfflineGrants {
 public:
  TimedGrants(OfflineGrants* s, StoreLatencyObserver* o) : s_(s), o_(o) {}
  absl::Status RecordRelease(const OfflineGrantRecord& r) override {
    return Timed(o_, "grant_record", [&] { return s_->RecordRelease(r); });
  }
  absl::StatusOr<std::vector<OfflineGrantRecord>> ListGrants(absl::string_view key_id) override {
    return Timed(o_, "grant_list", [&] { return s_->ListGrants(key_id); });
  }

 private:
  OfflineGrants* s_;
  StoreLatencyObserver* o_;
};

// Replaces `*slot` with a new `Wrapper` around it, owned by `out`.
template <typename Wrapper, typename Interface>
void Wrap(Interface*& slot, StoreLatencyObserver* observer, BrokerStores& out) {
  if (slot == nullptr) return;
  auto wrapper = std::make_shared<Wrapper>(slot, observer);
  slot = wrapper.get();
  out.owned.push_back(std::move(wrapper));
}

}  // namespace

BrokerStores TimedStores(const BrokerStores& stores, StoreLatencyObserver* observer) {
  BrokerStores out = stores;
  Wrap<TimedChallenges>(out.challenges, observer, out);
  Wrap<TimedKeys>(out.keys, observer, out);
  Wrap<TimedAudit>(out.audit, observer, out);
  Wrap<TimedDenyList>(out.denylist, observer, out);
  Wrap<TimedRevocations>(out.revocations, observer, out);
  Wrap<TimedGrants>(out.grants, observer, out);
  Wrap<TimedReleaseReads>(out.release_reads, observer, out);
  return out;
}

}  // namespace kb
