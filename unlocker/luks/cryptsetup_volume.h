#ifndef KB_UNLOCKER_LUKS_CRYPTSETUP_VOLUME_H_
#define KB_UNLOCKER_LUKS_CRYPTSETUP_VOLUME_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secret_bytes.h"
#include "unlocker/volume/volume.h"

struct crypt_device;

namespace kb {

// Keeps libcryptsetup from loading external token plugins into this process, the keybroker
// plugin included: kbunlock reads keybroker tokens itself, and the plugin carries its own copy
// of the protobuf messages kbunlock already registered (loading it would abort the process).
// Call before the first volume is opened.
void DisableExternalTokenPlugins();

// Volume backed by libcryptsetup (LUKS2 only). Header operations work on block devices and
// image files; Activate() needs device-mapper. libcryptsetup's own log lines are captured (not
// printed) and the last error line is appended to returned errors. Not thread-safe.
//
// Beyond the Volume contract:
//  - ListKeyslots() returns every slot 0..31; state is "active", "inactive" or "unbound".
//  - WriteToken()/RemoveToken() refuse (FAILED_PRECONDITION) to touch a token of another type.
//  - WriteToken() requires token.keyslot to be active (NOT_FOUND otherwise).
//  - RemoveKeyslot() refuses (FAILED_PRECONDITION) the last active keyslot and a keyslot that a
//    keybroker token still refers to (remove the token first).
class CryptsetupVolume final : public Volume {
 public:
  // Opens and loads the LUKS2 header of `device_path`. NOT_FOUND if the path does not exist,
  // INVALID_ARGUMENT if it is not LUKS2 or both header copies are corrupt, DATA_LOSS for I/O
  // errors while reading the header, INTERNAL otherwise.
  static absl::StatusOr<std::unique_ptr<CryptsetupVolume>> Open(const std::string& device_path);

  ~CryptsetupVolume() override;
  CryptsetupVolume(const CryptsetupVolume&) = delete;
  CryptsetupVolume& operator=(const CryptsetupVolume&) = delete;

  // Every `keybroker` token; a malformed one is INVALID_ARGUMENT naming its token id.
  absl::StatusOr<std::vector<KeybrokerToken>> ListTokens() override;
  absl::StatusOr<std::vector<KeyslotInfo>> ListKeyslots() override;
  // PERMISSION_DENIED if `existing` opens no keyslot; the header is then unchanged.
  absl::StatusOr<int> AddKeyslot(const SecretBytes& existing, const SecretBytes& new_key) override;
  absl::StatusOr<int> WriteToken(const KeybrokerToken& token) override;
  absl::Status RemoveToken(int token_id) override;
  absl::Status RemoveKeyslot(int keyslot) override;
  // PERMISSION_DENIED if `key` does not open `keyslot`, NOT_FOUND if the slot is not active.
  absl::Status VerifyKey(int keyslot, const SecretBytes& key) override;
  absl::Status VerifyPassphrase(const SecretBytes& passphrase) override;
  // As VerifyKey, plus INVALID_ARGUMENT for a bad `name`, FAILED_PRECONDITION if
  // /dev/mapper/control cannot be opened, ALREADY_EXISTS if `name` is taken, INTERNAL for
  // other device-mapper errors.
  absl::Status Activate(const std::string& name, int keyslot, const SecretBytes& key) override;

  const std::string& path() const { return path_; }
  // The LUKS2 header UUID ("" if libcryptsetup has none).
  std::string uuid() const;

 private:
  struct CryptFree {
    void operator()(crypt_device* cd) const;
  };
  using CryptDevicePtr = std::unique_ptr<crypt_device, CryptFree>;
  // Collects libcryptsetup's log lines for one device (address must stay stable).
  struct LogSink {
    std::string last_error;
  };
  static void LogCallback(int level, const char* msg, void* usrptr);

  CryptsetupVolume(std::string path, std::unique_ptr<LogSink> sink, CryptDevicePtr cd);

  // Maps a negative errno from libcryptsetup to a Status "<path>: <what>: <strerror> (<log>)".
  absl::Status Error(int r, absl::string_view what);
  absl::Status CheckKeyslotIndex(int keyslot) const;
  absl::Status CheckTokenIndex(int token_id) const;
  // Whether token `token_id` is active and of type keybroker; FAILED_PRECONDITION if active
  // with another type.
  absl::StatusOr<bool> IsKeybrokerToken(int token_id);
  absl::StatusOr<KeybrokerToken> ReadToken(int token_id);
  absl::Status CheckKeyslotUnreferenced(int keyslot);
  // crypt_activate_by_passphrase with `name` (nullptr: check only) and error mapping.
  absl::Status OpenKeyslot(const char* name, int keyslot, const SecretBytes& key);
  absl::Status CheckDeviceMapper() const;

  std::string path_;
  std::unique_ptr<LogSink> sink_;
  CryptDevicePtr cd_;
};

}  // namespace kb

#endif  // KB_UNLOCKER_LUKS_CRYPTSETUP_VOLUME_H_
