// The GCE Shielded VM (COS 85) vTPM vectors of go-tpm-tools in tests/data/tpm-quote, verified
// with the results ../shared/vectors/MANIFEST.md states: the three quotes (SHA-1, SHA-256 and
// SHA-384 PCR banks, nonce 0x9009) through the broker's TpmQuoteVerifier and verify-evidence's
// quote check, and the AK certificate and Google's EK/AK CA certificates through the broker's
// certificate-chain verifier (EkCertificateVerifier).
//
// go-tpm-tools ships these as protobuf attest.Attestation files (gce-cos-85-nonce9009.pb,
// gce-cos-85-no-nonce.pb). The nonce9009 .pb is covered through its derived files, which hold its
// fields byte for byte (AK TPMT_PUBLIC, AK certificate, and the quotes as JSON hex), so these
// tests need no protobuf parsing; gce_attestation_pb_test.cc checks that equality and verifies
// the no-nonce .pb, which has no derived file.
#include <openssl/evp.h>

#include "absl/time/civil_time.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "keybroker/ak_activation/ek_certificate.h"
#include "keybroker/ctl/verify_evidence_inputs.h"
#include "keybroker/verifiers/tpm/tpm_quote.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/azure/azure_evidence.h"
#include "tests/unit/keybroker/verifiers/tpm/tpm_vectors.h"

namespace kb::tpm_vectors {
namespace {

constexpr char kAkPub[] = "derived_gotpm_nonce9009_ak_pub.tpmt_public";
constexpr char kAkName[] = "000bf175bdb57297b2b289973f819863d6c9d09c236725676914f4248c9a2404c2a4";

struct GceQuote {
  std::string bank;  // "sha1", "sha256", "sha384"
  v1::TpmQuoteEvidence evidence;
  std::string expected_pcr_digest;  // hex
  std::string extra_data;           // hex
};

std::vector<GceQuote> GceQuotes() {
  const google::protobuf::Struct root =
      snp_test::ParseJson(ReadVector("derived_gotpm_nonce9009_quotes.json"));
  EXPECT_EQ(Unhex(root.fields().at("ak_pub_tpmt_public_hex").string_value()), ReadVector(kAkPub));
  std::vector<GceQuote> out;
  for (const auto& v : root.fields().at("quotes").list_value().values()) {
    const auto& f = v.struct_value().fields();
    GceQuote q;
    q.bank = f.at("pcr_bank").string_value();
    q.evidence.set_attest(Unhex(f.at("tpms_attest_hex").string_value()));
    q.evidence.set_signature(Unhex(f.at("tpmt_signature_hex").string_value()));
    q.evidence.set_ak_public(ReadVector(kAkPub));
    for (const auto& [index, digest] : f.at("pcrs").struct_value().fields()) {
      v1::PcrValue* pcr = q.evidence.add_pcrs();
      pcr->set_bank(q.bank);
      pcr->set_index(static_cast<uint32_t>(std::stoul(index)));
      pcr->set_digest(Unhex(digest.string_value()));
    }
    q.expected_pcr_digest = f.at("expected_pcr_digest_sha256").string_value();
    q.extra_data = f.at("extraData_hex").string_value();
    out.push_back(std::move(q));
  }
  return out;
}

TEST(GceQuoteVectorTest, AkIsRsa2048WithTheNameManifestStates) {
  const std::string area = ReadVector(kAkPub);
  auto pub = ParseTpmtPublic(area, "ak");
  ASSERT_THAT(pub, IsOk());
  EXPECT_EQ(pub->type, TPM2_ALG_RSA);
  EXPECT_EQ(pub->parameters.rsaDetail.keyBits, 2048);
  EXPECT_EQ(pub->objectAttributes, 0x00050072u);
  auto name = TpmName(pub->nameAlg, area);
  ASSERT_THAT(name, IsOk());
  EXPECT_EQ(HexEncode(*name), kAkName);
}

TEST(GceQuoteVectorTest, EveryBanksSignatureAndPcrDigestVerify) {
  RegisteredAkVerifier verifier(ReadVector(kAkPub));
  const std::vector<GceQuote> quotes = GceQuotes();
  ASSERT_EQ(quotes.size(), 3u);
  std::set<std::string> banks;
  for (const GceQuote& q : quotes) {
    banks.insert(q.bank);
    auto claims = verifier.Verify(q.evidence);
    ASSERT_THAT(claims, IsOk()) << q.bank << ": " << claims.status();
    ASSERT_EQ(claims->pcrs.count(q.bank), 1u) << q.bank;
    EXPECT_EQ(claims->pcrs.at(q.bank).size(), 24u) << q.bank;
    // The pcrDigest is SHA-256 (the signing scheme's hash) for every bank.
    auto attest = ParseTpmsAttest(q.evidence.attest(), "quote");
    ASSERT_THAT(attest, IsOk());
    EXPECT_EQ(HexEncode(Tpm2bBytes(attest->attested.quote.pcrDigest)), q.expected_pcr_digest);
  }
  EXPECT_EQ(banks, (std::set<std::string>{"sha1", "sha256", "sha384"}));
}

TEST(GceQuoteVectorTest, EveryQuoteCarriesNonce9009) {
  auto ak = LoadAk(ReadVector(kAkPub));
  ASSERT_THAT(ak, IsOk());
  for (const GceQuote& q : GceQuotes()) {
    EXPECT_EQ(q.extra_data, "9009");
    TpmQuote quote;
    quote.attest = q.evidence.attest();
    quote.signature = q.evidence.signature();
    quote.encoding = TpmSignatureEncoding::kTpmtSignature;
    auto claims = VerifyTpmQuote(ak->get(), quote, std::string("\x90\x09", 2));
    ASSERT_THAT(claims, IsOk()) << q.bank << ": " << claims.status();
    EXPECT_EQ(claims->nonce, "9009");
    ExpectCheckFailed(VerifyTpmQuote(ak->get(), quote, std::string("\x90\x10", 2)), "quote_nonce");
    ExpectCheckFailed(VerifyTpmQuote(ak->get(), quote, std::string()), "quote_nonce");
  }
}

TEST(GceQuoteVectorTest, TamperedQuotesFailTheNamedCheck) {
  RegisteredAkVerifier verifier(ReadVector(kAkPub));
  const std::vector<GceQuote> quotes = GceQuotes();
  ASSERT_EQ(quotes.size(), 3u);
  for (const GceQuote& q : quotes) {
    v1::TpmQuoteEvidence e = q.evidence;
    e.mutable_pcrs(3)->set_digest(Bumped(e.pcrs(3).digest(), 0));
    ExpectCheckFailed(verifier.Verify(e), "pcr_digest");
    e = q.evidence;
    e.set_signature(Bumped(e.signature(), 200));
    ExpectCheckFailed(verifier.Verify(e), "quote_signature");
  }
  // One bank's signature does not verify another bank's quote.
  v1::TpmQuoteEvidence e = quotes[1].evidence;
  e.set_signature(quotes[0].evidence.signature());
  ExpectCheckFailed(verifier.Verify(e), "quote_signature");
  // The SHA-1 values claimed as another bank's: the quoted bank has no values.
  e = quotes[0].evidence;
  for (v1::PcrValue& pcr : *e.mutable_pcrs()) pcr.set_bank("sha256");
  ExpectCheckFailed(verifier.Verify(e), "pcr_digest", absl::StatusCode::kInvalidArgument);
}

constexpr char kAkCert[] = "derived_gotpm_nonce9009_ak_cert.der";
constexpr char kRoot1[] = "gotpm_gce_tpm_ek_root_1.cer";
constexpr char kIntermediate2[] = "gotpm_gce_tpm_ek_intermediate_2.crt";
constexpr char kIntermediate3[] = "gotpm_gce_tpm_ek_intermediate_3.crt";
constexpr char kGcpRoot[] = "gotpm_gcp_ek_ak_ca_root.crt";
constexpr char kGcpIntermediate[] = "gotpm_gcp_ek_ak_ca_intermediate_v3.crt";

void ExpectChainFails(const absl::StatusOr<VerifiedEk>& result) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated) << result.status();
  EXPECT_THAT(std::string(result.status().message()),
              ::testing::HasSubstr("'ek_certificate_chain' failed"));
}

TEST(GceAkCertificateVectorTest, ChainsThroughIntermediate2ToRoot1AndCertifiesTheAk) {
  auto ek = VerifyChain(kAkCert, {kIntermediate2, kRoot1}, ManifestDay());
  ASSERT_THAT(ek, IsOk());
  auto ak = LoadAk(ReadVector(kAkPub));
  ASSERT_THAT(ak, IsOk());
  EXPECT_EQ(EVP_PKEY_eq(ek->public_key.get(), ak->get()), 1);
  auto keylime = LoadAk(ReadVector("keylime_ak.pub"));
  ASSERT_THAT(keylime, IsOk());
  EXPECT_NE(EVP_PKEY_eq(ek->public_key.get(), keylime->get()), 1);
}

TEST(GceAkCertificateVectorTest, FailsWithoutItsIntermediateOrOutsideItsValidity) {
  ExpectChainFails(VerifyChain(kAkCert, {kRoot1}, ManifestDay()));
  ExpectChainFails(VerifyChain(kAkCert, {kIntermediate3, kRoot1}, ManifestDay()));
  ExpectChainFails(VerifyChain(kAkCert, {kGcpIntermediate, kGcpRoot}, ManifestDay()));
  // Valid 2021-08-31..2051-08-24.
  ExpectChainFails(VerifyChain(kAkCert, {kIntermediate2, kRoot1},
                               absl::FromCivil(absl::CivilDay(2052, 1, 1), absl::UTCTimeZone())));
}

TEST(GceAkCertificateVectorTest, ReferenceCertificatesChainToTheirRoots) {
  for (const char* root : {kRoot1, kGcpRoot}) {  // self-signed trust anchors
    EXPECT_THAT(VerifyChain(root, {root}, ManifestDay()), IsOk()) << root;
  }
  for (const char* intermediate : {kIntermediate2, kIntermediate3}) {
    auto r = VerifyChain(intermediate, {kRoot1}, ManifestDay());
    EXPECT_THAT(r, IsOk()) << intermediate << ": " << r.status();
    ExpectChainFails(VerifyChain(intermediate, {kGcpRoot}, ManifestDay()));
  }
  auto r = VerifyChain(kGcpIntermediate, {kGcpRoot}, ManifestDay());
  EXPECT_THAT(r, IsOk());
  ExpectChainFails(VerifyChain(kGcpIntermediate, {kRoot1}, ManifestDay()));
}

}  // namespace
}  // namespace kb::tpm_vectors
