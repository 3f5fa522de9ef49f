#include "tests/fakes/software_sev_guest.h"

#include <openssl/ecdsa.h>
#include <openssl/err.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/files.h"

namespace kb {
namespace {

constexpr size_t kReportSize = 1184;
constexpr size_t kReportDataOffset = 0x50;
constexpr size_t kVmplOffset = 0x30;
constexpr size_t kSignedSize = 0x2A0;
constexpr size_t kSignatureComponent = 72;
// The certificate table GUID of the VCEK (63da758d-e664-4564-adc5-f4b93be8accd), as stored.
constexpr unsigned char kVcekGuid[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                         0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};

void PutLe32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// One VCEK entry, the all-zero terminator, then the certificate.
std::string CertTable(const std::string& vcek_der) {
  std::string table(48, '\0');
  std::memcpy(table.data(), kVcekGuid, sizeof(kVcekGuid));
  PutLe32(table.data() + 16, 48);
  PutLe32(table.data() + 20, static_cast<uint32_t>(vcek_der.size()));
  return table + vcek_der;
}

absl::StatusOr<std::string> ReadPart(const std::string& dir, const std::string& name) {
  auto bytes = ReadFile(dir + "/" + name);
  if (!bytes.ok()) {
    return absl::UnavailableError(absl::StrCat("software SEV-SNP firmware: ", dir, "/", name, ": ",
                                               bytes.status().message()));
  }
  return *bytes;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SoftwareSevGuest>> SoftwareSevGuest::Load(const std::string& dir) {
  auto report = ReadPart(dir, "report.bin");
  if (!report.ok()) return report.status();
  auto vcek = ReadPart(dir, "vcek.der");
  if (!vcek.ok()) return vcek.status();
  auto key_pem = ReadPart(dir, "vcek.key");
  if (!key_pem.ok()) return key_pem.status();
  if (report->size() != kReportSize) {
    return absl::UnavailableError(absl::StrCat("software SEV-SNP firmware: ", dir,
                                               "/report.bin has ", report->size(), " bytes"));
  }
  auto key = ParsePemPrivateKey(*key_pem);
  if (!key.ok()) {
    return absl::UnavailableError(
        absl::StrCat("software SEV-SNP firmware: ", dir, "/vcek.key: ", key.status().message()));
  }
  return std::unique_ptr<SoftwareSevGuest>(
      new SoftwareSevGuest(*std::move(report), CertTable(*vcek), *std::move(key)));
}

bool SoftwareSevGuest::Sign(std::string& report) const {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  size_t der_len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha384(), nullptr, vcek_key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &der_len,
                     reinterpret_cast<const unsigned char*>(report.data()), kSignedSize) != 1) {
    return false;
  }
  std::string der(der_len, '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (EVP_DigestSign(ctx.get(), out, &der_len,
                     reinterpret_cast<const unsigned char*>(report.data()), kSignedSize) != 1) {
    return false;
  }
  const unsigned char* p = out;
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (!sig) return false;
  auto* field = reinterpret_cast<unsigned char*>(report.data() + kSignedSize);
  std::memset(field, 0, 512);
  return BN_bn2lebinpad(ECDSA_SIG_get0_r(sig.get()), field, kSignatureComponent) > 0 &&
         BN_bn2lebinpad(ECDSA_SIG_get0_s(sig.get()), field + kSignatureComponent,
                        kSignatureComponent) > 0;
}

int SoftwareSevGuest::GetExtReport(snp_guest_request_ioctl& request) {
  auto* req = reinterpret_cast<snp_ext_report_req*>(request.req_data);
  auto* resp = reinterpret_cast<snp_report_resp*>(request.resp_data);
  request.exitinfo2 = 0;
  if (req->certs_len < cert_table_.size()) {  // as the driver: say how much it needs
    req->certs_len = static_cast<uint32_t>(cert_table_.size());
    request.exitinfo2 = static_cast<uint64_t>(SNP_GUEST_VMM_ERR_INVALID_LEN) << 32;
    return EIO;
  }
  std::string report = report_;
  std::memcpy(report.data() + kReportDataOffset, req->data.user_data, 64);
  PutLe32(report.data() + kVmplOffset, req->data.vmpl);
  if (!Sign(report)) {
    ERR_clear_error();
    return EIO;
  }
  char* out = reinterpret_cast<char*>(resp->data);
  std::memset(out, 0, sizeof(resp->data));
  PutLe32(out + 4, static_cast<uint32_t>(kReportSize));
  std::memcpy(out + 0x20, report.data(), kReportSize);
  std::memcpy(reinterpret_cast<char*>(req->certs_address), cert_table_.data(), cert_table_.size());
  return 0;
}

}  // namespace kb
