// go-tpm-tools' GCE attestation files (tests/data/tpm-quote/gotpm_gce-cos-85-*.pb, protobuf
// attest.Attestation) read with protobuf's schema-less wire-format reader, by the field numbers
// of ../shared/vectors/LAYOUTS.md section 7 (1 ak_pub, 2 quotes {1 quote, 2 raw_sig, 3 pcrs {1
// hash, 2 map<uint32, bytes>}}, 6 ak_cert): the nonce9009 file's fields are the derived files
// the other GCE tests verify, and the no-nonce file, which has no derived file, is verified here
// with the results MANIFEST states (every bank's signature and pcrDigest, empty extraData, AK
// certificate chain).
#include <google/protobuf/unknown_field_set.h>

#include "gtest/gtest.h"
#include "keybroker/ctl/verify_evidence_inputs.h"
#include "keybroker/verifiers/tpm/tpm_quote.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/azure/azure_evidence.h"
#include "tests/unit/keybroker/verifiers/tpm/tpm_vectors.h"

namespace kb::tpm_vectors {
namespace {

using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

// The length-delimited fields numbered `number` of the message `bytes`, in order.
std::vector<std::string> Fields(const std::string& bytes, int number) {
  UnknownFieldSet set;
  EXPECT_TRUE(set.ParseFromString(bytes));
  std::vector<std::string> out;
  for (int i = 0; i < set.field_count(); ++i) {
    const UnknownField& f = set.field(i);
    if (f.number() == number && f.type() == UnknownField::TYPE_LENGTH_DELIMITED) {
      out.push_back(f.length_delimited());
    }
  }
  return out;
}

uint64_t VarintField(const std::string& bytes, int number) {
  UnknownFieldSet set;
  EXPECT_TRUE(set.ParseFromString(bytes));
  for (int i = 0; i < set.field_count(); ++i) {
    if (set.field(i).number() == number && set.field(i).type() == UnknownField::TYPE_VARINT) {
      return set.field(i).varint();
    }
  }
  return 0;
}

struct PbAttestation {
  std::string ak_pub, ak_cert;
  std::vector<v1::TpmQuoteEvidence> quotes;  // ak_public set; PCR banks named as the broker's
};

PbAttestation ReadAttestation(absl::string_view name) {
  const std::string pb = ReadVector(name);
  PbAttestation att;
  const std::vector<std::string> ak = Fields(pb, 1), cert = Fields(pb, 6);
  EXPECT_EQ(ak.size(), 1u);
  EXPECT_EQ(cert.size(), 1u);
  att.ak_pub = ak.empty() ? "" : ak[0];
  att.ak_cert = cert.empty() ? "" : cert[0];
  const std::map<uint64_t, std::string> banks = {
      {TPM2_ALG_SHA1, "sha1"}, {TPM2_ALG_SHA256, "sha256"}, {TPM2_ALG_SHA384, "sha384"}};
  for (const std::string& quote : Fields(pb, 2)) {
    v1::TpmQuoteEvidence& q = att.quotes.emplace_back();
    q.set_ak_public(att.ak_pub);
    q.set_attest(Fields(quote, 1).at(0));
    q.set_signature(Fields(quote, 2).at(0));
    const std::string pcrs = Fields(quote, 3).at(0);
    const std::string bank =
        banks.count(VarintField(pcrs, 1)) ? banks.at(VarintField(pcrs, 1)) : "";
    for (const std::string& entry : Fields(pcrs, 2)) {  // map entry {1 key, 2 value}
      v1::PcrValue* v = q.add_pcrs();
      v->set_bank(bank);
      v->set_index(static_cast<uint32_t>(VarintField(entry, 1)));
      v->set_digest(Fields(entry, 2).at(0));
    }
  }
  return att;
}

TEST(GceAttestationPbTest, Nonce9009FieldsAreTheDerivedFiles) {
  const PbAttestation att = ReadAttestation("gotpm_gce-cos-85-nonce9009.pb");
  EXPECT_EQ(att.ak_pub, ReadVector("derived_gotpm_nonce9009_ak_pub.tpmt_public"));
  EXPECT_EQ(att.ak_cert, ReadVector("derived_gotpm_nonce9009_ak_cert.der"));
  const google::protobuf::Struct json =
      snp_test::ParseJson(ReadVector("derived_gotpm_nonce9009_quotes.json"));
  const auto& quotes = json.fields().at("quotes").list_value().values();
  ASSERT_EQ(att.quotes.size(), 3u);
  ASSERT_EQ(quotes.size(), 3);
  for (int i = 0; i < 3; ++i) {
    const auto& f = quotes[i].struct_value().fields();
    EXPECT_EQ(HexEncode(att.quotes[i].attest()), f.at("tpms_attest_hex").string_value());
    EXPECT_EQ(HexEncode(att.quotes[i].signature()), f.at("tpmt_signature_hex").string_value());
    ASSERT_EQ(att.quotes[i].pcrs_size(), 24);
    for (const v1::PcrValue& v : att.quotes[i].pcrs()) {
      EXPECT_EQ(v.bank(), f.at("pcr_bank").string_value());
      EXPECT_EQ(HexEncode(v.digest()),
                f.at("pcrs").struct_value().fields().at(absl::StrCat(v.index())).string_value());
    }
  }
}

TEST(GceAttestationPbTest, NoNonceAttestationVerifiesWithEmptyExtraData) {
  const PbAttestation att = ReadAttestation("gotpm_gce-cos-85-no-nonce.pb");
  RegisteredAkVerifier verifier(att.ak_pub);
  auto ak = LoadAk(att.ak_pub);
  ASSERT_THAT(ak, IsOk());
  ASSERT_EQ(att.quotes.size(), 3u);
  std::set<std::string> banks;
  for (const v1::TpmQuoteEvidence& q : att.quotes) {
    auto claims = verifier.Verify(q);  // signature and pcrDigest
    ASSERT_THAT(claims, IsOk());
    ASSERT_EQ(claims->pcrs.size(), 1u);
    banks.insert(claims->pcrs.begin()->first);
    EXPECT_EQ(claims->pcrs.begin()->second.size(), 24u);
    TpmQuote quote{q.attest(), q.signature(), TpmSignatureEncoding::kTpmtSignature, {}};
    auto nonce = VerifyTpmQuote(ak->get(), quote, std::string());  // extraData == ''
    ASSERT_THAT(nonce, IsOk());
    EXPECT_EQ(nonce->nonce, "");
    ExpectCheckFailed(VerifyTpmQuote(ak->get(), quote, std::string("\x90\x09", 2)), "quote_nonce");
    v1::TpmQuoteEvidence changed = q;
    changed.mutable_pcrs(0)->set_digest(Bumped(q.pcrs(0).digest(), 1));
    ExpectCheckFailed(verifier.Verify(changed), "pcr_digest");
  }
  EXPECT_EQ(banks, (std::set<std::string>{"sha1", "sha256", "sha384"}));
  auto ek = VerifyChainDer(att.ak_cert,
                           {"gotpm_gce_tpm_ek_intermediate_2.crt", "gotpm_gce_tpm_ek_root_1.cer"},
                           ManifestDay());
  ASSERT_THAT(ek, IsOk());
  EXPECT_EQ(EVP_PKEY_eq(ek->public_key.get(), ak->get()), 1);
}

}  // namespace
}  // namespace kb::tpm_vectors
