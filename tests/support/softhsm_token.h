#ifndef KB_TESTS_SUPPORT_SOFTHSM_TOKEN_H_
#define KB_TESTS_SUPPORT_SOFTHSM_TOKEN_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace kb {

// A real SoftHSM2 token store in a temporary directory, with one token initialised by
// softhsm2-util. SOFTHSM2_CONF points at it for this process and every process it starts, until
// the destructor restores the environment and removes the directory. One at a time per process.
class SoftHsmToken {
 public:
  static constexpr char kModule[] = "/usr/lib/softhsm/libsofthsm2.so";
  static constexpr char kPin[] = "246810";
  // A module with this token store's SoftHSM2 behind it, whose C_Encrypt and C_Decrypt wait
  // while the file named by the environment variable kStallFileEnv exists.
  static const char* StallingModule();
  static constexpr char kStallFileEnv[] = "KB_TEST_PKCS11_STALL_FILE";

  static absl::StatusOr<std::unique_ptr<SoftHsmToken>> Create(const std::string& label = "kb");
  ~SoftHsmToken();

  const std::string& label() const { return label_; }
  const std::string& dir() const { return dir_; }
  // A private file holding kPin and a newline, as `echo PIN > pin` writes it.
  std::string pin_file() const { return dir_ + "/pin"; }
  // Initialises one more token in the same store.
  absl::Status AddToken(const std::string& label);
  // BrokerConfig.kek for the key `key_label` in this token (JSON member), through `module`.
  std::string KekConfigJson(const std::string& key_label, const char* module = kModule) const;

 private:
  SoftHsmToken(std::string dir, std::string label)
      : dir_(std::move(dir)), label_(std::move(label)) {}
  std::string dir_;
  std::string label_;
};

}  // namespace kb

#endif  // KB_TESTS_SUPPORT_SOFTHSM_TOKEN_H_
