#include "tests/support/metrics_scrape.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>

#include "absl/strings/str_cat.h"
#include "common/files.h"

namespace kb {

int MetricsPort(const BrokerProcess& broker) {
  auto log = ReadFile(broker.Path("keybrokerd.log"));
  if (!log.ok()) return 0;
  std::smatch m;
  const std::string text = *log;
  if (!std::regex_search(text, m, std::regex("metrics on \\S+ \\(port (\\d+)\\)"))) return 0;
  return std::stoi(m[1]);
}

std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\n\r\n");
    (void)!write(fd, request.data(), request.size());
    char buf[8192];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) response.append(buf, n);
  }
  close(fd);
  return response;
}

}  // namespace kb
