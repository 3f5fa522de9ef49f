// libFuzzer target for the SEV-SNP report parser. See tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "keybroker/verifiers/snp/snp_report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto report = kb::ParseSnpReport(bytes);
  if (report.ok()) {
    // Touch the decoded views too; none may read outside the input.
    (void)kb::DecodeSnpTcb(report->reported_tcb, kb::SnpProduct::kTurin);
    (void)kb::DecodeSnpGuestPolicy(report->policy);
    (void)kb::SnpProductFromCpuid(report->cpuid_family, report->cpuid_model);
  }
  return 0;
}
