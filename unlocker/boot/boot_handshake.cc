#include "unlocker/boot/boot_handshake.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "unlocker/exit/exit_codes.h"

namespace kb {
namespace {

void Add(std::vector<std::string>& list, const std::string& attester) {
  if (std::find(list.begin(), list.end(), attester) == list.end()) list.push_back(attester);
}

const std::string& PathOf(const std::string& attester, const AttesterPaths& paths) {
  if (attester == "snp") return paths.sev_guest;
  if (attester == "tdx") return paths.tsm_report_dir;
  return paths.tpm;
}

std::string Describe(const std::string& attester, const AttesterPaths& paths) {
  const std::string& path = PathOf(attester, paths);
  if (attester == "snp") return absl::StrCat("the SEV-SNP guest device (", path, ")");
  if (attester == "tdx") return absl::StrCat("the TDX quote interface (", path, ")");
  return absl::StrCat("the TPM (", path, ")");
}

// An attester without a path to wait for (a TCTI that is not a device node) counts as there.
bool Present(const std::string& attester, const AttesterPaths& paths) {
  const std::string& path = PathOf(attester, paths);
  return path.empty() || access(path.c_str(), F_OK) == 0;
}

}  // namespace

std::vector<std::string> AttestersNeeded(const std::vector<KeybrokerToken>& tokens,
                                         absl::string_view forced) {
  std::vector<std::string> needed;
  for (const KeybrokerToken& t : tokens) {
    const std::string kind = forced.empty() || forced == "auto" ? t.evidence : std::string(forced);
    const bool tee = kind == "snp" || kind == "tdx";
    Add(needed, tee ? kind : "tpm");  // tpm and azure evidence come from the vTPM
    // The vTPM that wrote the token (its identity is checked, the offline copy refreshed) or
    // holds its offline copy.
    if (tee && (t.offline.has_value() || !t.vtpm.empty())) Add(needed, "tpm");
  }
  return needed;
}

std::string TpmDevicePath(const std::string& tcti) {
  if (!absl::StartsWith(tcti, "device:")) return "";
  return tcti.substr(std::strlen("device:"));
}

absl::Status WaitForAttesters(const std::vector<std::string>& needed, const AttesterPaths& paths,
                              absl::Duration wait,
                              const std::function<void(const std::string&)>& say) {
  const absl::Time limit = absl::Now() + wait;
  auto all_present = [&] {
    return std::all_of(needed.begin(), needed.end(),
                       [&](const std::string& a) { return Present(a, paths); });
  };
  while (!all_present() && absl::Now() < limit) absl::SleepFor(absl::Milliseconds(20));
  std::vector<std::string> missing;
  for (const std::string& attester : needed) {
    if (!Present(attester, paths)) missing.push_back(Describe(attester, paths));
  }
  const std::string after = absl::FormatDuration(wait);
  if (!needed.empty() && missing.size() == needed.size()) {
    return WithExitCode(absl::UnavailableError(absl::StrCat(
                            "nothing to attest with: ", absl::StrJoin(missing, " and "),
                            " did not appear within ", after)),
                        ExitCode::kTpmUnavailable);
  }
  for (const std::string& m : missing) {
    say(absl::StrCat(m, " did not appear within ", after,
                     "; volumes that need it fall back to the passphrase"));
  }
  return absl::OkStatus();
}

absl::Status RequestNetwork(const std::string& path) {
  // O_NONBLOCK: a FIFO without a reader fails at once (ENXIO) rather than blocking.
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot open ", path, " (asks for the network): ", std::strerror(errno)));
  }
  static constexpr char kLine[] = "network\n";
  const ssize_t n = write(fd, kLine, sizeof(kLine) - 1);
  const int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(sizeof(kLine) - 1)) {
    return absl::InternalError(absl::StrCat("cannot write to ", path, " (asks for the network): ",
                                            n < 0 ? std::strerror(err) : "short write"));
  }
  return absl::OkStatus();
}

}  // namespace kb
