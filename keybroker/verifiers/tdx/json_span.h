#ifndef KB_KEYBROKER_VERIFIERS_TDX_JSON_SPAN_H_
#define KB_KEYBROKER_VERIFIERS_TDX_JSON_SPAN_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kb {
namespace tdx {

// Intel signs collateral over the exact text of one member's value ("tcbInfo",
// "enclaveIdentity"), so the verifier needs that byte span, not a re-serialisation.

// Validates `json` as one strict RFC 8259 document whose top level is an object (nesting at
// most 32 deep, no duplicate keys in any object, nothing but whitespace after it) and returns
// the exact text of the value of top-level member `key`, a view into `json`.
// INVALID_ARGUMENT for malformed JSON; NOT_FOUND if `key` is not a top-level member.
absl::StatusOr<absl::string_view> TopLevelValueSpan(absl::string_view json, absl::string_view key);

}  // namespace tdx
}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TDX_JSON_SPAN_H_
