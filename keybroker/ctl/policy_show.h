#ifndef KB_KEYBROKER_CTL_POLICY_SHOW_H_
#define KB_KEYBROKER_CTL_POLICY_SHOW_H_

#include <cstdint>
#include <string>

#include "kb/v1/policy.pb.h"

namespace kb {

// `keybrokerctl policy show`: a header line ("key K: policy version N, M rules") and a table
// RULE NAME CLAIM VALUE with one row per allowed value (claims named as in policy_edit.h,
// "pcr:sha256:7", "snp.measurement", ...), plus rows for the rule's settings (offline_boots,
// snp.min_reported_tcb, snp.vmpl_max, allow_debug, the default TDX TCB status).
std::string FormatPolicyTable(const std::string& key_id, uint64_t version,
                              const v1::ReleasePolicy& policy);

}  // namespace kb

#endif  // KB_KEYBROKER_CTL_POLICY_SHOW_H_
