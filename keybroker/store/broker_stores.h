#ifndef KB_KEYBROKER_STORE_BROKER_STORES_H_
#define KB_KEYBROKER_STORE_BROKER_STORES_H_

#include <memory>
#include <vector>

#include "keybroker/store/attestation_key_registry.h"
#include "keybroker/store/audit_log.h"
#include "keybroker/store/challenge_store.h"
#include "keybroker/store/collateral_store.h"
#include "keybroker/store/kek_rotation.h"
#include "keybroker/store/key_store.h"
#include "keybroker/store/machine_denylist.h"
#include "keybroker/store/machine_key_state.h"
#include "keybroker/store/offline_revocations.h"
#include "keybroker/store/release_reads.h"

namespace kb {

// Every role interface of the broker's state, backed by one database (SQLite or PostgreSQL):
// what keybrokerd's composition root wires into the services. Owns the implementations.
struct BrokerStores {
  KeyStore* keys = nullptr;
  KekRotation* kek_rotation = nullptr;
  ChallengeStore* challenges = nullptr;
  AttestationKeyRegistry* aks = nullptr;
  AuditLog* audit = nullptr;
  MachineDenyList* denylist = nullptr;
  OfflineRevocations* revocations = nullptr;
  EnrolmentConfirmations* confirmations = nullptr;
  OfflineGrants* grants = nullptr;
  ForgottenMachines* forgotten = nullptr;
  CollateralStore* collateral = nullptr;
  // The reads of a release as one call (one statement on PostgreSQL, one lock and one read
  // transaction on SQLite); null: the release service reads through `keys`, `denylist` and
  // `revocations`.
  ReleaseReads* release_reads = nullptr;
  // The implementations the pointers above point into.
  std::vector<std::shared_ptr<void>> owned;
};

// The stores of one backend: `keys` (the key store and its KEK rotation), `challenges`, and the
// others, each made over `db` (the backend's database handle or connection pool).
template <typename Aks, typename Audit, typename DenyList, typename Revocations,
          typename MachineKeys, typename Collateral, typename Keys, typename Db>
BrokerStores AssembleBrokerStores(std::shared_ptr<Keys> keys,
                                  std::shared_ptr<ChallengeStore> challenges,
                                  const std::shared_ptr<Db>& db) {
  auto aks = std::make_shared<Aks>(db);
  auto audit = std::make_shared<Audit>(db);
  auto denylist = std::make_shared<DenyList>(db);
  auto revocations = std::make_shared<Revocations>(db);
  auto machine_keys = std::make_shared<MachineKeys>(db);
  auto collateral = std::make_shared<Collateral>(db);
  BrokerStores s{.keys = keys.get(),
                 .kek_rotation = keys.get(),
                 .challenges = challenges.get(),
                 .aks = aks.get(),
                 .audit = audit.get(),
                 .denylist = denylist.get(),
                 .revocations = revocations.get(),
                 .confirmations = machine_keys.get(),
                 .grants = machine_keys.get(),
                 .forgotten = machine_keys.get(),
                 .collateral = collateral.get()};
  s.owned = {keys, challenges, aks, audit, denylist, revocations, machine_keys, collateral};
  return s;
}

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_BROKER_STORES_H_
