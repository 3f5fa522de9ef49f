#ifndef KB_TESTS_UNIT_KEYBROKER_VERIFIERS_TPM_TPM_VECTORS_H_
#define KB_TESTS_UNIT_KEYBROKER_VERIFIERS_TPM_TPM_VECTORS_H_

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "common/crypto.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "common/tpm/tpm_structures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/ak_activation/ek_certificate.h"
#include "keybroker/store/sqlite_stores.h"
#include "keybroker/verifiers/tpm/tpm_quote_verifier.h"
#include "tests/support/status_matchers.h"

namespace kb::tpm_vectors {

// A file of tests/data/tpm-quote/ (the attributed copies of ../shared/vectors/tpm-quote).
inline std::string ReadVector(absl::string_view name) {
  const char* src = std::getenv("KB_SOURCE_DIR");
  auto bytes = ReadFile(absl::StrCat(src ? src : ".", "/tests/data/tpm-quote/", name));
  EXPECT_THAT(bytes, IsOk());
  return bytes.ok() ? *bytes : std::string();
}

inline std::string Unhex(absl::string_view hex) {
  auto bytes = HexDecode(hex);
  EXPECT_THAT(bytes, IsOk()) << hex;
  return bytes.ok() ? *bytes : std::string();
}

// The broker's TpmQuoteVerifier with an in-memory AK registry holding one AK, run as a dry run
// (VerifyUnbound, no transfer key): the checks parse, ak_trusted, quote_signature,
// quote_magic_and_type and pcr_digest. The binding check does not apply: these vectors'
// extraData are their tools' nonces, not broker bindings.
class RegisteredAkVerifier {
 public:
  explicit RegisteredAkVerifier(const std::string& ak_tpmt_public) {
    db_ = *OpenBrokerDatabase(":memory:");
    registry_ = std::make_unique<SqliteAttestationKeyRegistry>(db_);
    verifier_ = std::make_unique<TpmQuoteVerifier>(registry_.get());
    auto pub = ParseTpmtPublic(ak_tpmt_public, "ak");
    EXPECT_THAT(pub, IsOk());
    auto name = TpmName(pub.ok() ? pub->nameAlg : 0, ak_tpmt_public);
    EXPECT_THAT(name, IsOk());
    name_ = name.ok() ? *name : std::string();
    EXPECT_THAT(registry_->Register({name_, "vector", ak_tpmt_public, absl::Now()}), IsOk());
  }

  absl::StatusOr<Claims> Verify(const v1::TpmQuoteEvidence& quote) {
    v1::Evidence evidence;
    *evidence.mutable_tpm_quote() = quote;
    return verifier_->VerifyUnbound(evidence, v1::TransferKey());
  }

  const std::string& name() const { return name_; }

 private:
  std::shared_ptr<SqliteDb> db_;
  std::unique_ptr<SqliteAttestationKeyRegistry> registry_;
  std::unique_ptr<TpmQuoteVerifier> verifier_;
  std::string name_;
};

// `result` failed the named evidence check with `code`.
template <typename T>
void ExpectCheckFailed(const absl::StatusOr<T>& result, absl::string_view check,
                       absl::StatusCode code = absl::StatusCode::kUnauthenticated) {
  ASSERT_FALSE(result.ok()) << "expected check '" << check << "' to fail";
  EXPECT_EQ(result.status().code(), code) << result.status();
  EXPECT_THAT(std::string(result.status().message()),
              ::testing::HasSubstr(absl::StrCat("evidence check '", check, "' failed")));
}

// `s` with byte `offset` incremented.
inline std::string Bumped(std::string s, size_t offset) {
  s[offset] = static_cast<char>(s[offset] + 1);
  return s;
}

// EkCertificateVerifier takes PEM; these vectors are DER.
inline std::string PemOf(absl::string_view name) {
  const std::string der = ReadVector(name);
  const uint8_t* p = reinterpret_cast<const uint8_t*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  EXPECT_TRUE(cert != nullptr) << name;
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!cert || !bio || PEM_write_bio_X509(bio.get(), cert.get()) != 1) return "";
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

// The DER certificate `der` verified by EkCertificateVerifier (the broker's certificate-chain
// verifier) over the CA certificate vectors `cas` at time `at`.
inline absl::StatusOr<VerifiedEk> VerifyChainDer(const std::string& der,
                                                 const std::vector<absl::string_view>& cas,
                                                 absl::Time at) {
  std::vector<std::string> pems;
  for (absl::string_view ca : cas) pems.push_back(PemOf(ca));
  ASSIGN_OR_RETURN(auto verifier, EkCertificateVerifier::FromPem(pems));
  return verifier->Verify(der, at);
}

// The certificate vector `leaf` verified as VerifyChainDer does.
inline absl::StatusOr<VerifiedEk> VerifyChain(absl::string_view leaf,
                                              const std::vector<absl::string_view>& cas,
                                              absl::Time at) {
  return VerifyChainDer(ReadVector(leaf), cas, at);
}

// The day MANIFEST's checks ran; inside every certificate's validity.
inline absl::Time ManifestDay() {
  return absl::FromCivil(absl::CivilDay(2026, 11, 28), absl::UTCTimeZone());
}

}  // namespace kb::tpm_vectors

#endif  // KB_TESTS_UNIT_KEYBROKER_VERIFIERS_TPM_TPM_VECTORS_H_
