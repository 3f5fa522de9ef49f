// The vTPM-sealed offline copy on a real (software) TPM: PCR binding, the NV counter bound, and
// survival across a TPM restart.
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include <cstring>

#include "common/crypto.h"
#include "gtest/gtest.h"
#include "tests/integration/swtpm_fixture.h"
#include "tests/integration/tpm_test_util.h"
#include "tests/support/status_matchers.h"
#include "unlocker/esys/esys_tpm.h"

namespace kb {
namespace {

class EsysSealTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto swtpm = SwtpmFixture::Start();
    ASSERT_THAT(swtpm, IsOk());
    swtpm_ = std::move(*swtpm);
    Connect();
    key_ = *RandomSecret(32);
  }
  void Connect() {
    tpm_.reset();
    EsysTpmOptions options;
    options.tcti = swtpm_->tcti();
    auto tpm = EsysTpm::Create(options);
    ASSERT_THAT(tpm, IsOk());
    tpm_ = std::move(*tpm);
  }

  std::unique_ptr<SwtpmFixture> swtpm_;
  std::unique_ptr<EsysTpm> tpm_;
  SecretBytes key_;
};

TEST_F(EsysSealTest, UnsealsExactlyTheGrantedNumberOfTimes) {
  auto sealed = tpm_->SealOffline(key_, {0, 7}, 2);
  ASSERT_THAT(sealed, IsOk());
  EXPECT_EQ(sealed->nv_index, 0x01004b42u);
  uint64_t remaining = 99;
  auto first = tpm_->UnsealOffline(*sealed, &remaining);
  ASSERT_THAT(first, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(*first, key_));
  EXPECT_EQ(remaining, 1u);
  // A reboot (TPM restart) keeps the counter: the allowance is not reset.
  tpm_.reset();
  ASSERT_THAT(swtpm_->Restart(), IsOk());
  Connect();
  auto second = tpm_->UnsealOffline(*sealed, &remaining);
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(remaining, 0u);
  auto third = tpm_->UnsealOffline(*sealed, &remaining);
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted) << third.status();
  // A fresh seal (after an online release) grants a new allowance.
  auto resealed = tpm_->SealOffline(key_, {0, 7}, 1);
  ASSERT_THAT(resealed, IsOk());
  EXPECT_THAT(tpm_->UnsealOffline(*resealed, &remaining), IsOk());
  EXPECT_FALSE(tpm_->UnsealOffline(*resealed, &remaining).ok());
}

TEST_F(EsysSealTest, ChangedPcrFailsWithAClearReason) {
  auto sealed = tpm_->SealOffline(key_, {7}, 3);
  ASSERT_THAT(sealed, IsOk());
  ExtendPcr(swtpm_->tcti(), 7);
  uint64_t remaining = 0;
  auto r = tpm_->UnsealOffline(*sealed, &remaining);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_NE(std::string(r.status().message()).find("PCR values changed"), std::string::npos);
}

TEST_F(EsysSealTest, UnselectedPcrChangesDoNotMatter) {
  auto sealed = tpm_->SealOffline(key_, {7}, 3);
  ASSERT_THAT(sealed, IsOk());
  ExtendPcr(swtpm_->tcti(), 8);
  uint64_t remaining = 0;
  EXPECT_THAT(tpm_->UnsealOffline(*sealed, &remaining), IsOk());
}

TEST_F(EsysSealTest, MalformedBlobIsInvalid) {
  auto sealed = tpm_->SealOffline(key_, {7}, 3);
  ASSERT_THAT(sealed, IsOk());
  SealedKey bad = *sealed;
  bad.blob.resize(bad.blob.size() / 2);
  uint64_t remaining = 0;
  EXPECT_EQ(tpm_->UnsealOffline(bad, &remaining).status().code(),
            absl::StatusCode::kInvalidArgument);
  bad = *sealed;
  bad.limit += 10;  // a forged allowance does not match the sealed policy
  EXPECT_FALSE(tpm_->UnsealOffline(bad, &remaining).ok());
}

}  // namespace
}  // namespace kb
