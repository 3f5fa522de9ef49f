// libFuzzer target for the Azure HCL report parser, the runtime-claims JSON parser and the
// bincode vTPM quote container parser. See tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "keybroker/verifiers/azure/azure_hcl.h"
#include "keybroker/verifiers/azure/azure_quote.h"
#include "keybroker/verifiers/snp/snp_report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto hcl = kb::ParseHclReport(bytes);
  if (hcl.ok()) {
    auto report = kb::ParseSnpReport(hcl->hw_report);
    if (report.ok()) (void)kb::CheckRuntimeDataDigest(*hcl, report->report_data);
    (void)kb::ParseRuntimeClaims(hcl->runtime_data);
  }
  auto tdx_hcl = kb::ParseTdxHclReport(bytes);  // report type TDX: a 1024-byte TDREPORT
  if (tdx_hcl.ok()) (void)kb::CheckRuntimeDataDigest(*tdx_hcl, tdx_hcl->hw_report.substr(0x80, 64));
  (void)kb::ParseAzureBincodeQuote(bytes);
  return 0;
}
