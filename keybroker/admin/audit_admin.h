#ifndef KB_KEYBROKER_ADMIN_AUDIT_ADMIN_H_
#define KB_KEYBROKER_ADMIN_AUDIT_ADMIN_H_

#include "absl/status/statusor.h"
#include "kb/v1/admin.pb.h"
#include "keybroker/admin/admin_runner.h"
#include "keybroker/store/audit_log.h"

namespace kb {

// The admin API for the audit trail: reading it and verifying its hash chain. Dependencies are
// not owned. Thread-safe.
class AuditAdmin {
 public:
  struct Deps {
    AdminRunner* run;
    AuditLog* audit;
  };
  explicit AuditAdmin(Deps deps) : d_(deps) {}

  using Caller = const AdminCaller&;
  absl::StatusOr<v1::ListAuditEventsResponse> ListAuditEvents(const v1::ListAuditEventsRequest& r,
                                                              Caller caller);
  absl::StatusOr<v1::VerifyAuditChainResponse> VerifyAuditChain(
      const v1::VerifyAuditChainRequest& r, Caller caller);

 private:
  Deps d_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_ADMIN_AUDIT_ADMIN_H_
