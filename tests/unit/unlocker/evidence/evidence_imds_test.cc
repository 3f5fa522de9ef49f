// Fetching the VCEK from Azure IMDS (THIM), against a one-shot HTTP server on 127.0.0.1.
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/one_shot_http_server.h"
#include "tests/support/status_matchers.h"
#include "unlocker/evidence/azure_imds.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

constexpr char kVcek[] = "-----BEGIN CERTIFICATE-----\nVCEK\n-----END CERTIFICATE-----";
constexpr char kChain[] = "-----BEGIN CERTIFICATE-----\nASK\n-----END CERTIFICATE-----\n";

std::string ThimJson() {
  return absl::StrCat(R"({"vcekCert":")", absl::StrReplaceAll(kVcek, {{"\n", "\\n"}}),
                      R"(","tcbm":"DB18000000000004","certificateChain":")",
                      absl::StrReplaceAll(kChain, {{"\n", "\\n"}}), R"("})");
}

TEST(AzureImdsTest, FetchesVcekAndChainWithTheMetadataHeader) {
  std::string request;
  auto server = std::make_unique<OneShotHttpServer>(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + ThimJson(), &request);
  auto vcek = FetchAzureVcek(server->address(), absl::Seconds(5));
  server.reset();  // joins the server thread
  ASSERT_THAT(vcek, IsOk());
  EXPECT_EQ(*vcek, std::string(kVcek) + "\n" + kChain);
  EXPECT_THAT(request, HasSubstr("GET /metadata/THIM/amd/certification HTTP/1.0\r\n"));
  EXPECT_THAT(request, HasSubstr("\r\nMetadata: true\r\n"));
}

TEST(AzureImdsTest, ReportsHttpErrorsAndUnreachableService) {
  {
    auto server = std::make_unique<OneShotHttpServer>("HTTP/1.1 404 Not Found\r\n\r\n");
    auto got = ImdsGet(server->address(), kAzureThimPath, absl::Seconds(5));
    EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(got.status().message()), HasSubstr("404"));
  }
  {
    auto server = std::make_unique<OneShotHttpServer>("garbage");
    EXPECT_EQ(ImdsGet(server->address(), "/", absl::Seconds(5)).status().code(),
              absl::StatusCode::kInternal);
  }
  // Port 1 on loopback: connection refused.
  EXPECT_EQ(ImdsGet("127.0.0.1:1", "/", absl::Seconds(1)).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(ImdsGet("not-an-ip:80", "/", absl::Seconds(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AzureImdsTest, ParsesThimJson) {
  auto vcek = VcekFromThimJson(ThimJson());
  ASSERT_THAT(vcek, IsOk());
  EXPECT_THAT(*vcek, HasSubstr("VCEK"));
  EXPECT_THAT(*vcek, HasSubstr("ASK"));
  EXPECT_EQ(VcekFromThimJson("[]").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VcekFromThimJson(R"({"tcbm":"x"})").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kb
