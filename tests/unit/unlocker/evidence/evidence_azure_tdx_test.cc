// The Azure TDX (az-tdx-vtpm) guest path: the TDREPORT of the HCL report goes to IMDS
// (POST /acc/tdquote, base64url JSON) and the TD quote it returns travels in the evidence.
// IMDS is played by a one-shot HTTP server on 127.0.0.1.
#include <map>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/one_shot_http_server.h"
#include "tests/fakes/software_tpm.h"
#include "tests/support/status_matchers.h"
#include "unlocker/evidence/azure_imds.h"
#include "unlocker/evidence/azure_vtpm_source.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

// A TDREPORT-sized value whose base64 has '+' and '/' in the standard alphabet.
std::string TdReport() {
  std::string r(kTdReportBytes, '\0');
  for (size_t i = 0; i < r.size(); ++i) r[i] = static_cast<char>(i % 3 == 0 ? 0xfb : 0xff - i);
  return r;
}

TEST(AzureTdQuoteTest, RequestIsUnpaddedBase64urlOfTheTdReport) {
  auto json = TdQuoteRequestJson(TdReport());
  ASSERT_THAT(json, IsOk());
  const std::string b64 = absl::WebSafeBase64Escape(TdReport());
  EXPECT_EQ(*json, absl::StrCat(R"({"report":")", b64, R"("})"));
  EXPECT_EQ(json->find_first_of("+/="), std::string::npos);
  EXPECT_NE(json->find_first_of("-_"), std::string::npos);
  EXPECT_EQ(TdQuoteRequestJson(std::string(1023, 'x')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AzureTdQuoteTest, ResponseQuoteIsBase64urlPaddedOrNot) {
  const std::string quote("\x04\x00\x02\x00\x81\xfb\xff", 7);
  std::string unpadded = absl::WebSafeBase64Escape(quote);
  auto got = TdQuoteFromImdsJson(absl::StrCat(R"({"quote":")", unpadded, R"("})"));
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(*got, quote);
  const std::string padded = unpadded + std::string((4 - unpadded.size() % 4) % 4, '=');
  ASSERT_NE(padded, unpadded);
  got = TdQuoteFromImdsJson(absl::StrCat(R"({"quote":")", padded, R"("})"));
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(*got, quote);
  for (const char* bad : {"[]", R"({"report":"AAAA"})", R"({"quote":""})", R"({"quote":"*#"})",
                          R"({"quote":3})", "not json"}) {
    EXPECT_EQ(TdQuoteFromImdsJson(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(AzureTdQuoteTest, FetchPostsTheReportAndDecodesTheQuote) {
  const std::string quote(5006, '\x5a');
  std::string request;
  auto server = std::make_unique<OneShotHttpServer>(
      absl::StrCat("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n", R"({"quote":")",
                   absl::WebSafeBase64Escape(quote), R"("})"),
      &request);
  auto got = FetchAzureTdQuote(TdReport(), server->address(), absl::Seconds(5));
  server.reset();  // joins the server thread
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(*got, quote);
  EXPECT_THAT(request, HasSubstr("POST /acc/tdquote HTTP/1.0\r\n"));
  EXPECT_THAT(request, HasSubstr("\r\nContent-Type: application/json\r\n"));
  const std::string body = *TdQuoteRequestJson(TdReport());
  EXPECT_THAT(request, HasSubstr(absl::StrCat("\r\nContent-Length: ", body.size(), "\r\n")));
  EXPECT_EQ(request.substr(request.find("\r\n\r\n") + 4), body);
}

TEST(AzureTdQuoteTest, HttpErrorsAndBadReportsAreReported) {
  std::string request;
  {
    auto server = std::make_unique<OneShotHttpServer>("HTTP/1.1 415 Unsupported Media Type\r\n\r\n",
                                                      &request);
    auto got = FetchAzureTdQuote(TdReport(), server->address(), absl::Seconds(5));
    EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(got.status().message()), HasSubstr("415"));
  }
  EXPECT_EQ(FetchAzureTdQuote("short", "127.0.0.1:1", absl::Seconds(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FetchAzureTdQuote(TdReport(), "127.0.0.1:1", absl::Seconds(1)).status().code(),
            absl::StatusCode::kUnavailable);
}

class MapNv final : public TpmNv {
 public:
  absl::StatusOr<bool> NvDefined(uint32_t index) override { return data.count(index) != 0; }
  absl::Status NvDefine(uint32_t index, uint16_t size) override {
    data[index] = std::string(size, '\0');
    return absl::OkStatus();
  }
  absl::Status NvWrite(uint32_t index, absl::string_view bytes) override {
    data[index].replace(0, bytes.size(), std::string(bytes));
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> NvRead(uint32_t index) override {
    if (data.count(index) == 0) return absl::NotFoundError("undefined");
    return data[index];
  }
  std::map<uint32_t, std::string> data;
};

// An HCL report of type TDX (4) whose TDREPORT at 0x20 is TdReport().
std::string TdxHclReport() {
  std::string report(2600, '\0');
  report.replace(0x20, kTdReportBytes, TdReport());
  report[0x4C8] = 4;
  return report;
}

TEST(AzureVtpmSourceTdxTest, TdReportGoesToTheQuoteHookAndTheQuoteIntoTheEvidence) {
  auto tpm = SoftwareTpm::Create();
  ASSERT_THAT(tpm, IsOk());
  MapNv nv;
  nv.data[kAzureHclReportIndex] = TdxHclReport();
  AzureVtpmOptions options;
  std::string seen;
  options.td_quote = [&seen](absl::string_view td_report) -> absl::StatusOr<std::string> {
    seen = std::string(td_report);
    return std::string("TD QUOTE");
  };
  options.vcek = []() -> absl::StatusOr<std::string> {
    ADD_FAILURE() << "no VCEK on a TDX CVM";
    return std::string();
  };
  AzureVtpmSource source(**tpm, nv, options);
  ASSERT_THAT(source.NewTransferKey(TransferKeyType::kEccP256), IsOk());
  auto attested = source.Attest(std::string(32, '\x01'), {0});
  ASSERT_THAT(attested, IsOk());
  const v1::AzureVtpmEvidence& az = attested->evidence.azure_vtpm();
  EXPECT_EQ(az.kind(), v1::AZURE_VTPM_KIND_TDX);
  EXPECT_EQ(seen, TdReport());
  EXPECT_EQ(az.td_quote(), "TD QUOTE");
  EXPECT_TRUE(az.vcek().empty());
  EXPECT_TRUE(attested->transfer_key.has_tpm());
}

TEST(AzureVtpmSourceTdxTest, QuoteFailuresAndShortReportsFailTheAttestation) {
  auto tpm = SoftwareTpm::Create();
  ASSERT_THAT(tpm, IsOk());
  MapNv nv;
  nv.data[kAzureHclReportIndex] = TdxHclReport();
  AzureVtpmOptions options;
  options.td_quote = [](absl::string_view) -> absl::StatusOr<std::string> {
    return absl::UnavailableError("IMDS down");
  };
  AzureVtpmSource source(**tpm, nv, options);
  ASSERT_THAT(source.NewTransferKey(TransferKeyType::kEccP256), IsOk());
  EXPECT_EQ(source.Attest(std::string(32, '\x01'), {}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(TdReportOfHclReport(std::string(0x20 + 1023, '\0')).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto td = TdReportOfHclReport(TdxHclReport());
  ASSERT_THAT(td, IsOk());
  EXPECT_EQ(*td, TdReport());
}

}  // namespace
}  // namespace kb
