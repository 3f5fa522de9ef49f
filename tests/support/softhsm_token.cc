#include "tests/support/softhsm_token.h"

#include <stdlib.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "tests/support/broker_process.h"

namespace kb {

absl::StatusOr<std::unique_ptr<SoftHsmToken>> SoftHsmToken::Create(const std::string& label) {
  char tmpl[] = "/tmp/kb-softhsm-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp failed");
  std::unique_ptr<SoftHsmToken> token(new SoftHsmToken(tmpl, label));
  const std::string dir = token->dir_;
  std::filesystem::create_directory(dir + "/tokens");
  const std::string conf = absl::StrCat("directories.tokendir = ", dir,
                                        "/tokens\nobjectstore.backend = file\nlog.level = ERROR\n");
  if (auto s = WriteFileAtomic(dir + "/softhsm2.conf", conf, 0600); !s.ok()) return s;
  if (auto s = WriteFileAtomic(token->pin_file(), absl::StrCat(kPin, "\n"), 0600); !s.ok()) {
    return s;
  }
  setenv("SOFTHSM2_CONF", (dir + "/softhsm2.conf").c_str(), 1);
  if (auto s = token->AddToken(label); !s.ok()) return s;
  return token;
}

absl::Status SoftHsmToken::AddToken(const std::string& label) {
  CommandResult r = RunCommand({"/usr/bin/softhsm2-util", "--init-token", "--free", "--label",
                                label, "--pin", kPin, "--so-pin", "13579"});
  if (r.exit_code != 0) return absl::InternalError("softhsm2-util --init-token: " + r.output);
  return absl::OkStatus();
}

const char* SoftHsmToken::StallingModule() { return KB_STALLING_PKCS11_MODULE; }

std::string SoftHsmToken::KekConfigJson(const std::string& key_label, const char* module) const {
  return absl::StrCat(R"("kek":{"pkcs11":{"module":")", module, R"(","token_label":")", label_,
                      R"(","key_label":")", key_label, R"(","pin_file":")", pin_file(), R"("}})");
}

SoftHsmToken::~SoftHsmToken() {
  unsetenv("SOFTHSM2_CONF");
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace kb
