// libFuzzer target for release policies (operator JSON, stored and re-parsed at release):
// parsing, validation and evaluation against fixed claims. See tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include "keybroker/policy/release_policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view json(reinterpret_cast<const char*>(data), size);
  auto policy = kb::ParseReleasePolicy(json);
  if (!policy.ok()) return 0;
  kb::Claims claims;
  claims.evidence_type = "tpm";
  claims.machine = "fuzz-vm";
  claims.pcrs["sha256"][7] = std::string(64, 'a');
  (void)kb::EvaluatePolicy(*policy, claims);
  claims.evidence_type = "snp";
  (void)kb::EvaluatePolicy(*policy, claims);
  return 0;
}
