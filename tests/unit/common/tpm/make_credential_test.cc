#include "common/tpm/make_credential.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

// A SHA-256 TPM name: 0x000b || digest.
std::string Name(absl::string_view what) {
  return absl::StrCat(std::string("\x00\x0b", 2), Sha256(what));
}

EvpPkeyPtr Rsa(int bits) {
  return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
}
EvpPkeyPtr Ec(const char* curve) {
  return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}

SecretBytes Secret() { return *RandomSecret(32); }

// Independent values from a straightforward Python rendering of Part 1 §11.4.10.2.
TEST(KdfaTest, MatchesReferenceVectors) {
  SecretBytes key(32);
  for (int i = 0; i < 32; ++i) key.data()[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(HexEncode(KdfaSha256(key, "STORAGE", std::string("\x00\x0bname", 6), "", 128).view()),
            "fc413115ca670c0fe913ec9f264054d0");
  EXPECT_EQ(HexEncode(KdfaSha256(key, "INTEGRITY", "", "", 256).view()),
            "bacf689f634ece301e1f1b15b072d9c87db6a69585db42b1a0cb8f73ebe2692e");
  EXPECT_EQ(HexEncode(KdfaSha256(key, "KEY", "u", "v", 384).view()),
            "75d9e1d8e7c7600b70d4f5984014ab23dd69fa9d541a606c6b9571067291923f96c2f0274c391f60a29d"
            "ebc5c7b33dc9");
}

class MakeCredentialTest : public ::testing::TestWithParam<bool> {
 protected:
  EvpPkeyPtr NewEk() { return GetParam() ? Rsa(2048) : Ec("P-256"); }
};

TEST_P(MakeCredentialTest, RoundTripsAndHasTheTpmLayout) {
  EvpPkeyPtr ek = NewEk();
  const SecretBytes secret = Secret();
  auto made = MakeCredential(ek.get(), secret, Name("ak"));
  ASSERT_THAT(made, IsOk());
  // TPM2B_ID_OBJECT: size(2) || TPM2B_DIGEST hmac (2 + 32) || encIdentity (2 + 32).
  ASSERT_EQ(made->credential_blob.size(), 2u + 34 + 34);
  EXPECT_EQ(made->credential_blob.substr(0, 4), std::string("\x00\x44\x00\x20", 4));
  // RSA-2048: size || 256 bytes; ECC: size || TPMS_ECC_POINT (2 + 32 + 2 + 32).
  EXPECT_EQ(made->encrypted_secret.size(), GetParam() ? 258u : 2u + 68);
  auto back = ActivateCredentialInSoftware(ek.get(), made->credential_blob, made->encrypted_secret,
                                           Name("ak"));
  ASSERT_THAT(back, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(*back, secret));
}

TEST_P(MakeCredentialTest, EachCallUsesAFreshSeed) {
  EvpPkeyPtr ek = NewEk();
  const SecretBytes secret = Secret();
  auto a = MakeCredential(ek.get(), secret, Name("ak"));
  auto b = MakeCredential(ek.get(), secret, Name("ak"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->encrypted_secret, b->encrypted_secret);
  EXPECT_NE(a->credential_blob, b->credential_blob);
}

TEST_P(MakeCredentialTest, OtherObjectNameDoesNotActivate) {
  EvpPkeyPtr ek = NewEk();
  auto made = MakeCredential(ek.get(), Secret(), Name("ak"));
  ASSERT_THAT(made, IsOk());
  auto back = ActivateCredentialInSoftware(ek.get(), made->credential_blob, made->encrypted_secret,
                                           Name("other ak"));
  EXPECT_EQ(back.status().code(), absl::StatusCode::kUnauthenticated) << back.status();
}

TEST_P(MakeCredentialTest, OtherEkDoesNotActivate) {
  EvpPkeyPtr ek = NewEk();
  EvpPkeyPtr other = NewEk();
  auto made = MakeCredential(ek.get(), Secret(), Name("ak"));
  ASSERT_THAT(made, IsOk());
  auto back = ActivateCredentialInSoftware(other.get(), made->credential_blob,
                                           made->encrypted_secret, Name("ak"));
  EXPECT_FALSE(back.ok());
}

TEST_P(MakeCredentialTest, TamperedBlobFailsIntegrity) {
  EvpPkeyPtr ek = NewEk();
  auto made = MakeCredential(ek.get(), Secret(), Name("ak"));
  ASSERT_THAT(made, IsOk());
  std::string blob = made->credential_blob;
  blob.back() ^= 0x01;
  auto back = ActivateCredentialInSoftware(ek.get(), blob, made->encrypted_secret, Name("ak"));
  EXPECT_EQ(back.status().code(), absl::StatusCode::kUnauthenticated) << back.status();
  auto truncated = ActivateCredentialInSoftware(ek.get(), made->credential_blob.substr(0, 10),
                                                made->encrypted_secret, Name("ak"));
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(RsaAndEcc, MakeCredentialTest, ::testing::Bool());

TEST(MakeCredentialInputTest, RejectsWeakOrUnsupportedEks) {
  auto rsa1024 = MakeCredential(Rsa(1024).get(), Secret(), Name("ak"));
  EXPECT_EQ(rsa1024.status().code(), absl::StatusCode::kInvalidArgument);
  auto p384 = MakeCredential(Ec("P-384").get(), Secret(), Name("ak"));
  EXPECT_EQ(p384.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(p384.status().message(), HasSubstr("P-256"));
}

TEST(MakeCredentialInputTest, RejectsBadCredentialOrName) {
  EvpPkeyPtr ek = Rsa(2048);
  EXPECT_FALSE(MakeCredential(ek.get(), SecretBytes(), Name("ak")).ok());
  EXPECT_FALSE(MakeCredential(ek.get(), SecretBytes(33), Name("ak")).ok());
  EXPECT_FALSE(MakeCredential(ek.get(), Secret(), Name("ak").substr(1)).ok());
  EXPECT_FALSE(
      MakeCredential(ek.get(), Secret(), absl::StrCat(std::string("\x00\x04", 2), Sha256("x")))
          .ok());
}

}  // namespace
}  // namespace kb
