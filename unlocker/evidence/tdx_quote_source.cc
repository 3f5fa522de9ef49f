#include "unlocker/evidence/tdx_quote_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace kb {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  const int err = errno;
  const std::string msg = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  if (err == EEXIST) return absl::AlreadyExistsError(msg);
  if (err == ENOENT) return absl::NotFoundError(msg);
  return absl::UnavailableError(msg);
}

}  // namespace

absl::Status PosixTsmReportFs::MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) != 0) return Errno("mkdir", path);
  return absl::OkStatus();
}

absl::Status PosixTsmReportFs::RemoveDir(const std::string& path) {
  if (rmdir(path.c_str()) != 0) return Errno("rmdir", path);
  return absl::OkStatus();
}

absl::Status PosixTsmReportFs::WriteFile(const std::string& path, absl::string_view data) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  absl::Cleanup closer = [fd] { close(fd); };
  const ssize_t n = write(fd, data.data(), data.size());
  if (n < 0) return Errno("write", path);
  if (static_cast<size_t>(n) != data.size()) {
    return absl::InternalError(absl::StrCat("short write to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> PosixTsmReportFs::ReadFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  absl::Cleanup closer = [fd] { close(fd); };
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("read", path);
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

absl::StatusOr<std::string> GetTdxQuote(TsmReportFs& fs, const std::string& root,
                                        const std::string& entry, absl::string_view binding) {
  if (binding.size() > 64) return absl::InvalidArgumentError("TDX report data is at most 64 bytes");
  const std::string dir = absl::StrCat(root, "/", entry);
  absl::Status made = fs.MakeDir(dir);
  if (absl::IsNotFound(made)) {
    return absl::UnavailableError(absl::StrCat("configfs-tsm: ", made.message()));
  }
  RETURN_IF_ERROR(made);
  absl::Cleanup remove = [&fs, &dir] { fs.RemoveDir(dir).IgnoreError(); };
  auto provider = fs.ReadFile(dir + "/provider");
  if (provider.ok() && absl::StripAsciiWhitespace(*provider) != "tdx_guest") {
    return absl::FailedPreconditionError(absl::StrCat(
        "configfs-tsm provider is '", absl::StripAsciiWhitespace(*provider), "', not tdx_guest"));
  }
  if (!provider.ok() && !absl::IsNotFound(provider.status())) return provider.status();
  std::string inblob(binding);
  inblob.resize(64, '\0');
  RETURN_IF_ERROR(fs.WriteFile(dir + "/inblob", inblob));
  ASSIGN_OR_RETURN(std::string generation, fs.ReadFile(dir + "/generation"));
  ASSIGN_OR_RETURN(std::string quote, fs.ReadFile(dir + "/outblob"));
  ASSIGN_OR_RETURN(std::string after, fs.ReadFile(dir + "/generation"));
  if (generation != after) {
    return absl::AbortedError("configfs-tsm report entry was rewritten while reading the quote");
  }
  if (quote.empty()) return absl::InternalError("configfs-tsm returned an empty TD quote");
  return quote;
}

absl::StatusOr<std::string> TdxQuoteSource::NewTransferKey(TransferKeyType type) {
  ASSIGN_OR_RETURN(key_, NewSoftwareTransferKey(type));
  return key_->spki_der();
}

absl::StatusOr<AttestedTransferKey> TdxQuoteSource::Attest(absl::string_view binding,
                                                           const std::vector<uint32_t>&) {
  if (!key_) return absl::FailedPreconditionError("no transfer key");
  const std::string entry = absl::StrCat("kbunlock-", getpid());
  ASSIGN_OR_RETURN(std::string quote, GetTdxQuote(*fs_, root_, entry, binding));
  AttestedTransferKey out;
  out.evidence.mutable_tdx_quote()->set_quote(std::move(quote));
  out.transfer_key.set_spki_der(key_->spki_der());
  return out;
}

absl::StatusOr<SecretBytes> TdxQuoteSource::Unwrap(const v1::WrappedKey& wrapped) {
  if (!key_) return absl::FailedPreconditionError("no transfer key");
  return key_->Unwrap(wrapped);
}

}  // namespace kb
