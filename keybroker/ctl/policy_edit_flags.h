#ifndef KB_KEYBROKER_CTL_POLICY_EDIT_FLAGS_H_
#define KB_KEYBROKER_CTL_POLICY_EDIT_FLAGS_H_

#include <string>

#include "absl/status/status.h"
#include "keybroker/ctl/ctl_args.h"

namespace kb {

// Flag setters of the `policy` reference-value commands (rows of CommandFlags()). Each stores
// into CtlCommand::policy_edit or returns INVALID_ARGUMENT naming the flag and the value.
absl::Status SetPolicyEditRule(const std::string& v, CtlCommand& c);          // --rule
absl::Status SetPolicyEditClaim(const std::string& v, CtlCommand& c);         // --claim
absl::Status AddPolicyEditValue(const std::string& v, CtlCommand& c);         // --value
absl::Status SetPolicyEditBank(const std::string& v, CtlCommand& c);          // --bank
absl::Status SetPolicyEditIndex(const std::string& v, CtlCommand& c);         // --index
absl::Status SetPolicyEditTcb(const std::string& v, CtlCommand& c);           // --tcb
absl::Status SetPolicyEditClaims(const std::string& v, CtlCommand& c);        // --claims
absl::Status SetPolicyEditName(const std::string& v, CtlCommand& c);          // --name
absl::Status AddPolicyEditEvidenceType(const std::string& v, CtlCommand& c);  // --evidence-type
absl::Status SetPolicyEditNewRule(const std::string& v, CtlCommand& c);       // --new-rule

}  // namespace kb

#endif  // KB_KEYBROKER_CTL_POLICY_EDIT_FLAGS_H_
