#include "unlocker/evidence/snp_report_source.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace kb {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kFirstCertsLen = 4 * kPage;
constexpr size_t kMaxCertsLen = 1 << 20;
constexpr size_t kReportSize = 1184;
constexpr size_t kReportOffset = 0x20;  // MSG_REPORT_RSP: status, report_size, 24 reserved
constexpr size_t kCertEntrySize = 24;

uint32_t Le32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return u[0] | (u[1] << 8) | (u[2] << 16) | (static_cast<uint32_t>(u[3]) << 24);
}

struct Attempt {
  int err = 0;
  uint32_t fw_error = 0;
  uint32_t vmm_error = 0;
  uint32_t certs_len = 0;  // as the driver left it
};

Attempt Issue(SevGuestDevice& device, snp_ext_report_req& req, snp_report_resp& resp,
              std::vector<char>& certs) {
  req.certs_address = reinterpret_cast<uintptr_t>(certs.data());
  req.certs_len = static_cast<uint32_t>(certs.size());
  std::memset(&resp, 0, sizeof(resp));
  snp_guest_request_ioctl ioctl_req{};
  ioctl_req.msg_version = 1;
  ioctl_req.req_data = reinterpret_cast<uintptr_t>(&req);
  ioctl_req.resp_data = reinterpret_cast<uintptr_t>(&resp);
  Attempt a;
  a.err = device.GetExtReport(ioctl_req);
  a.fw_error = static_cast<uint32_t>(ioctl_req.exitinfo2 & 0xffffffffu);
  a.vmm_error = static_cast<uint32_t>(ioctl_req.exitinfo2 >> 32);
  a.certs_len = req.certs_len;
  return a;
}

absl::Status IoctlError(const Attempt& a) {
  const std::string detail =
      absl::StrFormat("SNP_GET_EXT_REPORT: %s (fw_error 0x%x, vmm_error %u)",
                      a.err != 0 ? std::strerror(a.err) : "error", a.fw_error, a.vmm_error);
  if (a.vmm_error == SNP_GUEST_VMM_ERR_BUSY || a.err == EAGAIN) {
    return absl::UnavailableError(detail);
  }
  return absl::InternalError(detail);
}

absl::StatusOr<std::string> ReportFromResponse(const snp_report_resp& resp) {
  const char* data = reinterpret_cast<const char*>(resp.data);
  const uint32_t status = Le32(data);
  const uint32_t size = Le32(data + 4);
  if (status != 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("SNP firmware refused the report request (status 0x%x)", status));
  }
  if (size != kReportSize) {
    return absl::InternalError(absl::StrCat("SNP report has size ", size, ", want ", kReportSize));
  }
  return std::string(data + kReportOffset, kReportSize);
}

}  // namespace

absl::StatusOr<std::unique_ptr<DevSevGuest>> DevSevGuest::Open(const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<DevSevGuest>(new DevSevGuest(fd));
}

DevSevGuest::~DevSevGuest() { close(fd_); }

int DevSevGuest::GetExtReport(snp_guest_request_ioctl& request) {
  if (ioctl(fd_, SNP_GET_EXT_REPORT, &request) == 0) return 0;
  return errno;
}

absl::StatusOr<std::string> TrimCertTable(absl::string_view certs) {
  size_t end = 0;
  for (size_t at = 0;; at += kCertEntrySize) {
    if (at + kCertEntrySize > certs.size()) {
      return absl::InternalError("SNP certificate table has no terminating entry");
    }
    const absl::string_view entry = certs.substr(at, kCertEntrySize);
    if (entry.find_first_not_of('\0') == absl::string_view::npos) {
      if (at == 0) return std::string();
      end = std::max(end, at + kCertEntrySize);
      break;
    }
    const uint64_t offset = Le32(entry.data() + 16);
    const uint64_t length = Le32(entry.data() + 20);
    if (offset + length > certs.size()) {
      return absl::InternalError("SNP certificate table entry points past the buffer");
    }
    end = std::max<size_t>(end, offset + length);
  }
  return std::string(certs.substr(0, end));
}

absl::StatusOr<SnpExtReport> GetSnpExtReport(SevGuestDevice& device, absl::string_view binding) {
  snp_ext_report_req req{};
  if (binding.size() > sizeof(req.data.user_data)) {
    return absl::InvalidArgumentError("SNP report data is at most 64 bytes");
  }
  std::memcpy(req.data.user_data, binding.data(), binding.size());
  req.data.vmpl = 0;
  snp_report_resp resp{};
  std::vector<char> certs(kFirstCertsLen, '\0');
  Attempt a = Issue(device, req, resp, certs);
  if (a.err != 0 && a.vmm_error == SNP_GUEST_VMM_ERR_INVALID_LEN) {
    const size_t want = (static_cast<size_t>(a.certs_len) + kPage - 1) / kPage * kPage;
    if (want <= certs.size() || want > kMaxCertsLen) {
      return absl::InternalError(absl::StrCat(
          "SNP_GET_EXT_REPORT asks for an unusable certificate buffer of ", a.certs_len, " bytes"));
    }
    certs.assign(want, '\0');
    a = Issue(device, req, resp, certs);
  }
  if (a.err != 0 || a.fw_error != 0) return IoctlError(a);
  SnpExtReport out;
  ASSIGN_OR_RETURN(out.report, ReportFromResponse(resp));
  ASSIGN_OR_RETURN(out.cert_table, TrimCertTable(absl::string_view(certs.data(), certs.size())));
  return out;
}

absl::StatusOr<std::string> SnpReportSource::NewTransferKey(TransferKeyType type) {
  ASSIGN_OR_RETURN(key_, NewSoftwareTransferKey(type));
  return key_->spki_der();
}

absl::StatusOr<AttestedTransferKey> SnpReportSource::Attest(absl::string_view binding,
                                                            const std::vector<uint32_t>&) {
  if (!key_) return absl::FailedPreconditionError("no transfer key");
  ASSIGN_OR_RETURN(SnpExtReport report, GetSnpExtReport(*device_, binding));
  AttestedTransferKey out;
  v1::SnpReportEvidence* snp = out.evidence.mutable_snp_report();
  snp->set_report(std::move(report.report));
  snp->set_cert_table(std::move(report.cert_table));
  out.transfer_key.set_spki_der(key_->spki_der());
  return out;
}

absl::StatusOr<SecretBytes> SnpReportSource::Unwrap(const v1::WrappedKey& wrapped) {
  if (!key_) return absl::FailedPreconditionError("no transfer key");
  return key_->Unwrap(wrapped);
}

}  // namespace kb
