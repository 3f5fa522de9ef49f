// verify-evidence's --ak and --pcrs inputs: TPM2B_PUBLIC AKs and tpm2-tools PCR-values files.
#include "keybroker/ctl/verify_evidence_inputs.h"

#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/tpm/tpm_vectors.h"

namespace kb::tpm_vectors {
namespace {

using ::testing::HasSubstr;

struct Bank {
  uint16_t alg;
  std::string bitmap;  // pcrSelect bytes
};

void PutLe(std::string& out, size_t offset, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out[offset + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// A tpm2-tools PCR-values file (native little-endian layout) with `digests` in order.
std::string Tpm2ToolsFile(const std::vector<Bank>& banks, const std::vector<std::string>& digests) {
  const size_t lists = (digests.size() + 7) / 8;
  std::string out(132 + 4 + 532 * std::max<size_t>(lists, 1), '\0');
  PutLe(out, 0, banks.size(), 4);
  for (size_t b = 0; b < banks.size(); ++b) {
    PutLe(out, 4 + 8 * b, banks[b].alg, 2);
    PutLe(out, 6 + 8 * b, banks[b].bitmap.size(), 1);
    out.replace(7 + 8 * b, banks[b].bitmap.size(), banks[b].bitmap);
  }
  PutLe(out, 132, std::max<size_t>(lists, 1), 4);
  for (size_t d = 0; d < digests.size(); ++d) {
    const size_t list = 136 + 532 * (d / 8);
    PutLe(out, list, std::min<size_t>(digests.size() - 8 * (d / 8), 8), 4);
    PutLe(out, list + 4 + 66 * (d % 8), digests[d].size(), 2);
    out.replace(list + 6 + 66 * (d % 8), digests[d].size(), digests[d]);
  }
  return out;
}

TEST(Tpm2ToolsPcrsTest, KeylimeFileHoldsPcrs15_16_22OfTheSha256Bank) {
  const std::string file = ReadVector("keylime_quotepcr.out");
  ASSERT_TRUE(IsTpm2ToolsPcrFile(file));
  auto values = ParseTpm2ToolsPcrs(file);
  ASSERT_THAT(values, IsOk());
  ASSERT_EQ(values->size(), 3u);
  std::vector<uint32_t> indices;
  for (const v1::PcrValue& v : *values) {
    EXPECT_EQ(v.bank(), "sha256");
    EXPECT_EQ(v.digest().size(), 32u);
    indices.push_back(v.index());
  }
  EXPECT_EQ(indices, (std::vector<uint32_t>{15, 16, 22}));
  EXPECT_EQ((*values)[2].digest(), std::string(32, '\xff'));

  auto sha256 = ParsePcrFile(file);
  ASSERT_THAT(sha256, IsOk());
  ASSERT_EQ(sha256->size(), 23u);
  EXPECT_EQ((*sha256)[16], (*values)[1].digest());
  EXPECT_TRUE((*sha256)[0].empty());
}

TEST(Tpm2ToolsPcrsTest, BanksAndListsFollowTheSelectionOrder) {
  // sha1 PCRs 0-7 and sha384 PCRs 0, 9: ten values over two TPML_DIGESTs.
  std::vector<std::string> digests;
  for (int i = 0; i < 8; ++i) digests.push_back(std::string(20, static_cast<char>(i)));
  digests.push_back(std::string(48, 'a'));
  digests.push_back(std::string(48, 'b'));
  const std::string file = Tpm2ToolsFile(
      {{TPM2_ALG_SHA1, std::string("\xff\x00\x00", 3)}, {TPM2_ALG_SHA384, "\x01\x02\x00"}},
      digests);
  auto values = ParseTpm2ToolsPcrs(file);
  ASSERT_THAT(values, IsOk());
  ASSERT_EQ(values->size(), 10u);
  EXPECT_EQ((*values)[7].bank(), "sha1");
  EXPECT_EQ((*values)[7].index(), 7u);
  EXPECT_EQ((*values)[9].bank(), "sha384");
  EXPECT_EQ((*values)[9].index(), 9u);
  EXPECT_EQ((*values)[9].digest(), std::string(48, 'b'));
  // --pcrs of `verify-evidence --type tpm` takes SHA-256 values only.
  auto sha256 = ParsePcrFile(file);
  ASSERT_FALSE(sha256.ok());
  EXPECT_THAT(std::string(sha256.status().message()), HasSubstr("only SHA-256"));
}

TEST(Tpm2ToolsPcrsTest, MalformedFilesAreRejected) {
  const std::string one = std::string(32, 'x');
  // Two PCRs selected, one value.
  auto r = ParseTpm2ToolsPcrs(Tpm2ToolsFile({{TPM2_ALG_SHA256, "\x03\x00\x00"}}, {one}));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("2 PCRs selected but 1 values"));
  // A 20-byte value in the SHA-256 bank.
  r = ParseTpm2ToolsPcrs(Tpm2ToolsFile({{TPM2_ALG_SHA256, "\x01\x00\x00"}}, {one.substr(12)}));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("wrong size"));
  // An unsupported bank (SM3).
  r = ParseTpm2ToolsPcrs(Tpm2ToolsFile({{TPM2_ALG_SM3_256, "\x01\x00\x00"}}, {one}));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("unsupported PCR bank"));
  // Truncated: not the layout at all.
  const std::string keylime = ReadVector("keylime_quotepcr.out");
  EXPECT_FALSE(IsTpm2ToolsPcrFile(keylime.substr(0, keylime.size() - 1)));
  EXPECT_FALSE(ParseTpm2ToolsPcrs(keylime.substr(0, keylime.size() - 1)).ok());
  EXPECT_FALSE(ParsePcrFile(keylime.substr(0, keylime.size() - 1)).ok());
}

TEST(AkPublicAreaTest, AcceptsTpmtPublicAndTpm2bPublic) {
  const std::string tpm2b = ReadVector("keylime_ak.pub");
  auto area = AkPublicArea(tpm2b);
  ASSERT_THAT(area, IsOk());
  EXPECT_EQ(*area, tpm2b.substr(2));
  auto same = AkPublicArea(*area);
  ASSERT_THAT(same, IsOk());
  EXPECT_EQ(*same, *area);
  std::string bad_size = tpm2b;
  bad_size[1] = static_cast<char>(bad_size[1] + 1);
  EXPECT_FALSE(AkPublicArea(bad_size).ok());
  auto garbage = AkPublicArea("not a key");
  ASSERT_FALSE(garbage.ok());
  EXPECT_THAT(std::string(garbage.status().message()), HasSubstr("--ak"));
  EXPECT_FALSE(LoadAk("not a key").ok());
  EXPECT_FALSE(LoadAk("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").ok());
}

}  // namespace
}  // namespace kb::tpm_vectors
