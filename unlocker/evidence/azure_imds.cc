#include "unlocker/evidence/azure_imds.h"

#include <arpa/inet.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace kb {
namespace {

constexpr size_t kMaxResponse = 256 * 1024;

absl::Status SocketError(absl::string_view what, const std::string& addr) {
  return absl::UnavailableError(
      absl::StrCat("IMDS ", addr, ": ", what, ": ", std::strerror(errno)));
}

absl::StatusOr<sockaddr_in> ParseAddress(const std::string& ipv4_port) {
  std::pair<std::string, std::string> parts = absl::StrSplit(ipv4_port, ':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  int port = 0;
  if (inet_pton(AF_INET, parts.first.c_str(), &sa.sin_addr) != 1 ||
      !absl::SimpleAtoi(parts.second, &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad IMDS address '", ipv4_port, "'"));
  }
  sa.sin_port = htons(static_cast<uint16_t>(port));
  return sa;
}

// The body of an HTTP/1.0 response, or its status line as the error.
absl::StatusOr<std::string> ResponseBody(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  if (end == std::string::npos || response.compare(0, 5, "HTTP/") != 0) {
    return absl::InternalError("IMDS: malformed HTTP response");
  }
  const std::string status_line = response.substr(0, response.find("\r\n"));
  std::vector<std::string> fields = absl::StrSplit(status_line, absl::MaxSplits(' ', 2));
  if (fields.size() < 2 || fields[1] != "200") {
    return absl::FailedPreconditionError(absl::StrCat("IMDS answered '", status_line, "'"));
  }
  return response.substr(end + 4);
}

// Sends `request` to `ipv4_port` and returns the body of the HTTP/1.0 response, every socket
// operation bounded by `timeout`.
absl::StatusOr<std::string> ImdsExchange(const std::string& ipv4_port, const std::string& request,
                                         absl::Duration timeout) {
  ASSIGN_OR_RETURN(sockaddr_in sa, ParseAddress(ipv4_port));
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return SocketError("socket", ipv4_port);
  absl::Cleanup closer = [fd] { close(fd); };
  const timeval tv = absl::ToTimeval(timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));  // bounds connect() too
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) {
    return SocketError("connect", ipv4_port);
  }
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return SocketError("send", ipv4_port);
  }
  std::string response;
  char buf[4096];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SocketError("recv", ipv4_port);
    }
    if (n == 0) break;
    response.append(buf, static_cast<size_t>(n));
    if (response.size() > kMaxResponse) return absl::InternalError("IMDS response too large");
  }
  return ResponseBody(response);
}

}  // namespace

absl::StatusOr<std::string> ImdsGet(const std::string& ipv4_port, const std::string& path,
                                    absl::Duration timeout) {
  return ImdsExchange(ipv4_port,
                      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: ", ipv4_port,
                                   "\r\nMetadata: true\r\nConnection: close\r\n\r\n"),
                      timeout);
}

absl::StatusOr<std::string> ImdsPostJson(const std::string& ipv4_port, const std::string& path,
                                         absl::string_view json_body, absl::Duration timeout) {
  // Exactly "application/json": IMDS refuses a charset parameter (HTTP 415).
  return ImdsExchange(ipv4_port,
                      absl::StrCat("POST ", path, " HTTP/1.0\r\nHost: ", ipv4_port,
                                   "\r\nContent-Type: application/json\r\nContent-Length: ",
                                   json_body.size(), "\r\nConnection: close\r\n\r\n", json_body),
                      timeout);
}

absl::StatusOr<std::string> TdQuoteRequestJson(absl::string_view td_report) {
  if (td_report.size() != kTdReportBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("TDREPORT is ", td_report.size(), " bytes, not ", kTdReportBytes));
  }
  return absl::StrCat(R"({"report":")", absl::WebSafeBase64Escape(td_report), R"("})");
}

absl::StatusOr<std::string> TdQuoteFromImdsJson(absl::string_view json) {
  google::protobuf::Struct obj;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &obj);
  if (!parsed.ok()) return absl::InvalidArgumentError("TD quote response is not a JSON object");
  auto it = obj.fields().find("quote");
  std::string quote;
  if (it == obj.fields().end() || it->second.kind_case() != google::protobuf::Value::kStringValue ||
      !absl::WebSafeBase64Unescape(it->second.string_value(), &quote)) {
    return absl::InvalidArgumentError("TD quote response has no base64url \"quote\"");
  }
  if (quote.empty()) return absl::InvalidArgumentError("TD quote response carries an empty quote");
  return quote;
}

absl::StatusOr<std::string> FetchAzureTdQuote(absl::string_view td_report,
                                              const std::string& ipv4_port,
                                              absl::Duration timeout) {
  ASSIGN_OR_RETURN(std::string request, TdQuoteRequestJson(td_report));
  ASSIGN_OR_RETURN(std::string body, ImdsPostJson(ipv4_port, kAzureTdQuotePath, request, timeout));
  return TdQuoteFromImdsJson(body);
}

absl::StatusOr<std::string> VcekFromThimJson(absl::string_view json) {
  google::protobuf::Struct obj;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &obj);
  if (!parsed.ok()) return absl::InvalidArgumentError("THIM response is not a JSON object");
  const auto& f = obj.fields();
  auto vcek = f.find("vcekCert");
  if (vcek == f.end() ||
      vcek->second.string_value().find("BEGIN CERTIFICATE") == std::string::npos) {
    return absl::InvalidArgumentError("THIM response has no vcekCert PEM");
  }
  std::string out = vcek->second.string_value();
  if (!out.empty() && out.back() != '\n') out.push_back('\n');
  auto chain = f.find("certificateChain");
  if (chain != f.end()) out += chain->second.string_value();
  return out;
}

absl::StatusOr<std::string> FetchAzureVcek(const std::string& ipv4_port, absl::Duration timeout) {
  ASSIGN_OR_RETURN(std::string body, ImdsGet(ipv4_port, kAzureThimPath, timeout));
  return VcekFromThimJson(body);
}

}  // namespace kb
