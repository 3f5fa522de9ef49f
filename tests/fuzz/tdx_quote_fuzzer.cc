// libFuzzer target for the TDX quote parser (and the PCK SGX-extension DER walker).
// Build (not part of the CMake build): see tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "keybroker/verifiers/tdx/pck_extensions.h"
#include "keybroker/verifiers/tdx/tdx_quote.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto quote = kb::tdx::ParseTdxQuote(bytes);
  if (quote.ok()) {
    // Invariants: the parsed part lies inside the input, the signed region is its prefix.
    if (quote->parsed_size > size || quote->signed_region.size() > quote->parsed_size ||
        bytes.substr(0, quote->signed_region.size()) != quote->signed_region) {
      __builtin_trap();
    }
  }
  (void)kb::tdx::ParseTdxQuoteHeader(bytes);
  (void)kb::tdx::ParseSgxExtensionDer(bytes);
  return 0;
}
