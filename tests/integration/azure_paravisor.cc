#include "tests/integration/azure_paravisor.h"

#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <tss2/tss2_tctildr.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/binding.h"
#include "common/tpm/tpm_structures.h"
#include "common/wrap/key_wrap.h"
#include "tests/support/status_matchers.h"
#include "unlocker/esys/esys_util.h"
#include "unlocker/evidence/azure_vtpm_source.h"

namespace kb {
namespace {

std::string B64Url(const BIGNUM* bn) {
  std::string bytes(BN_num_bytes(bn), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
  return absl::WebSafeBase64Escape(bytes);
}

// Persists an RSA-2048 restricted signing key (RSASSA-SHA256) at `handle`.
absl::Status ProvisionRsaAk(const std::string& tcti, uint32_t handle) {
  TSS2_TCTI_CONTEXT* raw_tcti = nullptr;
  if (Tss2_TctiLdr_Initialize(tcti.c_str(), &raw_tcti) != TSS2_RC_SUCCESS) {
    return absl::UnavailableError("TCTI " + tcti);
  }
  absl::Cleanup t = [&raw_tcti] { Tss2_TctiLdr_Finalize(&raw_tcti); };
  ESYS_CONTEXT* esys = nullptr;
  if (Esys_Initialize(&esys, raw_tcti, nullptr) != TSS2_RC_SUCCESS) {
    return absl::UnavailableError("Esys_Initialize");
  }
  absl::Cleanup e = [&esys] { Esys_Finalize(&esys); };
  TPM2B_PUBLIC tmpl{};
  TPMT_PUBLIC& p = tmpl.publicArea;
  p.type = TPM2_ALG_RSA;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                       TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
  p.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
  p.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
  p.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
  p.parameters.rsaDetail.keyBits = 2048;
  auto key = CreatePrimary(esys, ESYS_TR_RH_ENDORSEMENT, tmpl, nullptr);
  if (!key.ok()) return key.status();
  ESYS_TR persistent = ESYS_TR_NONE;
  const TSS2_RC rc = Esys_EvictControl(esys, ESYS_TR_RH_OWNER, *key, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                       ESYS_TR_NONE, handle, &persistent);
  Esys_FlushContext(esys, *key);
  if (rc != TSS2_RC_SUCCESS) return absl::InternalError("EvictControl");
  return absl::OkStatus();
}

}  // namespace

std::string AzureRuntimeClaims(EVP_PKEY* ak, absl::string_view user_data, absl::string_view vm_id) {
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  EVP_PKEY_get_bn_param(ak, OSSL_PKEY_PARAM_RSA_N, &n);
  EVP_PKEY_get_bn_param(ak, OSSL_PKEY_PARAM_RSA_E, &e);
  std::string json = absl::StrCat(
      R"({"keys":[{"kid":"HCLAkPub","key_ops":["sign"],"kty":"RSA","e":")", B64Url(e), R"(","n":")",
      B64Url(n),
      R"("}],"vm-configuration":{"console-enabled":false,"secure-boot":true,"tpm-enabled":true,)"
      R"("vmUniqueId":")",
      vm_id, R"("},"user-data":")", absl::AsciiStrToUpper(absl::BytesToHexString(user_data)),
      R"("})");
  BN_free(n);
  BN_free(e);
  return json;
}

std::string AzureHclReport(uint32_t version, uint32_t report_type, absl::string_view hw_report,
                           absl::string_view runtime) {
  std::string h(0x4D4, '\0');
  auto put32 = [&h](size_t off, uint32_t v) {
    for (int i = 0; i < 4; ++i) h[off + i] = static_cast<char>(v >> (8 * i));
  };
  h.replace(0, 4, "HCLA");
  put32(0x004, version);
  put32(0x008, static_cast<uint32_t>(0x4C0 + 20 + runtime.size()));
  put32(0x00C, 2);
  h.replace(0x020, hw_report.size(), hw_report.data(), hw_report.size());
  put32(0x4C0, static_cast<uint32_t>(20 + runtime.size()));
  put32(0x4C4, 1);
  put32(0x4C8, report_type);
  put32(0x4CC, 1);  // SHA-256
  put32(0x4D0, static_cast<uint32_t>(runtime.size()));
  return absl::StrCat(h, runtime);
}

absl::Status StoreHclReport(EsysTpm& tpm, const std::string& report) {
  if (report.size() > kHclIndexSize) {
    return absl::InvalidArgumentError(absl::StrCat("HCL report of ", report.size(), " bytes"));
  }
  auto defined = tpm.NvDefined(kAzureHclReportIndex);
  if (!defined.ok()) return defined.status();
  if (!*defined) {
    absl::Status s = tpm.NvDefine(kAzureHclReportIndex, static_cast<uint16_t>(kHclIndexSize));
    if (!s.ok()) return s;
  }
  std::string padded = report;
  padded.resize(kHclIndexSize, '\0');
  return tpm.NvWrite(kAzureHclReportIndex, padded);
}

const Clock* TestClock() {
  static const RealClock* clock = new RealClock();
  return clock;
}

void AzureVtpmFixture::SetUp() {
  auto swtpm = SwtpmFixture::Start();
  ASSERT_THAT(swtpm, IsOk());
  swtpm_ = std::move(*swtpm);
  ASSERT_THAT(ProvisionRsaAk(swtpm_->tcti(), kAzureAkHandle), IsOk());
  EsysTpmOptions options;
  options.tcti = swtpm_->tcti();
  options.ak_handle = kAzureAkHandle;
  auto tpm = EsysTpm::Create(options);
  ASSERT_THAT(tpm, IsOk());
  tpm_ = std::move(*tpm);
  // The paravisor defines the report index at boot: an Azure vTPM always has one.
  ASSERT_THAT(StoreHclReport(*tpm_, ""), IsOk());
  auto ak_bytes = tpm_->AttestationKeyPublic();
  ASSERT_THAT(ak_bytes, IsOk());
  auto ak_pub = ParseTpmtPublic(*ak_bytes, "AK");
  ASSERT_THAT(ak_pub, IsOk());
  ASSERT_EQ(ak_pub->type, TPM2_ALG_RSA);
  auto ak = PublicKeyFromTpmt(*ak_pub);
  ASSERT_THAT(ak, IsOk());
  ak_ = std::move(*ak);
}

absl::StatusOr<v1::GetChallengeResponse> VerifyingBroker::GetChallenge(
    const v1::GetChallengeRequest&) {
  nonce_ = std::string(32, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(nonce_.data()), 32);
  v1::GetChallengeResponse out;
  out.set_challenge_id("c1");
  out.set_nonce(nonce_);
  return out;
}

absl::StatusOr<v1::ReleaseKeyResponse> VerifyingBroker::ReleaseKey(const v1::ReleaseKeyRequest& r) {
  const std::string& transfer_public = r.transfer_key().tpm().public_area();
  const std::string binding = ComputeBinding(nonce_, r.key_id(), transfer_public);
  auto claims = verifier_->Verify(r.evidence(), r.transfer_key(), binding);
  if (!claims.ok()) return claims.status();
  ++verified;
  last_claims = *claims;
  auto pub = ParseTpmtPublic(transfer_public, "transfer key");
  if (!pub.ok()) return pub.status();
  auto wrapped = WrapToTpmTransferKey(*pub, transfer_public, disk_key_);
  if (!wrapped.ok()) return wrapped.status();
  v1::ReleaseKeyResponse out;
  *out.mutable_wrapped_key() = *wrapped;
  out.set_version(1);
  out.set_latest_version(1);
  return out;
}

}  // namespace kb
