// The tpm2-tools (keylime) and trustee TPM 2.0 quote vectors of tests/data/tpm-quote, verified
// with the results ../shared/vectors/MANIFEST.md states, through the production paths: the
// broker's TpmQuoteVerifier (registered AK) and `keybrokerctl verify-evidence --type tpm`'s
// input loading and quote check (LoadAk, LoadQuote, VerifyTpmQuote).
#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "keybroker/ctl/verify_evidence_inputs.h"
#include "keybroker/verifiers/tpm/tpm_quote.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/azure/azure_evidence.h"
#include "tests/unit/keybroker/verifiers/tpm/tpm_vectors.h"

namespace kb::tpm_vectors {
namespace {

// keylime test-data/files: quote.out (TPMS_ATTEST), quotesig.out (TPMT_SIGNATURE), ak.pub
// (TPM2B_PUBLIC), akpub.pem, ak.name, quotepcr.out (tpm2-tools PCR-values file).
constexpr char kKeylimeNonce[] = "db1db298db6d60e6385b7231743e9c3056a18003";
constexpr char kKeylimeAkName[] =
    "000b2d3fb7830f6cb214fac7d7cb213a21a0609148c4505927db61287e1e80322336";
constexpr char kKeylimePcrDigest[] =
    "ec1636c69c548fd09a165a4f874e5d1610a8fbe36241566017e92b17e144b971";
constexpr char kKeylimePcr16[] = "9dbb22387e019c04da95477333546082ce313152c4a7f8a6e1d5f0c77f4fb6f0";

std::string VectorPath(absl::string_view name) {
  const char* src = std::getenv("KB_SOURCE_DIR");
  return absl::StrCat(src ? src : ".", "/tests/data/tpm-quote/", name);
}

std::string KeylimeAkArea() {
  auto area = AkPublicArea(ReadVector("keylime_ak.pub"));
  EXPECT_THAT(area, IsOk());
  return area.ok() ? *area : std::string();
}

v1::TpmQuoteEvidence KeylimeEvidence() {
  v1::TpmQuoteEvidence q;
  q.set_attest(ReadVector("keylime_quote.out"));
  q.set_signature(ReadVector("keylime_quotesig.out"));
  q.set_ak_public(KeylimeAkArea());
  auto pcrs = ParseTpm2ToolsPcrs(ReadVector("keylime_quotepcr.out"));
  EXPECT_THAT(pcrs, IsOk());
  for (const v1::PcrValue& v : pcrs.ok() ? *pcrs : std::vector<v1::PcrValue>{}) {
    *q.add_pcrs() = v;
  }
  return q;
}

TEST(KeylimeQuoteVectorTest, AkNameIsTheTpmNameOfTheTpmtPublic) {
  const std::string area = KeylimeAkArea();
  ASSERT_EQ(area.size(), ReadVector("keylime_ak.pub").size() - 2);
  auto pub = ParseTpmtPublic(area, "ak");
  ASSERT_THAT(pub, IsOk());
  EXPECT_EQ(pub->objectAttributes, 0x00050072u);
  auto name = TpmName(pub->nameAlg, area);
  ASSERT_THAT(name, IsOk());
  EXPECT_EQ(*name, ReadVector("keylime_ak.name"));
  EXPECT_EQ(HexEncode(*name), kKeylimeAkName);
}

TEST(KeylimeQuoteVectorTest, TpmPublicAndPemAreTheSameKey) {
  auto from_tpm2b = LoadAk(ReadVector("keylime_ak.pub"));
  auto from_pem = LoadAk(ReadVector("keylime_akpub.pem"));
  ASSERT_THAT(from_tpm2b, IsOk());
  ASSERT_THAT(from_pem, IsOk());
  EXPECT_EQ(EVP_PKEY_eq(from_tpm2b->get(), from_pem->get()), 1);
}

TEST(KeylimeQuoteVectorTest, BrokerVerifierAcceptsTheQuoteAndPcrs15_16_22) {
  RegisteredAkVerifier verifier(KeylimeAkArea());
  EXPECT_EQ(HexEncode(verifier.name()), kKeylimeAkName);
  auto claims = verifier.Verify(KeylimeEvidence());
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(claims->machine, "vector");
  ASSERT_EQ(claims->pcrs.size(), 1u);
  const auto& sha256 = claims->pcrs.at("sha256");
  ASSERT_EQ(sha256.size(), 3u);
  EXPECT_EQ(sha256.at(15), std::string(64, '0'));
  EXPECT_EQ(sha256.at(16), kKeylimePcr16);
  EXPECT_EQ(sha256.at(22), std::string(64, 'f'));
  auto attest = ParseTpmsAttest(ReadVector("keylime_quote.out"), "quote");
  ASSERT_THAT(attest, IsOk());
  EXPECT_EQ(HexEncode(Tpm2bBytes(attest->attested.quote.pcrDigest)), kKeylimePcrDigest);
  EXPECT_EQ(HexEncode(Tpm2bBytes(attest->extraData)), kKeylimeNonce);
  EXPECT_EQ(attest->firmwareVersion, 0x2016051100162800u);
}

TEST(KeylimeQuoteVectorTest, BrokerVerifierRejectsTamperedQuotes) {
  RegisteredAkVerifier verifier(KeylimeAkArea());
  v1::TpmQuoteEvidence q = KeylimeEvidence();
  q.set_signature(Bumped(q.signature(), 100));
  ExpectCheckFailed(verifier.Verify(q), "quote_signature");

  q = KeylimeEvidence();
  q.set_attest(Bumped(q.attest(), 0x2d));  // a byte of extraData: another nonce
  ExpectCheckFailed(verifier.Verify(q), "quote_signature");

  q = KeylimeEvidence();
  q.mutable_pcrs(1)->set_digest(Bumped(q.pcrs(1).digest(), 0));  // PCR 16
  ExpectCheckFailed(verifier.Verify(q), "pcr_digest");

  q = KeylimeEvidence();
  q.mutable_pcrs()->RemoveLast();  // PCR 22 has no value
  ExpectCheckFailed(verifier.Verify(q), "pcr_digest", absl::StatusCode::kInvalidArgument);
}

TEST(KeylimeQuoteVectorTest, UnregisteredAkIsNotTrusted) {
  RegisteredAkVerifier verifier(ReadVector("derived_gotpm_nonce9009_ak_pub.tpmt_public"));
  ExpectCheckFailed(verifier.Verify(KeylimeEvidence()), "ak_trusted");
}

// `keybrokerctl verify-evidence --type tpm` over the keylime files: what VerifyTpm runs.
absl::StatusOr<TpmQuoteClaims> VerifyEvidenceTpm(const std::string& ak_file,
                                                 const std::string& pcrs_file,
                                                 const std::optional<std::string>& nonce) {
  VerifyEvidenceArgs a;
  a.type = "tpm";
  a.tpm_quote = VectorPath("keylime_quote.out");
  a.tpm_signature = VectorPath("keylime_quotesig.out");
  a.pcrs = pcrs_file;
  ASSIGN_OR_RETURN(std::string ak_bytes, ReadInput(VectorPath(ak_file)));
  ASSIGN_OR_RETURN(EvpPkeyPtr ak, LoadAk(ak_bytes));
  ASSIGN_OR_RETURN(TpmQuote quote, LoadQuote(a));
  EXPECT_EQ(quote.encoding, TpmSignatureEncoding::kTpmtSignature);
  return VerifyTpmQuote(ak.get(), quote, nonce);
}

TEST(KeylimeQuoteVectorTest, VerifyEvidenceAcceptsPemAndTpm2bPublicAks) {
  for (const char* ak : {"keylime_akpub.pem", "keylime_ak.pub"}) {
    auto claims = VerifyEvidenceTpm(ak, VectorPath("keylime_quotepcr.out"), Unhex(kKeylimeNonce));
    ASSERT_THAT(claims, IsOk()) << ak << ": " << claims.status();
    EXPECT_EQ(claims->nonce, kKeylimeNonce);
    EXPECT_EQ(claims->pcrs.size(), 3u);
    EXPECT_EQ(claims->pcrs.at(22), std::string(64, 'f'));
  }
}

TEST(KeylimeQuoteVectorTest, VerifyEvidenceRejectsAWrongNonceSignatureOrPcr) {
  const std::string pcrs = VectorPath("keylime_quotepcr.out");
  ExpectCheckFailed(VerifyEvidenceTpm("keylime_ak.pub", pcrs, Unhex("db1db298")), "quote_nonce");

  std::string changed = ReadVector("keylime_quotepcr.out");
  changed[0xd0] ^= 1;  // the first byte of PCR 16's value
  const std::string changed_path = ::testing::TempDir() + "/keylime_quotepcr_changed.out";
  ASSERT_THAT(WriteFileAtomic(changed_path, changed, 0600), IsOk());
  ExpectCheckFailed(VerifyEvidenceTpm("keylime_ak.pub", changed_path, std::nullopt), "pcr_digest");

  // The other AK (GCE's) did not sign this quote.
  ExpectCheckFailed(
      VerifyEvidenceTpm("derived_gotpm_nonce9009_ak_pub.tpmt_public", pcrs, std::nullopt),
      "quote_signature");
}

// trustee deps/verifier/test_data/tpm_evidence.json: {ak_public (base64 SPKI DER), tpm_quote
// {signature (base64 TPMT_SIGNATURE), message (base64 TPMS_ATTEST), pcrs[24] (hex)}}.
constexpr char kTrusteeNonce[] =
    "a04182b506878d4f29b91ee606a71a0d3361ccf1b22db20c98adcaa537bea393ef0e41a18b3569ab678f1497fb"
    "c5c12000000000000000000000000000000000";

struct TrusteeEvidence {
  std::string ak_pem;
  TpmQuote quote;
};

TrusteeEvidence ParseTrusteeTpmEvidence() {
  const google::protobuf::Struct root =
      snp_test::ParseJson(ReadVector("trustee_tpm_evidence.json"));
  const auto& q = root.fields().at("tpm_quote").struct_value().fields();
  TrusteeEvidence ev;
  std::string der, b64;
  EXPECT_TRUE(absl::Base64Unescape(root.fields().at("ak_public").string_value(), &der));
  b64 = absl::Base64Escape(der);
  ev.ak_pem = "-----BEGIN PUBLIC KEY-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) absl::StrAppend(&ev.ak_pem, b64.substr(i, 64), "\n");
  ev.ak_pem += "-----END PUBLIC KEY-----\n";
  EXPECT_TRUE(absl::Base64Unescape(q.at("message").string_value(), &ev.quote.attest));
  EXPECT_TRUE(absl::Base64Unescape(q.at("signature").string_value(), &ev.quote.signature));
  ev.quote.encoding = TpmSignatureEncoding::kTpmtSignature;
  for (const auto& pcr : q.at("pcrs").list_value().values()) {
    ev.quote.pcrs_sha256.push_back(Unhex(pcr.string_value()));
  }
  return ev;
}

absl::StatusOr<TpmQuoteClaims> VerifyTrustee(const TrusteeEvidence& ev,
                                             const std::optional<std::string>& nonce) {
  ASSIGN_OR_RETURN(EvpPkeyPtr ak, LoadAk(ev.ak_pem));
  return VerifyTpmQuote(ak.get(), ev.quote, nonce);
}

TEST(TrusteeTpmEvidenceVectorTest, SignaturePcrDigestAndExtraDataVerify) {
  const TrusteeEvidence ev = ParseTrusteeTpmEvidence();
  auto sig = ParseTpmtSignature(ev.quote.signature, "signature");
  ASSERT_THAT(sig, IsOk());
  EXPECT_EQ(sig->sigAlg, TPM2_ALG_RSASSA);
  EXPECT_EQ(sig->signature.rsassa.hash, TPM2_ALG_SHA256);
  ASSERT_EQ(ev.quote.pcrs_sha256.size(), 24u);
  auto claims = VerifyTrustee(ev, Unhex(kTrusteeNonce));
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(claims->nonce, kTrusteeNonce);
  EXPECT_EQ(claims->nonce.size(), 128u);  // trustee's report_data claim: 128 hex chars
  EXPECT_EQ(claims->pcrs.size(), 24u);
  EXPECT_EQ(claims->pcrs.at(8).size(), 64u);  // trustee's init_data claim is PCR 8
  auto attest = ParseTpmsAttest(ev.quote.attest, "quote");
  ASSERT_THAT(attest, IsOk());
  EXPECT_EQ(attest->firmwareVersion, 0x2019102300163636u);
}

TEST(TrusteeTpmEvidenceVectorTest, TamperedVariantsFail) {
  const TrusteeEvidence good = ParseTrusteeTpmEvidence();
  TrusteeEvidence ev = good;
  ev.quote.signature = Bumped(ev.quote.signature, 100);
  ExpectCheckFailed(VerifyTrustee(ev, std::nullopt), "quote_signature");

  ev = good;
  ev.quote.attest = Bumped(ev.quote.attest, 0x2d);  // a byte of extraData
  ExpectCheckFailed(VerifyTrustee(ev, std::nullopt), "quote_signature");

  ev = good;
  ev.quote.pcrs_sha256[17] = Bumped(ev.quote.pcrs_sha256[17], 5);
  ExpectCheckFailed(VerifyTrustee(ev, std::nullopt), "pcr_digest");

  ev = good;
  ev.quote.pcrs_sha256.pop_back();  // PCR 23 has no value
  ExpectCheckFailed(VerifyTrustee(ev, std::nullopt), "pcr_digest");

  ExpectCheckFailed(VerifyTrustee(good, Unhex(std::string(128, '0'))), "quote_nonce");
}

}  // namespace
}  // namespace kb::tpm_vectors
