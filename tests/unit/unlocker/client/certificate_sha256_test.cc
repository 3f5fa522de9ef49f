// The CA fingerprint a token records and its check at unlock
// (unlocker/client/key_release_client.h): CertificateSha256 is SHA-256 of the certificate's DER as
// OpenSSL parses and re-encodes it; EnrolledCaSha256 compares the PEM's bytes first and gives the
// same value or error whatever the PEM holds. Both refuse a file with more than one certificate.
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

TEST_F(CertificateSha256Test, TheEnrolledCaMatchesAndAnotherGetsItsOwnFingerprint) {
  const std::string ca = Pem("ca.pem");
  const std::string enrolled = ParsedSha256(ca);
  EXPECT_THAT(EnrolledCaSha256(ca, enrolled), IsOkAndHolds(enrolled));
  EXPECT_THAT(EnrolledCaSha256(Pem("server.key") + ca, enrolled), IsOkAndHolds(enrolled));
  const std::string other = Pem("other-ca.pem");
  EXPECT_THAT(EnrolledCaSha256(other, enrolled), IsOkAndHolds(ParsedSha256(other)));
  EXPECT_THAT(EnrolledCaSha256(ca, ""), IsOkAndHolds(enrolled));
}

// Bytes after the certificate inside its block: the parse ignores them, so the token's value
// (recorded through the parse) still matches although the block's bytes hash otherwise.
TEST_F(CertificateSha256Test, TrailingBytesInTheBlockStillMatchTheParsedValue) {
  const std::string ca = Pem("ca.pem");
  BIO* in = BIO_new_mem_buf(ca.data(), static_cast<int>(ca.size()));
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* der = nullptr;
  long len = 0;
  ASSERT_EQ(PEM_read_bio(in, &name, &header, &der, &len), 1);
  BIO_free(in);
  std::string body(reinterpret_cast<char*>(der), len);
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(der);
  body.append("\x05\x00", 2);  // an ASN.1 NULL after the certificate
  BIO* out = BIO_new(BIO_s_mem());
  ASSERT_GT(PEM_write_bio(out, "CERTIFICATE", "",
                          reinterpret_cast<const unsigned char*>(body.data()), body.size()),
            0);
  char* data = nullptr;
  const std::string padded(data, BIO_get_mem_data(out, &data));
  BIO_free(out);
  ASSERT_THAT(CertificateSha256(padded), IsOkAndHolds(ParsedSha256(ca)));
  EXPECT_THAT(EnrolledCaSha256(padded, ParsedSha256(ca)), IsOkAndHolds(ParsedSha256(ca)));
}

TEST_F(CertificateSha256Test, RefusesWhatHoldsNoCertificate) {
  const std::string enrolled = ParsedSha256(Pem("ca.pem"));
  for (const std::string& bad :
       {std::string("not a certificate"), Pem("server.key"), std::string(""),
        std::string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")}) {
    EXPECT_THAT(CertificateSha256(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no PEM certificate")));
    EXPECT_THAT(EnrolledCaSha256(bad, enrolled),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no PEM certificate")));
  }
}

// A token pins one certificate; TLS would trust every one in the file, so a second is refused
// whichever comes first and whether or not the first is the enrolled one.
TEST_F(CertificateSha256Test, RefusesAFileWithMoreThanOneCertificate) {
  const std::string ca = Pem("ca.pem");
  const std::string other = Pem("other-ca.pem");
  const std::string enrolled = ParsedSha256(ca);
  for (const std::string& bundle : {ca + other, other + ca, ca + ca, Pem("server.key") + ca + ca}) {
    EXPECT_THAT(CertificateSha256(bundle), StatusIs(absl::StatusCode::kInvalidArgument,
                                                    HasSubstr("the CA file holds 2 certificates")));
    EXPECT_THAT(
        EnrolledCaSha256(bundle, enrolled),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("keep only the broker's CA in it")));
  }
  EXPECT_THAT(CertificateSha256(ca + other + ca),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("holds 3 certificates")));
}

}  // namespace
}  // namespace kb
