#ifndef KB_TESTS_INTEGRATION_SWTPM_FIXTURE_H_
#define KB_TESTS_INTEGRATION_SWTPM_FIXTURE_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/support/status_matchers.h"

namespace kb {

// A private swtpm (TPM 2.0, already started with TPM2_Startup(CLEAR)) listening on 127.0.0.1,
// with its state in a fresh temporary directory. The destructor kills swtpm and removes the
// directory. Its log goes to <state_dir>/swtpm.log. Not thread-safe.
//
//   auto swtpm = SwtpmFixture::Start();
//   ASSERT_THAT(swtpm, IsOk());
//   EsysTpmOptions opts;
//   opts.tcti = (*swtpm)->tcti();
//
// Link kb_swtpm_fixture. The child swtpm is killed if the test process dies (PDEATHSIG).
class SwtpmFixture {
 public:
  // Starts swtpm on a random free port pair P, P+1 (server, control) below 32768 and waits (at
  // most ~10 s) until it accepts connections. UNAVAILABLE if swtpm cannot be started.
  static absl::StatusOr<std::unique_ptr<SwtpmFixture>> Start();

  struct Options {
    // Manufacture the TPM first with `swtpm_setup --tpm2 --create-ek-cert`: EKs persisted at
    // 0x81010001 (RSA 2048) and 0x81010016 (ECC P-384) and their certificates in NV, issued by
    // swtpm_localca from the CA kept in `ek_ca_dir` (created on first use, shareable between
    // TPMs: EkRootCaFile / EkIssuerCaFile name its certificates).
    bool create_ek_cert = false;
    std::string ek_ca_dir;
  };
  static absl::StatusOr<std::unique_ptr<SwtpmFixture>> Start(const Options& options);
  // The PEM root and intermediate certificates of the swtpm_localca CA in `ek_ca_dir`.
  static std::string EkRootCaFile(const std::string& ek_ca_dir);
  static std::string EkIssuerCaFile(const std::string& ek_ca_dir);

  ~SwtpmFixture();
  SwtpmFixture(const SwtpmFixture&) = delete;
  SwtpmFixture& operator=(const SwtpmFixture&) = delete;

  // "swtpm:host=127.0.0.1,port=P", for Tss2_TctiLdr_Initialize / EsysTpmOptions::tcti.
  std::string tcti() const;
  int port() const { return port_; }
  const std::string& state_dir() const { return state_dir_; }

  // Stops swtpm (SIGTERM) and starts it again on the same state, as a reboot would: persistent
  // objects survive, transient ones and the NULL hierarchy seed do not. The port, and so
  // tcti(), may change. Connections to the old process must be closed first.
  absl::Status Restart();

  // Stops swtpm; a later Restart() brings it back. Useful to test an unreachable TPM.
  void Stop();

 private:
  explicit SwtpmFixture(std::string state_dir) : state_dir_(std::move(state_dir)) {}
  absl::Status Launch();
  absl::Status Manufacture(const std::string& ek_ca_dir);
  absl::Status LaunchOnPort(int port);

  std::string state_dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace kb

#endif  // KB_TESTS_INTEGRATION_SWTPM_FIXTURE_H_
