#ifndef KB_KEYBROKER_POLICY_TCB_STATUS_NAMES_H_
#define KB_KEYBROKER_POLICY_TCB_STATUS_NAMES_H_

#include <set>
#include <string>

namespace kb {

// The TDX TCB status names a release policy may allow (PolicyRule.tdx.allowed_tcb_status;
// docs/policy.md). Header-only: the broker's policy validation and keybrokerctl's policy edits
// both check against it.
inline const std::set<std::string>& PolicyTcbStatusNames() {
  static const auto* kNames = new std::set<std::string>{"UpToDate",
                                                        "SWHardeningNeeded",
                                                        "ConfigurationNeeded",
                                                        "ConfigurationAndSWHardeningNeeded",
                                                        "OutOfDate",
                                                        "OutOfDateConfigurationNeeded"};
  return *kNames;
}

}  // namespace kb

#endif  // KB_KEYBROKER_POLICY_TCB_STATUS_NAMES_H_
