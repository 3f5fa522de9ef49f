// The TDX evidence source against a fake configfs-tsm, and the POSIX file operations.
#include <cstdio>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_tsm_report_fs.h"
#include "tests/support/status_matchers.h"
#include "unlocker/evidence/tdx_quote_source.h"

namespace kb {
namespace {

const std::string kTdxBinding(32, '\xab');
// The binding as the quote's 64-byte report data: zero-padded.
const std::string kTdxReportData = kTdxBinding + std::string(32, '\0');

// ---- TDX (configfs-tsm) ----

constexpr char kRoot[] = "/cfg/tsm/report";

TEST(TdxQuoteTest, WritesBindingAsInblobAndReadsOutblob) {
  FakeTsm fs(kRoot);
  auto quote = GetTdxQuote(fs, kRoot, "kb-1", kTdxBinding);
  ASSERT_THAT(quote, IsOk());
  EXPECT_EQ(fs.files[std::string(kRoot) + "/kb-1/inblob"], kTdxReportData);
  EXPECT_EQ(*quote, "QUOTE:" + kTdxReportData);
  EXPECT_TRUE(fs.dirs.empty());  // the entry is removed again
}

TEST(TdxQuoteTest, ErrorsAndTheEntryIsAlwaysRemoved) {
  {
    FakeTsm fs(kRoot);
    fs.provider = "sev_guest";
    EXPECT_EQ(GetTdxQuote(fs, kRoot, "e", kTdxBinding).status().code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_TRUE(fs.dirs.empty());
  }
  {
    FakeTsm fs(kRoot);
    fs.race = true;
    EXPECT_EQ(GetTdxQuote(fs, kRoot, "e", kTdxBinding).status().code(), absl::StatusCode::kAborted);
    EXPECT_TRUE(fs.dirs.empty());
  }
  {
    FakeTsm fs(kRoot);
    fs.quote_prefix.clear();
    EXPECT_EQ(GetTdxQuote(fs, kRoot, "e", kTdxBinding).status().code(),
              absl::StatusCode::kInternal);
  }
  {
    FakeTsm fs(kRoot);
    EXPECT_EQ(GetTdxQuote(fs, "/elsewhere", "e", kTdxBinding).status().code(),
              absl::StatusCode::kUnavailable);
    EXPECT_EQ(GetTdxQuote(fs, kRoot, "e", std::string(65, 'x')).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST(TdxQuoteSourceTest, EvidenceCarriesTheQuoteAndSpki) {
  auto fs = std::make_unique<FakeTsm>(kRoot);
  TdxQuoteSource source(std::move(fs), kRoot);
  auto spki = source.NewTransferKey(TransferKeyType::kEccP256);
  ASSERT_THAT(spki, IsOk());
  auto attested = source.Attest(kTdxBinding, {});
  ASSERT_THAT(attested, IsOk());
  EXPECT_EQ(attested->evidence.tdx_quote().quote(), "QUOTE:" + kTdxReportData);
  EXPECT_EQ(attested->transfer_key.spki_der(), *spki);
}

TEST(PosixTsmReportFsTest, ReadsWritesAndReportsMissingFiles) {
  const std::string dir = ::testing::TempDir() + "/tsm-posix-test";
  PosixTsmReportFs fs;
  fs.RemoveDir(dir).IgnoreError();
  ASSERT_THAT(fs.MakeDir(dir), IsOk());
  EXPECT_EQ(fs.MakeDir(dir).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(fs.ReadFile(dir + "/outblob").status().code(), absl::StatusCode::kNotFound);
  // configfs attributes exist already; a plain directory needs the file made first.
  FILE* f = std::fopen((dir + "/inblob").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  ASSERT_THAT(fs.WriteFile(dir + "/inblob", "abc"), IsOk());
  auto back = fs.ReadFile(dir + "/inblob");
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(*back, "abc");
  std::remove((dir + "/inblob").c_str());
  EXPECT_THAT(fs.RemoveDir(dir), IsOk());
}

}  // namespace
}  // namespace kb
