// libcryptsetup-token-keybroker.so: the external LUKS2 token plugin for tokens of type
// "keybroker" (libcryptsetup 2.4+ token API, libcryptsetup.h). It runs inside the caller's
// process (cryptsetup, systemd-cryptsetup): no exceptions cross these functions, nothing exits,
// and everything it says goes through libcryptsetup's log.
#include <libcryptsetup.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/version.h"
#include "unlocker/exit/exit_codes.h"
#include "unlocker/token_plugin/plugin_settings.h"
#include "unlocker/token_plugin/token_open.h"
#include "unlocker/volume/token_json.h"

namespace kb {
namespace {

void Log(crypt_device* cd, int level, const std::string& line) {
  crypt_logf(cd, level, "keybroker: %s", line.c_str());
}

// What libcryptsetup should make of a failure: -EAGAIN ("requires additional missing
// resource") when no broker answered or the TPM is missing; -ENOENT ("no usable token")
// otherwise. Both let it go on to the next token.
int ErrnoFor(const absl::Status& status) {
  const ExitCode code = ExitCodeOf(status);
  return code == ExitCode::kBrokerUnreachable || code == ExitCode::kTpmUnavailable ? -EAGAIN
                                                                                   : -ENOENT;
}

int Open(crypt_device* cd, int token_id, char** buffer, size_t* buffer_len) {
  const char* json = nullptr;
  if (crypt_token_json_get(cd, token_id, &json) < 0 || json == nullptr) return -ENOENT;
  auto settings = LoadPluginSettings(PluginConfDir());
  if (!settings.ok()) {
    Log(cd, CRYPT_LOG_ERROR, std::string(settings.status().message()));
    return -ENOENT;
  }
  auto key = OpenKeybrokerToken(json, *settings, [cd](const std::string& line) {
    Log(cd, CRYPT_LOG_VERBOSE, EscapeUntrusted(line, 2048));
  });
  if (!key.ok()) {
    Log(cd, CRYPT_LOG_ERROR,
        absl::StrCat("token ", token_id, ": ", ExitCodeName(ExitCodeOf(key.status())), ": ",
                     EscapeUntrusted(key.status().message(), 2048)));
    return ErrnoFor(key.status());
  }
  char* out = static_cast<char*>(std::malloc(key->size()));
  if (out == nullptr) return -ENOMEM;
  std::memcpy(out, key->data(), key->size());
  *buffer = out;
  *buffer_len = key->size();
  return 0;
}

void Dump(crypt_device* cd, const char* json) {
  auto token = KeybrokerTokenFromJson(json);
  if (!token.ok()) {
    Log(cd, CRYPT_LOG_DEBUG,
        absl::StrCat("malformed token: ", EscapeUntrusted(token.status().message(), 256)));
    return;
  }
  const KeybrokerToken& t = *token;
  // The token's strings are the header's, which anyone with the disk can write: escaped.
  crypt_logf(cd, CRYPT_LOG_NORMAL, "\tKey:        %s version %u\n",
             EscapeUntrusted(t.key_id, 256).c_str(), t.key_version);
  crypt_logf(cd, CRYPT_LOG_NORMAL, "\tBrokers:    %s\n",
             EscapeUntrusted(absl::StrJoin(t.endpoints, ", "), 1024).c_str());
  crypt_logf(cd, CRYPT_LOG_NORMAL, "\tEvidence:   %s (AK trust %s), PCRs [%s]\n",
             t.evidence.c_str(), t.ak_trust.empty() ? "registered" : t.ak_trust.c_str(),
             absl::StrJoin(t.pcrs, ",").c_str());
  crypt_logf(cd, CRYPT_LOG_NORMAL, "\tBroker CA:  sha256 %s\n", t.ca_sha256.c_str());
  crypt_logf(cd, CRYPT_LOG_NORMAL, "\tOffline:    %s\n",
             t.offline.has_value() ? "sealed copy present" : "none");
}

}  // namespace
}  // namespace kb

extern "C" {

__attribute__((visibility("default"))) const char* cryptsetup_token_version(void) {
  return kb::kVersion;
}

__attribute__((visibility("default"))) int cryptsetup_token_open(crypt_device* cd, int token,
                                                                 char** buffer, size_t* buffer_len,
                                                                 void* /*usrptr*/) {
  try {
    return kb::Open(cd, token, buffer, buffer_len);
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  } catch (...) {
    return -ENOENT;
  }
}

__attribute__((visibility("default"))) void cryptsetup_token_buffer_free(void* buffer,
                                                                         size_t buffer_len) {
  if (buffer == nullptr) return;
  crypt_safe_memzero(buffer, buffer_len);
  std::free(buffer);
}

__attribute__((visibility("default"))) int cryptsetup_token_validate(crypt_device* cd,
                                                                     const char* json) {
  try {
    auto token = kb::KeybrokerTokenFromJson(json);
    if (token.ok()) return 0;
    kb::Log(cd, CRYPT_LOG_ERROR,
            absl::StrCat("invalid keybroker token: ",
                         kb::EscapeUntrusted(token.status().message(), 256)));
    return 1;
  } catch (...) {
    return 1;
  }
}

__attribute__((visibility("default"))) void cryptsetup_token_dump(crypt_device* cd,
                                                                  const char* json) {
  try {
    kb::Dump(cd, json);
  } catch (...) {
  }
}

}  // extern "C"
