// The Tpm of a machine without one: every operation refuses, saying what needs a vTPM.
#include "unlocker/tpm/absent_tpm.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

void ExpectNoTpm(const absl::Status& s, absl::string_view what) {
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("no TPM on this machine: "));
  EXPECT_THAT(std::string(s.message()), HasSubstr(std::string(what)));
}

TEST(AbsentTpmTest, EveryOperationIsRefusedWithWhatNeedsAVtpm) {
  AbsentTpm tpm;
  ExpectNoTpm(tpm.AttestationKeyPublic().status(), "an attestation key needs a vTPM");
  ExpectNoTpm(tpm.CreateTransferKey(TransferKeyType::kEccP256).status(),
              "a TPM transfer key needs a vTPM");
  ExpectNoTpm(tpm.CertifyTransferKey(std::string(32, 'b')).status(), "needs a vTPM");
  ExpectNoTpm(tpm.Quote(std::string(32, 'b'), {0, 7}).status(), "TPM quote evidence");
  ExpectNoTpm(tpm.Unwrap(v1::WrappedKey()).status(), "needs a vTPM");
}

TEST(AbsentTpmTest, OfflineGraceIsUnavailable) {
  AbsentTpm tpm;
  ExpectNoTpm(tpm.SealOffline(SecretBytes::FromString("key"), {7}, 3).status(),
              "offline grace needs a vTPM (no sealed copy is kept");
  uint64_t remaining = 42;
  ExpectNoTpm(tpm.UnsealOffline(SealedKey{"blob", 0x01004b42, 5, {7}}, &remaining).status(),
              "needs a vTPM");
  EXPECT_EQ(remaining, 0u);
}

}  // namespace
}  // namespace kb
