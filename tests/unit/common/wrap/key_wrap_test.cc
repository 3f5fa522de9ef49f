#include "common/wrap/key_wrap.h"

#include "common/crypto.h"
#include "common/tpm/tpm_structures.h"
#include "gtest/gtest.h"
#include "tests/fakes/software_tpm.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

class KeyWrapTest : public ::testing::TestWithParam<TransferKeyType> {};

TEST_P(KeyWrapTest, WrapsToTransferKeyAndOnlyItUnwraps) {
  auto tpm = SoftwareTpm::Create();
  ASSERT_THAT(tpm, IsOk());
  auto pub_bytes = (*tpm)->CreateTransferKey(GetParam());
  ASSERT_THAT(pub_bytes, IsOk());
  auto pub = ParseTpmtPublic(*pub_bytes, "pub");
  ASSERT_THAT(pub, IsOk());
  auto key = RandomSecret(64);
  auto wrapped = WrapToTpmTransferKey(*pub, *pub_bytes, *key);
  ASSERT_THAT(wrapped, IsOk());
  EXPECT_EQ(wrapped->wrapped().find(std::string(key->view())), std::string::npos);

  auto unwrapped = (*tpm)->Unwrap(*wrapped);
  ASSERT_THAT(unwrapped, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(*unwrapped, *key));

  // A different transfer key in the same TPM cannot unwrap it.
  ASSERT_THAT((*tpm)->CreateTransferKey(GetParam()), IsOk());
  EXPECT_FALSE((*tpm)->Unwrap(*wrapped).ok());
}

INSTANTIATE_TEST_SUITE_P(Schemes, KeyWrapTest,
                         ::testing::Values(TransferKeyType::kEccP256, TransferKeyType::kRsa2048));

TEST(KeyWrapTest, TamperedWrappedKeyFails) {
  auto tpm = SoftwareTpm::Create();
  auto pub_bytes = (*tpm)->CreateTransferKey(TransferKeyType::kEccP256);
  auto pub = ParseTpmtPublic(*pub_bytes, "pub");
  auto key = RandomSecret(32);
  auto wrapped = WrapToTpmTransferKey(*pub, *pub_bytes, *key);
  ASSERT_THAT(wrapped, IsOk());
  v1::WrappedKey tampered = *wrapped;
  (*tampered.mutable_wrapped())[3] ^= 1;
  EXPECT_EQ((*tpm)->Unwrap(tampered).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(KeyWrapTest, RejectsNonP256EccAndOddRsaSizes) {
  TPMT_PUBLIC pub = {};
  pub.type = TPM2_ALG_RSA;
  pub.parameters.rsaDetail.keyBits = 1024;
  pub.unique.rsa.size = 128;
  pub.unique.rsa.buffer[0] = 0xc0;
  pub.unique.rsa.buffer[127] = 1;
  auto key = RandomSecret(32);
  EXPECT_FALSE(WrapToTpmTransferKey(pub, "x", *key).ok());
}

// A P-256 transfer key whose point is not on the curve gets nothing wrapped to it: its import
// refuses it.
TEST(KeyWrapTest, RejectsAPointOffTheCurve) {
  TPMT_PUBLIC pub = {};
  pub.type = TPM2_ALG_ECC;
  pub.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  pub.unique.ecc.x.size = 32;
  pub.unique.ecc.y.size = 32;
  pub.unique.ecc.x.buffer[31] = 1;  // (1, 1): not on P-256
  pub.unique.ecc.y.buffer[31] = 1;
  auto key = RandomSecret(32);
  auto wrapped = WrapToTpmTransferKey(pub, "x", *key);
  EXPECT_EQ(wrapped.status().code(), absl::StatusCode::kInvalidArgument) << wrapped.status();
}

// The point at infinity passes the SPKI decoder (a bit string of one 0x00 byte); the wrap's own
// check of the peer before the ECDH refuses it.
TEST(KeyWrapTest, RefusesTheSpkiPointAtInfinity) {
  const std::string spki(
      "\x30\x19\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03"
      "\x01\x07\x03\x02\x00\x00",
      27);
  auto key = RandomSecret(32);
  auto wrapped = WrapToSpkiTransferKey(spki, *key);
  EXPECT_EQ(wrapped.status().code(), absl::StatusCode::kInvalidArgument) << wrapped.status();
  EXPECT_NE(wrapped.status().message().find("not a point on P-256"), std::string::npos)
      << wrapped.status();
}

}  // namespace
}  // namespace kb
