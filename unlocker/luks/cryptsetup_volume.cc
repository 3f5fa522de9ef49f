#include "unlocker/luks/cryptsetup_volume.h"

#include <fcntl.h>
#include <libcryptsetup.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "unlocker/volume/token_json.h"

namespace kb {
namespace {

constexpr uint32_t kPbkdf2Iterations = 1000;  // the minimum: keyslot keys are random
constexpr char kDmControl[] = "/dev/mapper/control";

absl::Status WithPrefix(const absl::Status& status, absl::string_view prefix) {
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

absl::StatusCode CodeForErrno(int err) {
  switch (err) {
    case EPERM:
      return absl::StatusCode::kPermissionDenied;
    case ENOENT:
    case ENODEV:
    case ENXIO:
      return absl::StatusCode::kNotFound;
    case EINVAL:
      return absl::StatusCode::kInvalidArgument;
    case EEXIST:
      return absl::StatusCode::kAlreadyExists;
    case ENOSPC:
      return absl::StatusCode::kResourceExhausted;
    case EIO:
      return absl::StatusCode::kDataLoss;
    default:
      return absl::StatusCode::kInternal;
  }
}

bool IsActive(crypt_keyslot_info info) {
  return info == CRYPT_SLOT_ACTIVE || info == CRYPT_SLOT_ACTIVE_LAST;
}

const char* AsPassphrase(const SecretBytes& key) {
  return reinterpret_cast<const char*>(key.data());
}

}  // namespace

void CryptsetupVolume::CryptFree::operator()(crypt_device* cd) const { crypt_free(cd); }

void CryptsetupVolume::LogCallback(int level, const char* msg, void* usrptr) {
  if (level != CRYPT_LOG_ERROR || msg == nullptr || usrptr == nullptr) return;
  static_cast<LogSink*>(usrptr)->last_error = std::string(absl::StripTrailingAsciiWhitespace(msg));
}

CryptsetupVolume::CryptsetupVolume(std::string path, std::unique_ptr<LogSink> sink,
                                   CryptDevicePtr cd)
    : path_(std::move(path)), sink_(std::move(sink)), cd_(std::move(cd)) {}

CryptsetupVolume::~CryptsetupVolume() = default;

absl::StatusOr<std::unique_ptr<CryptsetupVolume>> CryptsetupVolume::Open(
    const std::string& device_path) {
  struct stat st;
  if (stat(device_path.c_str(), &st) != 0) {
    int err = errno;
    return absl::Status(err == ENOENT ? absl::StatusCode::kNotFound : CodeForErrno(err),
                        absl::StrCat(device_path, ": ", std::strerror(err)));
  }
  if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(device_path, ": not a block device or image file"));
  }
  crypt_device* raw = nullptr;
  int r = crypt_init(&raw, device_path.c_str());
  if (r < 0) {
    return absl::Status(CodeForErrno(-r),
                        absl::StrCat(device_path, ": cannot open device: ", std::strerror(-r)));
  }
  auto sink = std::make_unique<LogSink>();
  crypt_set_log_callback(raw, &LogCallback, sink.get());
  std::unique_ptr<CryptsetupVolume> volume(
      new CryptsetupVolume(device_path, std::move(sink), CryptDevicePtr(raw)));
  r = crypt_load(raw, CRYPT_LUKS2, nullptr);
  if ((r == -EINVAL || r == -ENOENT) && crypt_load(raw, CRYPT_LUKS1, nullptr) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(device_path,
                     " is a LUKS1 volume; keybroker needs LUKS2 (its tokens): back up the header "
                     "(cryptsetup luksHeaderBackup), then run: cryptsetup convert --type luks2 ",
                     device_path));
  }
  if (r == -EINVAL || r == -ENOENT) {
    absl::Status error = volume->Error(r, "not a LUKS2 volume or header corrupt");
    return absl::InvalidArgumentError(error.message());
  }
  if (r < 0) return volume->Error(r, "cannot load LUKS2 header");
  return volume;
}

absl::Status CryptsetupVolume::Error(int r, absl::string_view what) {
  std::string message = absl::StrCat(path_, ": ", what, ": ", std::strerror(-r));
  if (!sink_->last_error.empty()) {
    absl::StrAppend(&message, " (", sink_->last_error, ")");
    sink_->last_error.clear();
  }
  return absl::Status(CodeForErrno(-r), message);
}

absl::Status CryptsetupVolume::CheckKeyslotIndex(int keyslot) const {
  int max = crypt_keyslot_max(CRYPT_LUKS2);
  if (keyslot < 0 || keyslot >= max) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": keyslot ", keyslot, " out of range 0..", max - 1));
  }
  return absl::OkStatus();
}

absl::Status CryptsetupVolume::CheckTokenIndex(int token_id) const {
  int max = crypt_token_max(CRYPT_LUKS2);
  if (token_id < 0 || token_id >= max) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": token ", token_id, " out of range 0..", max - 1));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> CryptsetupVolume::IsKeybrokerToken(int token_id) {
  const char* type = nullptr;
  crypt_token_info info = crypt_token_status(cd_.get(), token_id, &type);
  if (info == CRYPT_TOKEN_INVALID || info == CRYPT_TOKEN_INACTIVE) return false;
  if (type != nullptr && std::strcmp(type, kKeybrokerTokenType) == 0) return true;
  return absl::FailedPreconditionError(absl::StrCat(path_, ": token ", token_id, " has type \"",
                                                    type ? type : "", "\", not \"",
                                                    kKeybrokerTokenType, "\"; not touching it"));
}

absl::StatusOr<KeybrokerToken> CryptsetupVolume::ReadToken(int token_id) {
  const char* json = nullptr;
  int r = crypt_token_json_get(cd_.get(), token_id, &json);
  if (r < 0) return Error(r, absl::StrCat("cannot read token ", token_id));
  auto token = KeybrokerTokenFromJson(json);
  if (!token.ok()) {
    return WithPrefix(token.status(), absl::StrCat(path_, ": token ", token_id, ": "));
  }
  token->token_id = token_id;
  return token;
}

absl::StatusOr<std::vector<KeybrokerToken>> CryptsetupVolume::ListTokens() {
  std::vector<KeybrokerToken> tokens;
  int max = crypt_token_max(CRYPT_LUKS2);
  for (int id = 0; id < max; ++id) {
    const char* type = nullptr;
    crypt_token_info info = crypt_token_status(cd_.get(), id, &type);
    if (info == CRYPT_TOKEN_INVALID || info == CRYPT_TOKEN_INACTIVE) continue;
    if (type == nullptr || std::strcmp(type, kKeybrokerTokenType) != 0) continue;
    ASSIGN_OR_RETURN(KeybrokerToken token, ReadToken(id));
    tokens.push_back(std::move(token));
  }
  return tokens;
}

absl::StatusOr<std::vector<KeyslotInfo>> CryptsetupVolume::ListKeyslots() {
  std::vector<KeyslotInfo> slots;
  int max = crypt_keyslot_max(CRYPT_LUKS2);
  for (int slot = 0; slot < max; ++slot) {
    crypt_keyslot_info info = crypt_keyslot_status(cd_.get(), slot);
    switch (info) {
      case CRYPT_SLOT_INVALID:
        return absl::InternalError(absl::StrCat(path_, ": keyslot ", slot, " is invalid"));
      case CRYPT_SLOT_INACTIVE:
        slots.push_back({slot, "inactive"});
        break;
      case CRYPT_SLOT_UNBOUND:
        slots.push_back({slot, "unbound"});
        break;
      default:
        slots.push_back({slot, "active"});
        break;
    }
  }
  return slots;
}

absl::StatusOr<int> CryptsetupVolume::AddKeyslot(const SecretBytes& existing,
                                                 const SecretBytes& new_key) {
  if (existing.empty() || new_key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": empty passphrase or key"));
  }
  crypt_pbkdf_type pbkdf = {};
  pbkdf.type = CRYPT_KDF_PBKDF2;
  pbkdf.hash = "sha256";
  pbkdf.iterations = kPbkdf2Iterations;
  pbkdf.flags = CRYPT_PBKDF_NO_BENCHMARK;
  int r = crypt_set_pbkdf_type(cd_.get(), &pbkdf);
  if (r < 0) return Error(r, "cannot set PBKDF2 parameters");
  absl::Cleanup reset_pbkdf = [this] { crypt_set_pbkdf_type(cd_.get(), nullptr); };

  r = crypt_keyslot_add_by_passphrase(cd_.get(), CRYPT_ANY_SLOT, AsPassphrase(existing),
                                      existing.size(), AsPassphrase(new_key), new_key.size());
  if (r == -EPERM) {
    sink_->last_error.clear();
    return absl::PermissionDeniedError(
        absl::StrCat(path_, ": existing passphrase opens no keyslot"));
  }
  if (r < 0) return Error(r, "cannot add keyslot");
  return r;
}

absl::StatusOr<int> CryptsetupVolume::WriteToken(const KeybrokerToken& token) {
  ASSIGN_OR_RETURN(std::string json, KeybrokerTokenToJson(token));
  RETURN_IF_ERROR(CheckKeyslotIndex(token.keyslot));
  if (!IsActive(crypt_keyslot_status(cd_.get(), token.keyslot))) {
    return absl::NotFoundError(absl::StrCat(path_, ": keyslot ", token.keyslot, " is not active"));
  }
  int id = CRYPT_ANY_TOKEN;
  if (token.token_id != -1) {
    RETURN_IF_ERROR(CheckTokenIndex(token.token_id));
    RETURN_IF_ERROR(IsKeybrokerToken(token.token_id).status());
    id = token.token_id;
  }
  int r = crypt_token_json_set(cd_.get(), id, json.c_str());
  if (r < 0) return Error(r, "cannot write token");
  return r;
}

absl::Status CryptsetupVolume::RemoveToken(int token_id) {
  RETURN_IF_ERROR(CheckTokenIndex(token_id));
  ASSIGN_OR_RETURN(bool is_keybroker, IsKeybrokerToken(token_id));
  if (!is_keybroker) {
    return absl::NotFoundError(absl::StrCat(path_, ": token ", token_id, " does not exist"));
  }
  int r = crypt_token_json_set(cd_.get(), token_id, nullptr);
  if (r < 0) return Error(r, absl::StrCat("cannot remove token ", token_id));
  return absl::OkStatus();
}

absl::Status CryptsetupVolume::CheckKeyslotUnreferenced(int keyslot) {
  int max = crypt_token_max(CRYPT_LUKS2);
  for (int id = 0; id < max; ++id) {
    const char* type = nullptr;
    crypt_token_info info = crypt_token_status(cd_.get(), id, &type);
    if (info == CRYPT_TOKEN_INVALID || info == CRYPT_TOKEN_INACTIVE) continue;
    if (type == nullptr || std::strcmp(type, kKeybrokerTokenType) != 0) continue;
    if (crypt_token_is_assigned(cd_.get(), id, keyslot) == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          path_, ": keybroker token ", id, " refers to keyslot ", keyslot, "; remove it first"));
    }
  }
  return absl::OkStatus();
}

absl::Status CryptsetupVolume::RemoveKeyslot(int keyslot) {
  RETURN_IF_ERROR(CheckKeyslotIndex(keyslot));
  crypt_keyslot_info info = crypt_keyslot_status(cd_.get(), keyslot);
  if (info == CRYPT_SLOT_INACTIVE || info == CRYPT_SLOT_INVALID) {
    return absl::NotFoundError(absl::StrCat(path_, ": keyslot ", keyslot, " is not active"));
  }
  if (info == CRYPT_SLOT_ACTIVE_LAST) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_, ": refusing to remove keyslot ", keyslot, ", the last one"));
  }
  RETURN_IF_ERROR(CheckKeyslotUnreferenced(keyslot));
  int r = crypt_keyslot_destroy(cd_.get(), keyslot);
  if (r < 0) return Error(r, absl::StrCat("cannot remove keyslot ", keyslot));
  return absl::OkStatus();
}

absl::Status CryptsetupVolume::OpenKeyslot(const char* name, int keyslot, const SecretBytes& key) {
  RETURN_IF_ERROR(CheckKeyslotIndex(keyslot));
  if (key.empty()) return absl::InvalidArgumentError(absl::StrCat(path_, ": empty key"));
  int r = crypt_activate_by_passphrase(cd_.get(), name, keyslot, AsPassphrase(key), key.size(), 0);
  if (r >= 0) return absl::OkStatus();
  if (r == -EPERM) {
    sink_->last_error.clear();
    return absl::PermissionDeniedError(
        absl::StrCat(path_, ": key does not open keyslot ", keyslot));
  }
  if (r == -ENOENT) {
    sink_->last_error.clear();
    return absl::NotFoundError(absl::StrCat(path_, ": keyslot ", keyslot, " is not active"));
  }
  return Error(r, name == nullptr ? absl::StrCat("cannot check keyslot ", keyslot)
                                  : absl::StrCat("cannot activate as ", name));
}

absl::Status CryptsetupVolume::CheckDeviceMapper() const {
  // libcryptsetup checks device-mapper before the key and then reports a misleading
  // "name is invalid or still in use"; say what is wrong instead.
  int fd = open(kDmControl, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return absl::FailedPreconditionError(absl::StrCat(path_, ": device-mapper unavailable (",
                                                      kDmControl, ": ", std::strerror(err),
                                                      "); is dm_crypt loaded and are we root?"));
  }
  close(fd);
  return absl::OkStatus();
}

absl::Status CryptsetupVolume::VerifyKey(int keyslot, const SecretBytes& key) {
  return OpenKeyslot(nullptr, keyslot, key);
}

absl::Status CryptsetupVolume::VerifyPassphrase(const SecretBytes& passphrase) {
  if (passphrase.empty())
    return absl::InvalidArgumentError(absl::StrCat(path_, ": empty passphrase"));
  const int r = crypt_activate_by_passphrase(cd_.get(), nullptr, CRYPT_ANY_SLOT,
                                             AsPassphrase(passphrase), passphrase.size(), 0);
  if (r >= 0) return absl::OkStatus();
  if (r == -EPERM) {
    sink_->last_error.clear();
    return absl::PermissionDeniedError(absl::StrCat(path_, ": the passphrase opens no keyslot"));
  }
  return Error(r, "cannot check the passphrase");
}

absl::Status CryptsetupVolume::Activate(const std::string& name, int keyslot,
                                        const SecretBytes& key) {
  if (name.empty() || name.size() > 127 || name.find('/') != std::string::npos || name == "." ||
      name == "..") {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": invalid mapping name"));
  }
  RETURN_IF_ERROR(CheckDeviceMapper());
  return OpenKeyslot(name.c_str(), keyslot, key);
}

std::string CryptsetupVolume::uuid() const {
  const char* uuid = crypt_get_uuid(cd_.get());
  return uuid == nullptr ? "" : uuid;
}

void DisableExternalTokenPlugins() { crypt_token_external_disable(); }

}  // namespace kb
