#ifndef KB_TESTS_FAKES_SOFTWARE_SEV_GUEST_H_
#define KB_TESTS_FAKES_SOFTWARE_SEV_GUEST_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/openssl_util.h"
#include "unlocker/evidence/snp_report_source.h"

namespace kb {

// SEV-SNP firmware in software, for machines without SEV-SNP: answers SNP_GET_EXT_REPORT as
// the sev-guest driver does, with a template report whose REPORT_DATA and VMPL it sets and
// which it signs with a test VCEK, and a certificate table holding that VCEK. The broker
// verifies such reports only when its `amd_chain_file` names the test ASK and ARK
// (tests/fakes/make_fake_snp.sh makes all of them). Not thread-safe.
class SoftwareSevGuest final : public SevGuestDevice {
 public:
  // Loads `dir`: report.bin (a 1,184-byte report), vcek.der and vcek.key (PEM, P-384).
  // UNAVAILABLE naming the file that is missing or malformed.
  static absl::StatusOr<std::unique_ptr<SoftwareSevGuest>> Load(const std::string& dir);

  int GetExtReport(snp_guest_request_ioctl& request) override;

 private:
  SoftwareSevGuest(std::string report, std::string cert_table, EvpPkeyPtr vcek_key)
      : report_(std::move(report)),
        cert_table_(std::move(cert_table)),
        vcek_key_(std::move(vcek_key)) {}
  // Signs report_[0, 0x2A0) into its signature field (r, s: 72 bytes little-endian each).
  bool Sign(std::string& report) const;

  std::string report_;
  std::string cert_table_;
  EvpPkeyPtr vcek_key_;
};

}  // namespace kb

#endif  // KB_TESTS_FAKES_SOFTWARE_SEV_GUEST_H_
