#ifndef KB_TESTS_FAKES_ONE_SHOT_HTTP_SERVER_H_
#define KB_TESTS_FAKES_ONE_SHOT_HTTP_SERVER_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kb {

// An HTTP server on 127.0.0.1 (a port chosen by the kernel) that serves one connection: it reads
// one request (headers, then a Content-Length body if any) into `*request` and answers with
// `response` verbatim. The destructor waits for that connection. Not thread-safe.
class OneShotHttpServer {
 public:
  explicit OneShotHttpServer(std::string response, std::string* request = nullptr)
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
    thread_ = std::thread([this, response] { Serve(response); });
  }
  ~OneShotHttpServer() {
    thread_.join();
    close(fd_);
  }
  OneShotHttpServer(const OneShotHttpServer&) = delete;
  OneShotHttpServer& operator=(const OneShotHttpServer&) = delete;

  // "127.0.0.1:<port>".
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  void Serve(const std::string& response) {
    const int c = accept(fd_, nullptr, nullptr);
    char buf[4096];
    size_t want = std::string::npos;
    while (want == std::string::npos || request_->size() < want) {
      const ssize_t n = recv(c, buf, sizeof(buf), 0);
      if (n <= 0) break;
      request_->append(buf, static_cast<size_t>(n));
      const size_t end = request_->find("\r\n\r\n");
      const size_t cl = request_->find("Content-Length: ");
      size_t body = 0;
      if (end != std::string::npos && want == std::string::npos) {
        if (cl != std::string::npos) {
          absl::SimpleAtoi(request_->substr(cl + 16, request_->find("\r\n", cl) - cl - 16), &body);
        }
        want = end + 4 + body;
      }
    }
    send(c, response.data(), response.size(), MSG_NOSIGNAL);
    close(c);
  }

  int fd_ = -1;
  int port_ = 0;
  std::string* request_;
  std::string own_request_;
  std::thread thread_;
};

}  // namespace kb

#endif  // KB_TESTS_FAKES_ONE_SHOT_HTTP_SERVER_H_
