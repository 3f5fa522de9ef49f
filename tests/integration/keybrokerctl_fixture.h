#ifndef KB_TESTS_INTEGRATION_KEYBROKERCTL_FIXTURE_H_
#define KB_TESTS_INTEGRATION_KEYBROKERCTL_FIXTURE_H_

#include <string>
#include <vector>

#include "tests/integration/shared_broker.h"
#include "tests/support/broker_process.h"

namespace kb {

// keybrokerctl's argv up to its command: the binary and the connection flags for `broker`'s
// admin API as the client certificate `<cert>.pem/.key` of its PKI.
inline std::vector<std::string> KeybrokerctlArgv(const BrokerProcess& broker,
                                                 const std::string& cert) {
  return {BinaryPath("keybrokerctl"), "--addr", broker.admin_endpoint(),    "--ca",
          broker.Path("ca.pem"),      "--cert", broker.Path(cert + ".pem"), "--key",
          broker.Path(cert + ".key")};
}

// keybrokerctl run against the suite's keybrokerd (SharedBrokerTest::broker_).
class KeybrokerctlFixture : public SharedBrokerTest {
 protected:
  // Runs keybrokerctl `args` as the client certificate `cert`, with `stdin_data` on its stdin.
  static CommandResult Ctl(std::vector<std::string> args, const std::string& cert = "operator",
                           const std::string& stdin_data = "") {
    std::vector<std::string> argv = KeybrokerctlArgv(*broker_, cert);
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, stdin_data);
  }
};

}  // namespace kb

#endif  // KB_TESTS_INTEGRATION_KEYBROKERCTL_FIXTURE_H_
