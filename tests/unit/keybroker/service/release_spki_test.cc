// Release to TEE evidence with a TransferKey.spki_der key. Real SEV-SNP reports cannot carry a
// broker challenge, so the SNP verifier here is a stand-in that performs the binding check
// the real SnpEvidenceVerifier performs (REPORT_DATA[0:32] == binding) and returns SNP claims;
// the real verifier is tested against the vectors in tee_evidence_verifiers_test.cc.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "common/binding.h"
#include "common/openssl_util.h"
#include "common/wrap/key_wrap.h"
#include "gmock/gmock.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/broker_fixture.h"

namespace kb {
namespace {

const std::string kMeasurement(96, 'a');

class ReportDataSnpVerifier final : public EvidenceVerifier {
 public:
  absl::StatusOr<Claims> Verify(const v1::Evidence& evidence, const v1::TransferKey& tk,
                                absl::string_view binding) override {
    if (!tk.has_spki_der()) return CheckFailed("parse", absl::StatusCode::kInvalidArgument, "");
    if (evidence.snp_report().report().substr(0x50, 32) != binding) {
      return CheckFailed("report_data", absl::StatusCode::kUnauthenticated, "mismatch");
    }
    Claims c;
    c.evidence_type = "snp";
    c.machine = "snp-chip:00";
    c.attributes = {{"snp.measurement", kMeasurement},    {"snp.debug", "false"},
                    {"snp.reported_tcb.bootloader", "3"}, {"snp.reported_tcb.tee", "0"},
                    {"snp.reported_tcb.snp", "8"},        {"snp.reported_tcb.microcode", "115"}};
    return c;
  }
};

class ReleaseSpkiTest : public BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    verifiers_.Add(v1::Evidence::kSnpReport, std::make_unique<ReportDataSnpVerifier>());
    guest_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    ASSERT_TRUE(guest_);
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(guest_.get(), &der);
    ASSERT_GT(len, 0);
    spki_.assign(reinterpret_cast<char*>(der), len);
    OPENSSL_free(der);
    CreateKey("disk");
    ASSERT_TRUE(SetPolicy("disk", absl::StrCat(R"({"allow":[{"evidence_types":["snp"],)",
                                               R"("snp":{"measurements":[")", kMeasurement,
                                               R"("],"min_reported_tcb":{"snp":8}}}]})"))
                    .ok());
  }

  // A fake report whose REPORT_DATA starts with `report_data`.
  absl::StatusOr<v1::ReleaseKeyResponse> ReleaseWith(
      const std::function<std::string(const std::string& binding)>& report_data) {
    v1::GetChallengeRequest cr;
    cr.set_key_id("disk");
    auto challenge = release_->GetChallenge(cr);
    if (!challenge.ok()) return challenge.status();
    v1::ReleaseKeyRequest r;
    r.set_challenge_id(challenge->challenge_id());
    r.set_key_id("disk");
    r.mutable_transfer_key()->set_spki_der(spki_);
    std::string report(1184, '\0');
    report.replace(0x50, 32, report_data(ComputeBinding(challenge->nonce(), "disk", spki_)));
    r.mutable_evidence()->mutable_snp_report()->set_report(report);
    return release_->ReleaseKey(r, "127.0.0.1:1");
  }

  // The guest side: Z = ECDH(guest, E), the KEK, then AES-KWP unwrap.
  absl::StatusOr<SecretBytes> GuestUnwrap(const v1::WrappedKey& w) {
    EXPECT_EQ(w.scheme(), v1::WRAP_SCHEME_ECDH_P256_HKDF_SHA256_A256KWP);
    EvpPkeyPtr eph(EVP_PKEY_new());
    {
      EvpPkeyCtxPtr pctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
      OSSL_PARAM params[] = {
          OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("P-256"),
                                           0),
          OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                            const_cast<char*>(w.ephemeral_public().data()),
                                            w.ephemeral_public().size()),
          OSSL_PARAM_construct_end()};
      EVP_PKEY* raw = nullptr;
      if (EVP_PKEY_fromdata_init(pctx.get()) != 1 ||
          EVP_PKEY_fromdata(pctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        return absl::InternalError("ephemeral point");
      }
      eph.reset(raw);
    }
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(guest_.get(), nullptr));
    SecretBytes z(32);
    size_t z_len = z.size();
    if (EVP_PKEY_derive_init(ctx.get()) != 1 ||
        EVP_PKEY_derive_set_peer(ctx.get(), eph.get()) != 1 ||
        EVP_PKEY_derive(ctx.get(), z.data(), &z_len) != 1) {
      return absl::InternalError("ECDH");
    }
    auto kek = DeriveEcdhWrapKek(z, w.ephemeral_public(), spki_);
    if (!kek.ok()) return kek.status();
    return UnwrapWithKek(*kek, w);
  }

  EvpPkeyPtr guest_;
  std::string spki_;
};

TEST_F(ReleaseSpkiTest, ReleasesToTheTeeHeldKey) {
  auto response = ReleaseWith([](const std::string& b) { return b; });
  ASSERT_THAT(response, IsOk());
  auto key = GuestUnwrap(response->wrapped_key());
  ASSERT_THAT(key, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(*key, *keys_->GetKeyMaterial("disk", 1)));
}

TEST_F(ReleaseSpkiTest, ReportDataWithoutTheBindingIsRefused) {
  auto response = ReleaseWith([](const std::string&) { return std::string(32, 'x'); });
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(response.status().message()), ::testing::HasSubstr("report_data"));
}

TEST(WrapToSpkiTransferKeyTest, RejectsNonP256AndGarbage) {
  EXPECT_EQ(WrapToSpkiTransferKey("garbage", *RandomSecret(32)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EvpPkeyPtr p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(p384.get(), &der);
  std::string spki(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  EXPECT_EQ(WrapToSpkiTransferKey(spki, *RandomSecret(32)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WrapToSpkiTransferKey(spki + "x", *RandomSecret(32)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kb
