#ifndef KB_KEYBROKER_ADMIN_POLICY_ADMIN_H_
#define KB_KEYBROKER_ADMIN_POLICY_ADMIN_H_

#include "absl/status/statusor.h"
#include "kb/v1/admin.pb.h"
#include "kb/v1/policy.pb.h"
#include "keybroker/admin/admin_runner.h"
#include "keybroker/store/key_store.h"
#include "keybroker/verifiers/api/evidence_verifier.h"

namespace kb {

// The admin API for release policies: set (compare-and-set on expected_version), read, and
// the release dry run (policy_dry_run.cc). Dependencies are not owned. Thread-safe.
class PolicyAdmin {
 public:
  struct Deps {
    AdminRunner* run;
    KeyStore* keys;
    EvidenceVerifier* verifier = nullptr;  // TestPolicy (dry runs only); null: none
  };
  explicit PolicyAdmin(Deps deps) : d_(deps) {}

  using Caller = const AdminCaller&;
  absl::StatusOr<v1::SetPolicyResponse> SetPolicy(const v1::SetPolicyRequest& r, Caller caller);
  absl::StatusOr<v1::GetPolicyResponse> GetPolicy(const v1::GetPolicyRequest& r, Caller caller);
  absl::StatusOr<v1::TestPolicyResponse> TestPolicy(const v1::TestPolicyRequest& r, Caller caller);

 private:
  absl::StatusOr<v1::TestPolicyResponse> DoTestPolicy(const v1::TestPolicyRequest& r,
                                                      AdminOutcome& outcome);
  // The candidate policy of `r`, else the key's stored one (recorded in `out`).
  absl::StatusOr<v1::ReleasePolicy> PolicyUnderTest(const v1::TestPolicyRequest& r,
                                                    v1::TestPolicyResponse& out);

  Deps d_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_ADMIN_POLICY_ADMIN_H_
