// The CA fingerprint a token records (unlocker/client/key_release_client.h): SHA-256 of the
// certificate's DER, taken from the PEM without parsing the certificate, and equal to what a
// parse and re-encoding by OpenSSL gives.
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "unlocker/client/key_release_client.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

class CertificateSha256Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new std::string(absl::StrCat(::testing::TempDir(), "/certificate_sha256_pki"));
    const std::string cmd = absl::StrCat("/bin/sh ", std::getenv("KB_SOURCE_DIR"),
                                         "/tests/integration/make_pki.sh ", *pki_);
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  static std::string Pem(absl::string_view name) {
    auto pem = ReadFile(absl::StrCat(*pki_, "/", name));
    EXPECT_THAT(pem, IsOk());
    return pem.ok() ? *pem : "";
  }
  // The fingerprint the other way: parse the certificate and hash OpenSSL's encoding of it.
  static std::string ParsedSha256(const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    EXPECT_NE(cert, nullptr);
    if (cert == nullptr) return "";
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert, &der);
    X509_free(cert);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(der, len, digest);
    OPENSSL_free(der);
    return absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
  }
  static std::string* pki_;
};
std::string* CertificateSha256Test::pki_ = nullptr;

TEST_F(CertificateSha256Test, IsTheSha256OfTheCertificatesDer) {
  for (const char* name : {"ca.pem", "server.pem", "operator-ca.pem"}) {
    const std::string pem = Pem(name);
    EXPECT_THAT(CertificateSha256(pem), IsOkAndHolds(ParsedSha256(pem))) << name;
  }
}

TEST_F(CertificateSha256Test, SkipsBlocksThatAreNoCertificate) {
  const std::string ca = Pem("ca.pem");
  EXPECT_THAT(CertificateSha256(Pem("server.key") + ca), IsOkAndHolds(ParsedSha256(ca)));
}

TEST_F(CertificateSha256Test, RefusesWhatHoldsNoCertificate) {
  EXPECT_THAT(CertificateSha256("not a certificate"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no PEM certificate")));
  EXPECT_THAT(CertificateSha256(Pem("server.key")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no PEM certificate")));
  EXPECT_THAT(CertificateSha256(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace kb
