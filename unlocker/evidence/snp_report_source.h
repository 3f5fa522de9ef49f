#ifndef KB_UNLOCKER_EVIDENCE_SNP_REPORT_SOURCE_H_
#define KB_UNLOCKER_EVIDENCE_SNP_REPORT_SOURCE_H_

#include <linux/sev-guest.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "unlocker/evidence/evidence_source.h"
#include "unlocker/evidence/software_transfer_key.h"

namespace kb {

inline constexpr char kDefaultSevGuestPath[] = "/dev/sev-guest";

// The SNP_GET_EXT_REPORT ioctl of the Linux sev-guest driver (linux/sev-guest.h), behind an
// interface so the request/response handling is testable without SEV-SNP hardware.
// Implementations need not be thread-safe.
class SevGuestDevice {
 public:
  virtual ~SevGuestDevice() = default;
  // Issues SNP_GET_EXT_REPORT. `request.req_data` points to a struct snp_ext_report_req and
  // `request.resp_data` to a struct snp_report_resp; the driver fills the response, the
  // certificate buffer, `exitinfo2`, and (when the buffer is too small) the needed certs_len.
  // Returns 0 or the errno.
  virtual int GetExtReport(snp_guest_request_ioctl& request) = 0;
};

// SevGuestDevice on a device node (default /dev/sev-guest). Untested on hardware.
class DevSevGuest final : public SevGuestDevice {
 public:
  // Opens `path` read-write. UNAVAILABLE if it cannot be opened.
  static absl::StatusOr<std::unique_ptr<DevSevGuest>> Open(const std::string& path);
  ~DevSevGuest() override;
  DevSevGuest(const DevSevGuest&) = delete;
  DevSevGuest& operator=(const DevSevGuest&) = delete;
  int GetExtReport(snp_guest_request_ioctl& request) override;

 private:
  explicit DevSevGuest(int fd) : fd_(fd) {}
  int fd_;
};

// An SEV-SNP extended report: the raw ATTESTATION_REPORT and the host's certificate table.
struct SnpExtReport {
  std::string report;      // 1184 bytes
  std::string cert_table;  // trimmed to its entries and certificates; empty if the host has none
};

// Requests a report at VMPL 0 with REPORT_DATA = binding || zeros (64 bytes). Starts with a
// 16 KiB certificate buffer and, when the driver answers that it is too small (vmm_error
// SNP_GUEST_VMM_ERR_INVALID_LEN), retries once with the size it asks for (page-aligned, at most
// 1 MiB). INVALID_ARGUMENT if `binding` is longer than 64 bytes; UNAVAILABLE if the firmware is
// busy; FAILED_PRECONDITION for a firmware error status; INTERNAL for other ioctl errors or a
// malformed response or certificate table (the message names errno and fw/vmm error codes).
absl::StatusOr<SnpExtReport> GetSnpExtReport(SevGuestDevice& device, absl::string_view binding);

// The certificate table (16-byte GUID, u32 LE offset, u32 LE length entries ended by an all-zero
// entry) cut to the end of its last entry or certificate. INTERNAL if an entry points outside
// `certs` or the table has no terminator; an empty string when the first entry is the
// terminator.
absl::StatusOr<std::string> TrimCertTable(absl::string_view certs);

// Evidence kind "snp": an SEV-SNP extended report from the sev-guest driver with a software
// P-256 transfer key (TransferKey.spki_der). The VCEK comes from the certificate table, which
// the host must provide. Not thread-safe.
class SnpReportSource final : public EvidenceSource {
 public:
  explicit SnpReportSource(std::unique_ptr<SevGuestDevice> device) : device_(std::move(device)) {}

  absl::string_view Name() const override { return "SEV-SNP"; }
  // Only kEccP256 (INVALID_ARGUMENT otherwise).
  absl::StatusOr<std::string> NewTransferKey(TransferKeyType type) override;
  // `pcrs` are ignored (an SNP report has no PCRs).
  absl::StatusOr<AttestedTransferKey> Attest(absl::string_view binding,
                                             const std::vector<uint32_t>& pcrs) override;
  absl::StatusOr<SecretBytes> Unwrap(const v1::WrappedKey& wrapped) override;

 private:
  std::unique_ptr<SevGuestDevice> device_;
  std::unique_ptr<SoftwareTransferKey> key_;
};

}  // namespace kb

#endif  // KB_UNLOCKER_EVIDENCE_SNP_REPORT_SOURCE_H_
