#ifndef KB_UNLOCKER_EVIDENCE_TDX_QUOTE_SOURCE_H_
#define KB_UNLOCKER_EVIDENCE_TDX_QUOTE_SOURCE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "unlocker/evidence/evidence_source.h"
#include "unlocker/evidence/software_transfer_key.h"

namespace kb {

inline constexpr char kDefaultTsmReportRoot[] = "/sys/kernel/config/tsm/report";

// The file operations the configfs-tsm report interface needs (Linux
// Documentation/ABI/testing/configfs-tsm), behind an interface so the request handling is
// testable without TDX hardware. Implementations need not be thread-safe.
class TsmReportFs {
 public:
  virtual ~TsmReportFs() = default;
  // mkdir (creates a report entry). ALREADY_EXISTS, or UNAVAILABLE with strerror.
  virtual absl::Status MakeDir(const std::string& path) = 0;
  // rmdir (releases the entry).
  virtual absl::Status RemoveDir(const std::string& path) = 0;
  // Writes `data` to an existing attribute in one write(). UNAVAILABLE/INTERNAL with strerror.
  virtual absl::Status WriteFile(const std::string& path, absl::string_view data) = 0;
  // Reads an attribute to its end. NOT_FOUND if it does not exist.
  virtual absl::StatusOr<std::string> ReadFile(const std::string& path) = 0;
};

// TsmReportFs on the real file system. Untested on TDX hardware.
class PosixTsmReportFs final : public TsmReportFs {
 public:
  absl::Status MakeDir(const std::string& path) override;
  absl::Status RemoveDir(const std::string& path) override;
  absl::Status WriteFile(const std::string& path, absl::string_view data) override;
  absl::StatusOr<std::string> ReadFile(const std::string& path) override;
};

// Gets a TD quote through configfs-tsm: creates `root`/`entry`, checks its provider is
// "tdx_guest" (when the attribute exists), writes inblob = binding || zeros (64 bytes), reads
// outblob and removes the entry again. INVALID_ARGUMENT for a binding over 64 bytes;
// FAILED_PRECONDITION for another provider; ABORTED if the entry's generation changed while
// reading (another writer); UNAVAILABLE when `root` is missing; INTERNAL for an empty quote.
absl::StatusOr<std::string> GetTdxQuote(TsmReportFs& fs, const std::string& root,
                                        const std::string& entry, absl::string_view binding);

// Evidence kind "tdx": a TD quote from configfs-tsm with a software P-256 transfer key
// (TransferKey.spki_der). Not thread-safe.
class TdxQuoteSource final : public EvidenceSource {
 public:
  // `root`: the configfs-tsm report directory (default kDefaultTsmReportRoot).
  TdxQuoteSource(std::unique_ptr<TsmReportFs> fs, std::string root)
      : fs_(std::move(fs)), root_(std::move(root)) {}

  absl::string_view Name() const override { return "TDX"; }
  // Only kEccP256 (INVALID_ARGUMENT otherwise).
  absl::StatusOr<std::string> NewTransferKey(TransferKeyType type) override;
  // `pcrs` are ignored (RTMRs are in the quote).
  absl::StatusOr<AttestedTransferKey> Attest(absl::string_view binding,
                                             const std::vector<uint32_t>& pcrs) override;
  absl::StatusOr<SecretBytes> Unwrap(const v1::WrappedKey& wrapped) override;

 private:
  std::unique_ptr<TsmReportFs> fs_;
  std::string root_;
  std::unique_ptr<SoftwareTransferKey> key_;
};

}  // namespace kb

#endif  // KB_UNLOCKER_EVIDENCE_TDX_QUOTE_SOURCE_H_
