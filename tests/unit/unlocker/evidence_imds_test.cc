// Fetching the VCEK from Azure IMDS (THIM), against a one-shot HTTP server on 127.0.0.1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "unlocker/evidence/azure_imds.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

constexpr char kVcek[] = "-----BEGIN CERTIFICATE-----\nVCEK\n-----END CERTIFICATE-----";
constexpr char kChain[] = "-----BEGIN CERTIFICATE-----\nASK\n-----END CERTIFICATE-----\n";

// Serves one connection with `response`, recording the request.
class OneShotServer {
 public:
  explicit OneShotServer(std::string response, std::string* request = nullptr)
      : request_(request != nullptr ? request : &own_request_) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    socklen_t len = sizeof(sa);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    listen(fd_, 1);
    thread_ = std::thread([this, response] {
      const int c = accept(fd_, nullptr, nullptr);
      char buf[4096];
      while (request_->find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        request_->append(buf, static_cast<size_t>(n));
      }
      send(c, response.data(), response.size(), MSG_NOSIGNAL);
      close(c);
    });
  }
  ~OneShotServer() {
    thread_.join();
    close(fd_);
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::string* request_;
  std::string own_request_;
  std::thread thread_;
};

std::string ThimJson() {
  return absl::StrCat(R"({"vcekCert":")", absl::StrReplaceAll(kVcek, {{"\n", "\\n"}}),
                      R"(","tcbm":"DB18000000000004","certificateChain":")",
                      absl::StrReplaceAll(kChain, {{"\n", "\\n"}}), R"("})");
}

TEST(AzureImdsTest, FetchesVcekAndChainWithTheMetadataHeader) {
  std::string request;
  auto server = std::make_unique<OneShotServer>(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + ThimJson(), &request);
  auto vcek = FetchAzureVcek(server->address(), absl::Seconds(5));
  server.reset();  // joins the server thread
  ASSERT_TRUE(vcek.ok()) << vcek.status();
  EXPECT_EQ(*vcek, std::string(kVcek) + "\n" + kChain);
  EXPECT_THAT(request, HasSubstr("GET /metadata/THIM/amd/certification HTTP/1.0\r\n"));
  EXPECT_THAT(request, HasSubstr("\r\nMetadata: true\r\n"));
}

TEST(AzureImdsTest, ReportsHttpErrorsAndUnreachableService) {
  {
    auto server = std::make_unique<OneShotServer>("HTTP/1.1 404 Not Found\r\n\r\n");
    auto got = ImdsGet(server->address(), kAzureThimPath, absl::Seconds(5));
    EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(got.status().message()), HasSubstr("404"));
  }
  {
    auto server = std::make_unique<OneShotServer>("garbage");
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
  ASSERT_TRUE(vcek.ok());
  EXPECT_THAT(*vcek, HasSubstr("VCEK"));
  EXPECT_THAT(*vcek, HasSubstr("ASK"));
  EXPECT_EQ(VcekFromThimJson("[]").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VcekFromThimJson(R"({"tcbm":"x"})").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kb
