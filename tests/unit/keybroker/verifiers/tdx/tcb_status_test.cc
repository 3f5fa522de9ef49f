#include "keybroker/verifiers/tdx/tcb_status.h"

#include <vector>

#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/verifiers/tdx/intel_pki.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/verifiers/tdx/tdx_test_util.h"

namespace kb {
namespace tdx {
namespace {

using ::testing::ElementsAreArray;
using testing::ExpectCheck;
using testing::ReadVector;

struct Inputs {
  TdxQuote quote;
  PckCertInfo pck;
};

Inputs Load(const std::string& file) {
  Inputs in;
  in.quote = *ParseTdxQuote(ReadVector(file));
  auto certs = ParsePemCertChain(in.quote.pck_cert_data);
  EXPECT_THAT(certs, IsOk());
  auto pck = ParsePckExtensions((*certs)[0].get());
  EXPECT_THAT(pck, IsOk());
  in.pck = *pck;
  return in;
}

struct TcbRow {
  const char* quote;
  const char* tcb_info;
  TcbStatus status;
  const char* tcb_date;
  std::optional<TcbStatus> module;
  int compare_start;
  std::vector<std::string> advisories;
};

// MANIFEST.md "TDX TCB status (Intel QVL algorithm ...)", every row.
const std::vector<TcbRow>& TcbTable() {
  static const auto* kRows = new std::vector<TcbRow>{
      {"gotdx_tdx_prod_quote_SPR_E4_v4.dat",
       "gotdx_tcbInfo_fmspc50806f000000.json",
       TcbStatus::kTcbNotSupported,
       "",
       std::nullopt,
       0,
       {}},
      {"gotdx_tdx_prod_quote_SPR_E4_v4.dat",
       "teekit_tcbInfo-tdx-50806f000000.json",
       TcbStatus::kTcbNotSupported,
       "",
       std::nullopt,
       0,
       {}},
      {"trustee_tdx_quote_4.dat",
       "gotdx_tcbInfo_fmspc50806f000000.json",
       TcbStatus::kUpToDate,
       "2023-02-15T00:00:00Z",
       std::nullopt,
       0,
       {}},
      {"trustee_tdx_quote_4.dat",
       "teekit_tcbInfo-tdx-50806f000000.json",
       TcbStatus::kOutOfDate,
       "2023-02-15T00:00:00Z",
       std::nullopt,
       0,
       {"INTEL-SA-00837", "INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986"}},
      {"trustee_tdx_quote_5.dat",
       "gotdx_tcbInfo_fmspc90c06f000000_v5.json",
       TcbStatus::kTcbNotSupported,
       "",
       std::nullopt,
       2,
       {}},
      {"trustee_tdx_quote_5.dat",
       "teekit_tcbInfo-tdx-90c06f000000.json",
       TcbStatus::kTcbNotSupported,
       "",
       std::nullopt,
       2,
       {}},
      {"gotdx_quote_v5_sample.dat",
       "gotdx_tcbInfo_fmspc90c06f000000_v5.json",
       TcbStatus::kUpToDate,
       "2024-11-13T00:00:00Z",
       TcbStatus::kUpToDate,
       2,
       {}},
      {"gotdx_quote_v5_sample.dat",
       "teekit_tcbInfo-tdx-90c06f000000.json",
       TcbStatus::kUpToDate,
       "2024-03-13T00:00:00Z",
       TcbStatus::kUpToDate,
       2,
       {}},
      {"trustee_tdx_quote_6.dat",
       "trustee_tcbInfo.json",
       TcbStatus::kOutOfDate,
       "2018-01-04T00:00:00Z",
       TcbStatus::kUpToDate,
       2,
       {}},
      {"gotdx_cos-113-tdx-quote.dat",
       "teekit_tcbInfo-tdx-00806f050000.json",
       TcbStatus::kUpToDate,
       "2024-03-13T00:00:00Z",
       TcbStatus::kUpToDate,
       2,
       {}},
      {"trustee_td-quote.bin",
       "teekit_tcbInfo-tdx-00806f050000.json",
       TcbStatus::kOutOfDate,
       "2023-08-09T00:00:00Z",
       TcbStatus::kOutOfDate,
       2,
       {"INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986"}},
      {"trustee_old2024_td-quote.bin",
       "teekit_tcbInfo-tdx-00806f050000.json",
       TcbStatus::kOutOfDate,
       "2023-08-09T00:00:00Z",
       TcbStatus::kOutOfDate,
       2,
       {"INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986"}},
  };
  return *kRows;
}

TEST(TcbStatusTest, ManifestTcbStatusTable) {
  for (const TcbRow& row : TcbTable()) {
    SCOPED_TRACE(absl::StrCat(row.quote, " x ", row.tcb_info));
    Inputs in = Load(row.quote);
    auto info = ParseTcbInfo(ReadVector(row.tcb_info));
    ASSERT_THAT(info, IsOk());
    auto eval = EvaluateTdxTcb(in.quote.body, in.pck, *info);
    ASSERT_THAT(eval, IsOk());
    EXPECT_EQ(TcbStatusName(eval->status), TcbStatusName(row.status));
    EXPECT_EQ(eval->tcb_date, row.tcb_date);
    EXPECT_EQ(eval->tdx_compare_start, row.compare_start);
    EXPECT_THAT(eval->advisory_ids, ElementsAreArray(row.advisories));
    if (row.status != TcbStatus::kTcbNotSupported) {
      ASSERT_EQ(eval->module_status.has_value(), row.module.has_value());
      if (row.module) {
        EXPECT_EQ(*eval->module_status, *row.module);
      }
    }
  }
}

TEST(TcbStatusTest, FmspcAndPceIdMustMatch) {
  Inputs in = Load("trustee_tdx_quote_4.dat");
  auto info = *ParseTcbInfo(ReadVector("gotdx_tcbInfo_fmspc50806f000000.json"));
  info.fmspc = std::string("\x11\x11\x1f\x00\x00\x00", 6);  // go-tdx-guest "11111f000000"
  ExpectCheck(EvaluateTdxTcb(in.quote.body, in.pck, info).status(), "tcb_status",
              absl::StatusCode::kUnauthenticated);
  info = *ParseTcbInfo(ReadVector("gotdx_tcbInfo_fmspc50806f000000.json"));
  info.pce_id = "\x11\x11";
  ExpectCheck(EvaluateTdxTcb(in.quote.body, in.pck, info).status(), "tcb_status",
              absl::StatusCode::kUnauthenticated);
}

TEST(TcbStatusTest, TdxModuleIdentityMustMatch) {
  Inputs v4 = Load("trustee_tdx_quote_4.dat");  // TEE_TCB_SVN[1] == 0: tdxModule
  auto info = *ParseTcbInfo(ReadVector("gotdx_tcbInfo_fmspc50806f000000.json"));
  info.tdx_module.mr_signer[0] ^= 1;
  ExpectCheck(EvaluateTdxTcb(v4.quote.body, v4.pck, info).status(), "tdx_module",
              absl::StatusCode::kUnauthenticated);
  info = *ParseTcbInfo(ReadVector("gotdx_tcbInfo_fmspc50806f000000.json"));
  info.tdx_module.attributes[0] = 1;
  ExpectCheck(EvaluateTdxTcb(v4.quote.body, v4.pck, info).status(), "tdx_module",
              absl::StatusCode::kUnauthenticated);
  Inputs cos = Load("gotdx_cos-113-tdx-quote.dat");  // TDX_01 via tdxModuleIdentities
  info = *ParseTcbInfo(ReadVector("teekit_tcbInfo-tdx-00806f050000.json"));
  info.tdx_module_identities.clear();
  ExpectCheck(EvaluateTdxTcb(cos.quote.body, cos.pck, info).status(), "tdx_module",
              absl::StatusCode::kUnauthenticated);
}

TEST(TcbStatusTest, RevokedModuleWinsAndStatusNamesRoundTrip) {
  Inputs cos = Load("gotdx_cos-113-tdx-quote.dat");
  auto info = *ParseTcbInfo(ReadVector("teekit_tcbInfo-tdx-00806f050000.json"));
  for (auto& m : info.tdx_module_identities) {
    for (auto& l : m.levels) l.status = "Revoked";
  }
  EXPECT_EQ(EvaluateTdxTcb(cos.quote.body, cos.pck, info)->status, TcbStatus::kRevoked);
  for (TcbStatus s :
       {TcbStatus::kUpToDate, TcbStatus::kSwHardeningNeeded, TcbStatus::kConfigurationNeeded,
        TcbStatus::kConfigurationAndSwHardeningNeeded, TcbStatus::kOutOfDate,
        TcbStatus::kOutOfDateConfigurationNeeded, TcbStatus::kRevoked,
        TcbStatus::kTcbNotSupported}) {
    EXPECT_EQ(*ParseTcbStatus(TcbStatusName(s)), s);
  }
  EXPECT_FALSE(ParseTcbStatus("Fine").ok());
}

struct QeRow {
  const char* quote;
  const char* identity;
  const char* tcb_date;
};

TEST(QeIdentityTest, ManifestQeIdentityTable) {
  const QeRow kRows[] = {
      {"gotdx_tdx_prod_quote_SPR_E4_v4.dat", "gotdx_qeIdentity.json", "2023-02-15T00:00:00Z"},
      {"gotdx_tdx_prod_quote_SPR_E4_v4.dat", "trustee_enclaveIdentity.json",
       "2024-03-13T00:00:00Z"},
      {"gotdx_quote_v5_sample.dat", "gotdx_qeIdentity.json", "2023-02-15T00:00:00Z"},
      {"gotdx_quote_v5_sample.dat", "trustee_enclaveIdentity.json", "2024-03-13T00:00:00Z"},
      {"trustee_tdx_quote_4.dat", "gotdx_qeIdentity.json", "2023-02-15T00:00:00Z"},
      {"trustee_tdx_quote_4.dat", "trustee_enclaveIdentity.json", "2024-03-13T00:00:00Z"},
      {"trustee_tdx_quote_5.dat", "gotdx_qeIdentity.json", "2023-02-15T00:00:00Z"},
      {"trustee_tdx_quote_5.dat", "trustee_enclaveIdentity.json", "2024-03-13T00:00:00Z"},
      {"trustee_tdx_quote_6.dat", "gotdx_qeIdentity.json", "2023-02-15T00:00:00Z"},
      {"trustee_tdx_quote_6.dat", "trustee_enclaveIdentity.json", "2024-03-13T00:00:00Z"},
  };
  for (const QeRow& row : kRows) {
    SCOPED_TRACE(absl::StrCat(row.quote, " x ", row.identity));
    auto quote = *ParseTdxQuote(ReadVector(row.quote));
    auto identity = ParseQeIdentity(ReadVector(row.identity));
    ASSERT_THAT(identity, IsOk());
    auto eval = EvaluateQeIdentity(quote.qe_report, *identity);
    ASSERT_THAT(eval, IsOk());
    EXPECT_EQ(eval->status, TcbStatus::kUpToDate);
    EXPECT_EQ(eval->tcb_date, row.tcb_date);
  }
}

TEST(QeIdentityTest, MismatchesAreNamed) {
  // go-tdx-guest TestNegativeVerifyUsingQeIdentityV4: MISCSELECT, ATTRIBUTES, MRSIGNER,
  // ISVPRODID tampered; plus an ISVSVN below every level.
  auto quote = *ParseTdxQuote(ReadVector("gotdx_tdx_prod_quote_SPR_E4_v4.dat"));
  const QeIdentity good = *ParseQeIdentity(ReadVector("gotdx_qeIdentity.json"));
  std::vector<QeIdentity> bad(5, good);
  bad[0].misc_select = 1;
  bad[1].attributes[0] ^= 0x01;
  bad[2].mr_signer[0] ^= 0x01;
  bad[3].isv_prod_id = 3;
  bad[4].levels[0].isv_svn = 100;
  for (const QeIdentity& b : bad) {
    ExpectCheck(EvaluateQeIdentity(quote.qe_report, b).status(), "qe_identity",
                absl::StatusCode::kUnauthenticated);
  }
}

}  // namespace
}  // namespace tdx
}  // namespace kb
