#ifndef KB_TESTS_INTEGRATION_BROKER_GUEST_H_
#define KB_TESTS_INTEGRATION_BROKER_GUEST_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/files.h"
#include "gtest/gtest.h"
#include "tests/integration/keybrokerctl_fixture.h"
#include "tests/integration/release_over_grpc.h"
#include "tests/support/broker_process.h"
#include "tests/support/status_matchers.h"

namespace kb {

// keybrokerctl `args` against `broker` as its "operator" (admin) certificate.
inline CommandResult Ctl(const BrokerProcess& broker, std::vector<std::string> args,
                         const std::string& stdin_data = "") {
  std::vector<std::string> argv = KeybrokerctlArgv(broker, "operator");
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, stdin_data);
}

// A guest with a software TPM registered as `machine`, allowed `key_id` by PCR 7; the key is
// created first unless `create_key` is false.
inline std::unique_ptr<SoftwareTpm> Guest(const BrokerProcess& broker, const std::string& machine,
                                          const std::string& key_id, bool create_key = true) {
  auto tpm = *SoftwareTpm::Create();
  tpm->SetPcr(7, std::string(32, '\x07'));
  const std::string ak = broker.Path(machine + ".ak");
  EXPECT_THAT(WriteFileAtomic(ak, *tpm->AttestationKeyPublic()), IsOk());
  EXPECT_EQ(Ctl(broker, {"ak", "register", "--machine", machine, "--ak-public", ak}).exit_code, 0);
  if (!create_key) return tpm;
  CommandResult create = Ctl(broker, {"key", "create", key_id});
  EXPECT_EQ(create.exit_code, 0) << create.output;
  const std::string policy = absl::StrCat(R"({"allow":[{"name":"r1","machines":[")", machine,
                                          R"("],"pcrs":[{"index":7,"allowed":[")",
                                          HexEncode(std::string(32, '\x07')), R"("]}]}]})");
  CommandResult set = Ctl(broker, {"policy", "set", key_id, "-"}, policy);
  EXPECT_EQ(set.exit_code, 0) << set.output;
  return tpm;
}

}  // namespace kb

#endif  // KB_TESTS_INTEGRATION_BROKER_GUEST_H_
