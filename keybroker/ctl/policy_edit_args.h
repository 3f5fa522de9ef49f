#ifndef KB_KEYBROKER_CTL_POLICY_EDIT_ARGS_H_
#define KB_KEYBROKER_CTL_POLICY_EDIT_ARGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kb {

// The flags of the `policy` reference-value commands (add-value, set-pcr, add-from-evidence,
// ...; docs/keybrokerctl.md), as typed. Values are checked against their claim before any
// broker call (keybroker/ctl/policy_edit.h).
struct PolicyEditArgs {
  std::optional<int> rule;                  // --rule N; unset: the policy's only rule
  std::string claim;                        // --claim NAME ("snp.measurement", "pcr:sha256:7")
  std::vector<std::string> values;          // --value (repeatable)
  std::string bank = "sha256";              // --bank
  std::optional<uint32_t> index;            // --index (PCR index)
  std::string tcb;                          // --tcb bootloader=N,tee=N,snp=N,microcode=N
  std::string claims;                       // --claims LIST (add-from-evidence)
  std::string name;                         // --name (add-rule, add-from-evidence --new-rule)
  std::vector<std::string> evidence_types;  // --evidence-type (repeatable; add-rule)
  bool new_rule = false;                    // --new-rule (add-from-evidence)
};

}  // namespace kb

#endif  // KB_KEYBROKER_CTL_POLICY_EDIT_ARGS_H_
