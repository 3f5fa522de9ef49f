#ifndef KB_TESTS_UNIT_KEYBROKER_VERIFIERS_TDX_TDX_TEST_UTIL_H_
#define KB_TESTS_UNIT_KEYBROKER_VERIFIERS_TDX_TDX_TEST_UTIL_H_

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/files.h"
#include "common/openssl_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/verifiers/tdx/collateral_set.h"
#include "keybroker/verifiers/tdx/intel_roots.h"
#include "keybroker/verifiers/tdx/tdx_quote.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace tdx {
namespace testing {

// A file from tests/data/tdx (found through KB_SOURCE_DIR, set by kb_test()).
inline std::string ReadVector(const std::string& name) {
  const char* dir = std::getenv("KB_SOURCE_DIR");
  std::string path = absl::StrCat(dir != nullptr ? dir : ".", "/tests/data/tdx/", name);
  auto data = ReadFile(path);
  EXPECT_THAT(data, IsOk());
  return data.ok() ? *data : std::string();
}

inline absl::Time At(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) << err;
  return t;
}

// Asserts that `status` is the rejection of check `check` with `code`.
inline void ExpectCheck(const absl::Status& status, absl::string_view check,
                        absl::StatusCode code) {
  EXPECT_EQ(status.code(), code) << status;
  EXPECT_THAT(std::string(status.message()),
              ::testing::HasSubstr(absl::StrCat("evidence check '", check, "' failed")))
      << status;
}

// The embedded root with the (expired, same-key) Intel SGX TCB Signing certificate pinned.
inline IntelTrustAnchors PinnedAnchors() {
  auto a = IntelTrustAnchors::FromPem(EmbeddedIntelSgxRootCaPem(),
                                      ReadVector("derived_intel_sgx_tcb_signing_2018-2025.pem"));
  EXPECT_THAT(a, IsOk());
  return std::move(a).value();
}

inline TdxCollateral Collateral(const std::vector<std::string>& files) {
  std::vector<std::string> items;
  for (const std::string& f : files) items.push_back(ReadVector(f));
  auto c = SortCollateral(items);
  EXPECT_THAT(c, IsOk());
  return c.ok() ? std::move(c).value() : TdxCollateral();
}

inline void PutU16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}
inline void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Re-encodes a parsed quote (lengths recomputed), so tests can change one field.
inline std::string SerializeQuote(const TdxQuote& q) {
  std::string cert;
  cert += q.qe_report.raw + q.qe_report_signature;
  PutU16(cert, static_cast<uint16_t>(q.qe_auth_data.size()));
  cert += q.qe_auth_data;
  PutU16(cert, q.pck_cert_data_type);
  PutU32(cert, static_cast<uint32_t>(q.pck_cert_data.size()));
  cert += q.pck_cert_data;
  std::string sig = q.signature + q.attestation_key;
  PutU16(sig, q.certification_data_type);
  PutU32(sig, static_cast<uint32_t>(cert.size()));
  sig += cert;
  std::string out = q.signed_region;
  PutU32(out, static_cast<uint32_t>(sig.size()));
  return out + sig;
}

// Every TDX quote in the vector set.
inline const std::vector<std::string>& AllTdxQuotes() {
  static const auto* kQuotes = new std::vector<std::string>{"gotdx_cos-113-tdx-quote.dat",
                                                            "gotdx_quote_v5_sample.dat",
                                                            "gotdx_tdx_prod_quote_SPR_E4_v4.dat",
                                                            "trustee_tdx_quote_4.dat",
                                                            "trustee_tdx_quote_5.dat",
                                                            "trustee_tdx_quote_6.dat",
                                                            "trustee_td-quote.bin",
                                                            "trustee_old2024_td-quote.bin"};
  return *kQuotes;
}

// A key and its certificate in a test Intel PKI.
struct Issued {
  EvpPkeyPtr key;
  X509Ptr cert;
};

// A P-256 certificate for `cn` with serial `serial`, signed by `issuer` (self-signed when null),
// valid from a year ago for 30 years. A CA (critical CA:TRUE) when self-signed or without
// `extra`; carries `extra` (e.g. a real PCK certificate's SGX extension) when given.
inline Issued Issue(const char* cn, const Issued* issuer, long serial, X509_EXTENSION* extra) {
  Issued out;
  out.key.reset(EVP_EC_gen("P-256"));
  out.cert.reset(X509_new());
  X509* c = out.cert.get();
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
  X509_gmtime_adj(X509_getm_notBefore(c), -86400L * 365);
  X509_gmtime_adj(X509_getm_notAfter(c), 86400L * 365 * 30);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(
      c, issuer ? X509_get_subject_name(issuer->cert.get()) : X509_get_subject_name(c));
  X509_set_pubkey(c, out.key.get());
  if (issuer == nullptr || extra == nullptr) {
    X509_EXTENSION* bc =
        X509V3_EXT_conf_nid(nullptr, nullptr, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(c, bc, -1);
    X509_EXTENSION_free(bc);
  }
  if (extra != nullptr) X509_add_ext(c, extra, -1);
  X509_sign(c, issuer ? issuer->key.get() : out.key.get(), EVP_sha256());
  return out;
}

// Raw r||s ECDSA P-256 signature of SHA-256(msg) with `key`, as TDX quotes carry them.
inline std::string SignRaw(EVP_PKEY* key, const std::string& msg) {
  EvpMdCtxPtr md(EVP_MD_CTX_new());
  EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key);
  size_t len = 0;
  const auto* m = reinterpret_cast<const unsigned char*>(msg.data());
  EVP_DigestSign(md.get(), nullptr, &len, m, msg.size());
  std::string der(len, '\0');
  EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(der.data()), &len, m, msg.size());
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  std::string out(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(&out[0]), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), reinterpret_cast<unsigned char*>(&out[32]), 32);
  return out;
}

}  // namespace testing
}  // namespace tdx
}  // namespace kb

#endif  // KB_TESTS_UNIT_KEYBROKER_VERIFIERS_TDX_TDX_TEST_UTIL_H_
