#ifndef KB_KEYBROKER_ADMIN_ADMIN_API_H_
#define KB_KEYBROKER_ADMIN_ADMIN_API_H_

#include "keybroker/admin/audit_admin.h"
#include "keybroker/admin/collateral_cache_admin.h"
#include "keybroker/admin/kek_admin.h"
#include "keybroker/admin/key_admin.h"
#include "keybroker/admin/machine_admin.h"
#include "keybroker/admin/policy_admin.h"

namespace kb {

// The admin API (kb.v1.KeyAdmin): one service per resource, each over the one AdminRunner
// (role check + audit). The gRPC adapter routes each RPC to its resource. Not owned.
struct AdminApi {
  KeyAdmin* keys;
  PolicyAdmin* policies;
  MachineAdmin* machines;
  CollateralCacheAdmin* collateral;
  AuditAdmin* audit;
  KekAdmin* keks;
};

}  // namespace kb

#endif  // KB_KEYBROKER_ADMIN_ADMIN_API_H_
