#include "keybroker/kek/kek_provider.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "keybroker/kek/deadline_bound_kek.h"
#include "keybroker/kek/kek_file.h"
#include "keybroker/kek/pkcs11_kek.h"

namespace kb {
namespace {

// Calls to an HSM that may be queued or running at once, beyond which a call fails at once (a
// hung HSM holds at most this many threads). Each running call holds one of the token's sessions.
constexpr size_t kMaxHsmCalls = 32;

Pkcs11KekLocation Location(const v1::Pkcs11Kek& config) {
  return {config.module(), config.token_label(), config.key_label()};
}

// The user PIN: a private file; one trailing newline (from `echo`) is not part of it.
absl::StatusOr<SecretBytes> ReadPin(const std::string& path) {
  ASSIGN_OR_RETURN(SecretBytes pin, ReadPrivateSecretFile(path));
  if (!pin.empty() && pin.data()[pin.size() - 1] == '\n') pin.resize(pin.size() - 1);
  if (pin.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": the PIN is empty"));
  return pin;
}

absl::Status CreateKekFile(const std::string& path) {
  ASSIGN_OR_RETURN(SecretBytes key, RandomSecret(32));
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) {
    return absl::AlreadyExistsError(absl::StrCat(path, " already exists: a KEK is never replaced"));
  }
  if (fd < 0) return absl::PermissionDeniedError(absl::StrCat(path, ": ", std::strerror(errno)));
  const bool written =
      write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && fsync(fd) == 0;
  const int saved = errno;
  close(fd);
  if (!written) {
    unlink(path.c_str());
    return absl::InternalError(absl::StrCat("writing ", path, ": ", std::strerror(saved)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Kek>> LoadKek(const v1::KekConfig& config,
                                             std::shared_ptr<KekCallTally> tally) {
  switch (config.source_case()) {
    case v1::KekConfig::kFile:
      return LoadKekFile(config.file());
    case v1::KekConfig::kPkcs11: {
      ASSIGN_OR_RETURN(SecretBytes pin, ReadPin(config.pkcs11().pin_file()));
      ASSIGN_OR_RETURN(std::unique_ptr<Pkcs11Kek> kek,
                       Pkcs11Kek::Open(Location(config.pkcs11()), std::move(pin)));
      return std::unique_ptr<Kek>(
          std::make_unique<DeadlineBoundKek>(std::move(kek), kMaxHsmCalls, std::move(tally)));
    }
    case v1::KekConfig::SOURCE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("no KEK configured (kek_file or kek)");
}

absl::StatusOr<KekSet> LoadKeks(const v1::BrokerConfig& config,
                                const std::shared_ptr<KekCallTally>& tally) {
  KekSet keks;
  ASSIGN_OR_RETURN(keks.current, LoadKek(config.kek(), tally));
  for (int i = 0; i < config.previous_keks_size(); ++i) {
    auto previous = LoadKek(config.previous_keks(i), tally);
    if (!previous.ok()) {
      return absl::Status(previous.status().code(),
                          absl::StrCat("previous_keks[", i, "]: ", previous.status().message()));
    }
    keks.previous.push_back(std::move(*previous));
  }
  return keks;
}

absl::StatusOr<std::string> CreateKek(const v1::KekConfig& config) {
  if (config.source_case() == v1::KekConfig::kPkcs11) {
    ASSIGN_OR_RETURN(SecretBytes pin, ReadPin(config.pkcs11().pin_file()));
    RETURN_IF_ERROR(Pkcs11Kek::Generate(Location(config.pkcs11()), std::move(pin)));
  } else if (config.source_case() == v1::KekConfig::kFile) {
    RETURN_IF_ERROR(CreateKekFile(config.file()));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Kek> kek, LoadKek(config));
  return kek->Describe();
}

}  // namespace kb
