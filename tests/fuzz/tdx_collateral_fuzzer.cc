// libFuzzer target for the TDX collateral parsers: the strict JSON span scanner, tcbInfo and
// QE identity parsing, and content-based sorting of collateral (incl. PEM certs and CRLs).
// Build (not part of the CMake build): see tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "keybroker/verifiers/tdx/collateral.h"
#include "keybroker/verifiers/tdx/collateral_set.h"
#include "keybroker/verifiers/tdx/json_span.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto span = kb::tdx::TopLevelValueSpan(text, "tcbInfo");
  if (span.ok()) {
    // The span must be a view into the input.
    if (span->data() < text.data() || span->data() + span->size() > text.data() + text.size()) {
      __builtin_trap();
    }
  }
  (void)kb::tdx::ParseTcbInfo(text);
  (void)kb::tdx::ParseQeIdentity(text);
  (void)kb::tdx::SortCollateral(std::vector<std::string>{text});
  return 0;
}
