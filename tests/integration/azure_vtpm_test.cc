// The Azure vTPM (az-snp-vtpm) evidence path end to end on swtpm: the guest's AzureVtpmSource
// writes the binding to NV 0x01400001's user-data index, the test plays the paravisor and
// produces an HCL report for it (an SNP report signed by a test VCEK under a test ARK/ASK, with
// runtime claims naming the swtpm's RSA AK at 0x81000003), and the broker's
// AzureVtpmEvidenceVerifier, trusting the test ARK, verifies it before the disk key is wrapped
// to the certified TPM transfer key and unwrapped in the swtpm.
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <tss2/tss2_tctildr.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "common/binding.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/openssl_util.h"
#include "common/tpm/tpm_structures.h"
#include "common/wrap/key_wrap.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/verifiers/azure/azure_vtpm_evidence_verifier.h"
#include "keybroker/verifiers/tpm/tpm_certification.h"
#include "tests/integration/azure_paravisor.h"
#include "tests/integration/swtpm_fixture.h"
#include "tests/support/status_matchers.h"
#include "unlocker/esys/esys_tpm.h"
#include "unlocker/esys/esys_util.h"
#include "unlocker/evidence/azure_vtpm_source.h"
#include "unlocker/exit/exit_codes.h"
#include "unlocker/flow/key_retrieval.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

// ---- a test AMD chain: ARK (RSA-4096, self-signed) -> ASK (RSA-4096) -> VCEK (P-384) ----

EvpPkeyPtr NewKey(const char* type, const char* param) {
  if (std::string(type) == "RSA")
    return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", 4096));
  return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", param));
}

void AddExt(X509* cert, const char* oid, const std::string& der_value) {
  ASN1_OBJECT* obj = OBJ_txt2obj(oid, 1);
  ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(os, reinterpret_cast<const unsigned char*>(der_value.data()),
                        static_cast<int>(der_value.size()));
  X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, obj, 0, os);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  ASN1_OCTET_STRING_free(os);
  ASN1_OBJECT_free(obj);
}

void AddV3(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key` named CN=`cn`, issued by `issuer` (nullptr: self) with RSA-PSS.
X509Ptr IssueCert(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, bool ca,
                  const std::function<void(X509*)>& extra = nullptr) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1 + (rand() & 0xffff));
  X509_NAME* name = X509_NAME_new();
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_subject_name(cert.get(), name);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509_NAME_free(name);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -86400);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400L * 365);
  X509_set_pubkey(cert.get(), key);
  X509* issuer_or_self = issuer ? issuer : cert.get();
  if (ca) {
    AddV3(cert.get(), issuer_or_self, NID_basic_constraints, "critical,CA:TRUE");
    AddV3(cert.get(), issuer_or_self, NID_key_usage, "critical,keyCertSign,cRLSign");
  }
  if (extra) extra(cert.get());
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EXPECT_EQ(EVP_DigestSignInit(md, &pctx, EVP_sha384(), nullptr, issuer_key), 1);
  EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  EXPECT_GT(X509_sign_ctx(cert.get(), md), 0);
  EVP_MD_CTX_free(md);
  return cert;
}

std::string Pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::string DerInt(uint8_t v) { return std::string("\x02\x01", 2) + static_cast<char>(v); }

struct TestAmd {
  EvpPkeyPtr ark_key, ask_key, vcek_key;
  X509Ptr ark, ask, vcek;
  std::string chip_id = std::string(64, '\x42');
  // Milan TCB: bl, tee, snp, ucode SPLs as the VCEK names them.
  uint8_t bl = 3, tee = 0, snp = 8, ucode = 115;

  static std::unique_ptr<TestAmd> Make() {
    auto t = std::make_unique<TestAmd>();
    t->ark_key = NewKey("RSA", nullptr);
    t->ask_key = NewKey("RSA", nullptr);
    t->vcek_key = NewKey("EC", "P-384");
    t->ark = IssueCert("ARK-Milan", t->ark_key.get(), nullptr, t->ark_key.get(), true);
    t->ask = IssueCert("SEV-Milan", t->ask_key.get(), t->ark.get(), t->ark_key.get(), true);
    TestAmd* self = t.get();
    t->vcek = IssueCert("SEV-VCEK", t->vcek_key.get(), t->ask.get(), t->ask_key.get(), false,
                        [self](X509* c) {
                          AddExt(c, "1.3.6.1.4.1.3704.1.2", std::string("\x16\x08Milan-B0", 10));
                          AddExt(c, "1.3.6.1.4.1.3704.1.3.1", DerInt(self->bl));
                          AddExt(c, "1.3.6.1.4.1.3704.1.3.2", DerInt(self->tee));
                          AddExt(c, "1.3.6.1.4.1.3704.1.3.3", DerInt(self->snp));
                          AddExt(c, "1.3.6.1.4.1.3704.1.3.8", DerInt(self->ucode));
                          AddExt(c, "1.3.6.1.4.1.3704.1.4", self->chip_id);
                        });
    return t;
  }

  std::string ChainPem() const { return Pem(ask.get()) + Pem(ark.get()); }

  // A signed SNP ATTESTATION_REPORT v2 at VMPL 0 with `report_data`.
  std::string SnpReport(const std::string& report_data) const {
    std::string r(0x4A0, '\0');
    auto put32 = [&r](size_t off, uint32_t v) {
      for (int i = 0; i < 4; ++i) r[off + i] = static_cast<char>(v >> (8 * i));
    };
    put32(0x000, 2);        // version
    put32(0x008, 0x30000);  // policy: SMT allowed, reserved bit 17
    put32(0x034, 1);        // ECDSA P-384 with SHA-384
    r.replace(0x050, 64, report_data);
    const char tcb[8] = {static_cast<char>(bl),  static_cast<char>(tee),  0, 0, 0, 0,
                         static_cast<char>(snp), static_cast<char>(ucode)};
    r.replace(0x038, 8, tcb, 8);  // current
    r.replace(0x180, 8, tcb, 8);  // reported
    r.replace(0x1E0, 8, tcb, 8);  // committed
    r.replace(0x1F0, 8, tcb, 8);  // launch
    r.replace(0x1A0, 64, chip_id);
    std::string digest(48, '\0');
    unsigned int len = 0;
    EVP_Digest(r.data(), 0x2A0, reinterpret_cast<unsigned char*>(digest.data()), &len, EVP_sha384(),
               nullptr);
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(vcek_key.get(), nullptr));
    std::string der(256, '\0');
    size_t der_len = der.size();
    EVP_PKEY_sign_init(ctx.get());
    EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &der_len,
                  reinterpret_cast<const unsigned char*>(digest.data()), digest.size());
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len));
    auto put_le = [&r](size_t off, const BIGNUM* bn) {
      unsigned char be[72] = {0};
      BN_bn2binpad(bn, be, 72);
      for (int i = 0; i < 72; ++i) r[off + i] = static_cast<char>(be[71 - i]);
    };
    put_le(0x2A0, ECDSA_SIG_get0_r(sig));
    put_le(0x2E8, ECDSA_SIG_get0_s(sig));
    ECDSA_SIG_free(sig);
    return r;
  }
};

class AzureVtpmTest : public AzureVtpmFixture {
 protected:
  static void SetUpTestSuite() { amd_ = TestAmd::Make().release(); }
  static void TearDownTestSuite() { delete amd_; }

  // AzureVtpmOptions whose hook plays the paravisor: the HCL report for the user data just
  // written (or for `forced_user_data` when set), stored at NV 0x01400001.
  AzureVtpmOptions Options(std::optional<std::string> forced_user_data = std::nullopt) {
    AzureVtpmOptions options;
    options.after_user_data_write = [this, forced_user_data](absl::string_view user_data) {
      const std::string written = *tpm_->NvRead(kAzureUserDataIndex);
      EXPECT_EQ(written, std::string(user_data));  // the write happened before the hook
      const std::string runtime =
          AzureRuntimeClaims(ak_.get(), forced_user_data.value_or(std::string(user_data)),
                             "00000000-0000-0000-0000-000000000001");
      const std::string snp = amd_->SnpReport(Sha256(runtime) + std::string(32, '\0'));
      ++reports_made_;
      return StoreHclReport(*tpm_, AzureHclReport(1, /*SNP*/ 2, snp, runtime));
    };
    const std::string vcek = Pem(amd_->vcek.get());
    options.vcek = [vcek]() -> absl::StatusOr<std::string> { return vcek; };
    return options;
  }

  static VerifyingBroker Broker(const TestAmd& amd, const SecretBytes& key) {
    return VerifyingBroker(std::make_unique<AzureVtpmEvidenceVerifier>(amd.ChainPem(), TestClock()),
                           key);
  }

  static TestAmd* amd_;
  int reports_made_ = 0;
  const SecretBytes disk_key_ = SecretBytes::FromString(std::string(64, '\x3c'));
};

TestAmd* AzureVtpmTest::amd_ = nullptr;

TEST_F(AzureVtpmTest, ReleaseSucceedsEndToEnd) {
  AzureVtpmSource source(*tpm_, *tpm_, Options());
  VerifyingBroker broker = Broker(*amd_, disk_key_);
  auto released = ObtainKey(source, broker, {"disk", 0, {0, 7}, TransferKeyType::kEccP256});
  ASSERT_THAT(released, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(released->key, disk_key_));
  EXPECT_EQ(broker.verified, 1);
  EXPECT_EQ(reports_made_, 1);
  auto user_data = tpm_->NvRead(kAzureUserDataIndex);
  ASSERT_THAT(user_data, IsOk());
  EXPECT_EQ(user_data->size(), 64u);

  // A second release (new binding, index already defined) works too, with an RSA transfer key.
  auto again = ObtainKey(source, broker, {"disk", 0, {7}, TransferKeyType::kRsa2048});
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(again->key, disk_key_));
}

TEST_F(AzureVtpmTest, WrongUserDataIsRefused) {
  AzureVtpmSource source(*tpm_, *tpm_, Options(std::string(64, '\x01')));
  VerifyingBroker broker = Broker(*amd_, disk_key_);
  auto released = ObtainKey(source, broker, {"disk", 0, {7}, TransferKeyType::kEccP256});
  ASSERT_FALSE(released.ok());
  EXPECT_EQ(released.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(released.status().message()), HasSubstr("user_data"));
  EXPECT_EQ(ExitCodeOf(released.status()), ExitCode::kDenied);
  EXPECT_EQ(broker.verified, 0);
}

// Forwards to `broker` with the transfer key's certification signature altered: the broker must
// check the certification under the HCL AK the runtime claims named and refuse it.
class CertificationTamperer final : public KeyReleaseClient {
 public:
  explicit CertificationTamperer(VerifyingBroker& broker) : broker_(broker) {}
  absl::StatusOr<v1::GetChallengeResponse> GetChallenge(const v1::GetChallengeRequest& r) override {
    return broker_.GetChallenge(r);
  }
  absl::StatusOr<v1::ReleaseKeyResponse> ReleaseKey(const v1::ReleaseKeyRequest& r) override {
    v1::ReleaseKeyRequest altered = r;
    std::string* sig = altered.mutable_transfer_key()->mutable_tpm()->mutable_certify_signature();
    if (!sig->empty()) sig->back() ^= 0x01;
    return broker_.ReleaseKey(altered);
  }
  absl::StatusOr<v1::ConfirmEnrolmentResponse> ConfirmEnrolment(
      const v1::ConfirmEnrolmentRequest& r) override {
    return broker_.ConfirmEnrolment(r);
  }

 private:
  VerifyingBroker& broker_;
};

TEST_F(AzureVtpmTest, TransferKeyCertificationMustVerifyUnderTheHclAk) {
  AzureVtpmSource source(*tpm_, *tpm_, Options());
  VerifyingBroker broker = Broker(*amd_, disk_key_);
  CertificationTamperer tamperer(broker);
  auto released = ObtainKey(source, tamperer, {"disk", 0, {7}, TransferKeyType::kEccP256});
  ASSERT_FALSE(released.ok());
  EXPECT_EQ(released.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(released.status().message()), HasSubstr(kTpmCheckCertification));
  EXPECT_EQ(broker.verified, 0);
}

TEST_F(AzureVtpmTest, UntrustedAmdRootIsRefused) {
  AzureVtpmSource source(*tpm_, *tpm_, Options());
  auto other = TestAmd::Make();
  VerifyingBroker broker = Broker(*other, disk_key_);
  auto released = ObtainKey(source, broker, {"disk", 0, {7}, TransferKeyType::kEccP256});
  ASSERT_FALSE(released.ok());
  EXPECT_EQ(released.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(released.status().message()), HasSubstr("cert_chain"));
}

TEST_F(AzureVtpmTest, ProbeSeesTheHclReportIndexOnlyWhereItIsDefined) {
  tpm_.reset();  // one TPM connection at a time on swtpm
  auto azure = EsysNvIndexDefined(swtpm_->tcti(), kAzureHclReportIndex);
  ASSERT_THAT(azure, IsOk());
  EXPECT_TRUE(*azure);
  auto plain = SwtpmFixture::Start();  // a vTPM that is not Azure's
  ASSERT_THAT(plain, IsOk());
  auto other = EsysNvIndexDefined((*plain)->tcti(), kAzureHclReportIndex);
  ASSERT_THAT(other, IsOk());
  EXPECT_FALSE(*other);
}

}  // namespace
}  // namespace kb
