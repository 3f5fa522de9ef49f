#ifndef KB_TESTS_INTEGRATION_AZURE_PARAVISOR_H_
#define KB_TESTS_INTEGRATION_AZURE_PARAVISOR_H_

// What the Azure vTPM tests (az-snp-vtpm, az-tdx-vtpm on swtpm) share: the paravisor's HCL
// report and runtime claims, the HCL attestation key at 0x81000003, and a broker stand-in that
// verifies with AzureVtpmEvidenceVerifier before it wraps the disk key.
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "common/openssl_util.h"
#include "common/secret_bytes.h"
#include "gtest/gtest.h"
#include "keybroker/verifiers/api/evidence_verifier.h"
#include "tests/integration/swtpm_fixture.h"
#include "unlocker/client/key_release_client.h"
#include "unlocker/esys/esys_tpm.h"

namespace kb {

// Runtime claims JSON naming `ak` (RSA) as HCLAkPub, with "user-data" = upper-case hex of
// `user_data` (as Azure writes it) and vmUniqueId `vm_id`.
std::string AzureRuntimeClaims(EVP_PKEY* ak, absl::string_view user_data, absl::string_view vm_id);

// An HCL report: header `version`, IGVM report type `report_type` (2 SNP, 4 TDX), the hardware
// report (SNP report or TDREPORT) at 0x20, then the runtime data.
std::string AzureHclReport(uint32_t version, uint32_t report_type, absl::string_view hw_report,
                           absl::string_view runtime);

// The stand-in's HCL report index size. Azure's is 2,600 bytes, beyond swtpm's NV index maximum
// (2,048); reports are padded with zeros to it, as Azure's are (the verifier reads the sizes in
// the report's header).
inline constexpr std::size_t kHclIndexSize = 2048;

// Defines NV 0x01400001 if needed and writes `report` there, padded, as the paravisor does.
absl::Status StoreHclReport(EsysTpm& tpm, const std::string& report);

// A clock for verifiers that outlives every test.
const Clock* TestClock();

// swtpm with an RSA-2048 restricted signing key persisted at kAzureAkHandle (like Azure's HCL
// AK), an EsysTpm on it and that AK's public key.
class AzureVtpmFixture : public ::testing::Test {
 protected:
  void SetUp() override;

  std::unique_ptr<SwtpmFixture> swtpm_;
  std::unique_ptr<EsysTpm> tpm_;
  EvpPkeyPtr ak_;
};

// The broker side: a challenge, then `verifier`, then the wrap to the certified TPM transfer
// key. Counts verified releases and keeps the last claims.
class VerifyingBroker final : public KeyReleaseClient {
 public:
  VerifyingBroker(std::unique_ptr<EvidenceVerifier> verifier, const SecretBytes& disk_key)
      : verifier_(std::move(verifier)), disk_key_(disk_key) {}

  absl::StatusOr<v1::GetChallengeResponse> GetChallenge(const v1::GetChallengeRequest&) override;
  absl::StatusOr<v1::ReleaseKeyResponse> ReleaseKey(const v1::ReleaseKeyRequest& r) override;
  // The Azure suites release only; this stand-in answers like a broker without the RPC.
  absl::StatusOr<v1::ConfirmEnrolmentResponse> ConfirmEnrolment(
      const v1::ConfirmEnrolmentRequest&) override {
    return absl::UnimplementedError("the Azure test broker records no confirmations");
  }

  int verified = 0;
  Claims last_claims;

 private:
  std::unique_ptr<EvidenceVerifier> verifier_;
  const SecretBytes& disk_key_;
  std::string nonce_;
};

}  // namespace kb

#endif  // KB_TESTS_INTEGRATION_AZURE_PARAVISOR_H_
