// The evidence sources with fake devices: SEV-SNP ioctl marshalling, the Azure vTPM NV sequence,
// the software transfer key, and the choice of kind (TDX: evidence_tdx_test.cc).
#include <cstring>
#include <map>
#include <set>

#include "common/crypto.h"
#include "common/tpm/tpm_structures.h"
#include "common/wrap/key_wrap.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/software_tpm.h"
#include "tests/support/status_matchers.h"
#include "unlocker/evidence/azure_vtpm_source.h"
#include "unlocker/evidence/choose_evidence.h"
#include "unlocker/evidence/snp_report_source.h"
#include "unlocker/evidence/software_transfer_key.h"
#include "unlocker/evidence/tpm_quote_source.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

const std::string kBinding(32, '\xab');

std::string Padded(absl::string_view s, size_t n) {
  std::string out(s);
  out.resize(n, '\0');
  return out;
}

void PutLe32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}

// ---- software transfer key ----

TEST(SoftwareTransferKeyTest, UnwrapsWhatTheBrokerWrapped) {
  auto key = SoftwareTransferKey::Generate();
  ASSERT_THAT(key, IsOk());
  SecretBytes disk_key = SecretBytes::FromString(std::string(64, 0x5a));
  auto wrapped = WrapToSpkiTransferKey((*key)->spki_der(), disk_key);
  ASSERT_THAT(wrapped, IsOk());
  auto unwrapped = (*key)->Unwrap(*wrapped);
  ASSERT_THAT(unwrapped, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(*unwrapped, disk_key));
}

TEST(SoftwareTransferKeyTest, RejectsAKeyWrappedToAnotherKey) {
  auto mine = SoftwareTransferKey::Generate();
  auto other = SoftwareTransferKey::Generate();
  ASSERT_TRUE(mine.ok() && other.ok());
  auto wrapped =
      WrapToSpkiTransferKey((*other)->spki_der(), SecretBytes::FromString(std::string(32, 1)));
  ASSERT_THAT(wrapped, IsOk());
  EXPECT_EQ((*mine)->Unwrap(*wrapped).status().code(), absl::StatusCode::kInvalidArgument);
  v1::WrappedKey rsa = *wrapped;
  rsa.set_scheme(v1::WRAP_SCHEME_RSA_OAEP_SHA256_A256KWP);
  EXPECT_EQ((*mine)->Unwrap(rsa).status().code(), absl::StatusCode::kInvalidArgument);
  v1::WrappedKey bad_point = *wrapped;
  bad_point.set_ephemeral_public(std::string(65, '\x04'));
  EXPECT_EQ((*mine)->Unwrap(bad_point).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SoftwareTransferKeyTest, OnlyP256) {
  EXPECT_EQ(NewSoftwareTransferKey(TransferKeyType::kRsa2048).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(NewSoftwareTransferKey(TransferKeyType::kEccP256), IsOk());
}

// ---- SEV-SNP ----

// A certificate table with one VCEK entry.
std::string CertTable(absl::string_view vcek) {
  std::string t(48, '\0');
  t[0] = '\x63';  // GUID bytes do not matter here
  PutLe32(t.data() + 16, 48);
  PutLe32(t.data() + 20, static_cast<uint32_t>(vcek.size()));
  return t + std::string(vcek);
}

// Models the sev-guest driver: records requests, needs `certs_needed` bytes of buffer.
class FakeSevGuest final : public SevGuestDevice {
 public:
  int GetExtReport(snp_guest_request_ioctl& r) override {
    ++calls;
    msg_version = r.msg_version;
    auto* req = reinterpret_cast<snp_ext_report_req*>(r.req_data);
    auto* resp = reinterpret_cast<snp_report_resp*>(r.resp_data);
    user_data.assign(reinterpret_cast<char*>(req->data.user_data), 64);
    vmpl = req->data.vmpl;
    buffer_lens.push_back(req->certs_len);
    if (errno_to_return != 0) {
      r.exitinfo2 = exitinfo2;
      return errno_to_return;
    }
    if (req->certs_len < certs_needed) {
      req->certs_len = certs_needed;
      r.exitinfo2 = static_cast<uint64_t>(SNP_GUEST_VMM_ERR_INVALID_LEN) << 32;
      return EIO;
    }
    char* out = reinterpret_cast<char*>(resp->data);
    PutLe32(out, status);
    PutLe32(out + 4, report_size);
    std::memset(out + 0x20, 'R', 1184);
    std::memcpy(out + 0x20 + 0x50, req->data.user_data, 64);  // REPORT_DATA
    std::memcpy(reinterpret_cast<char*>(req->certs_address), table.data(), table.size());
    return 0;
  }

  int calls = 0;
  int msg_version = 0;
  std::string user_data;
  uint32_t vmpl = 99;
  std::vector<uint32_t> buffer_lens;
  uint32_t certs_needed = 0;
  uint32_t status = 0;
  uint32_t report_size = 1184;
  int errno_to_return = 0;
  uint64_t exitinfo2 = 0;
  std::string table = CertTable("VCEK-DER");
};

TEST(SnpReportTest, RequestsVmpl0WithBindingAsReportData) {
  FakeSevGuest dev;
  auto report = GetSnpExtReport(dev, kBinding);
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(dev.calls, 1);
  EXPECT_EQ(dev.msg_version, 1);
  EXPECT_EQ(dev.vmpl, 0u);
  EXPECT_EQ(dev.user_data, Padded(kBinding, 64));
  EXPECT_EQ(report->report.size(), 1184u);
  EXPECT_EQ(report->report.substr(0x50, 64), Padded(kBinding, 64));
  EXPECT_EQ(report->cert_table, CertTable("VCEK-DER"));
  EXPECT_EQ(dev.buffer_lens[0] % 4096, 0u);
}

TEST(SnpReportTest, RetriesWithTheCertificateBufferSizeTheDriverAsksFor) {
  FakeSevGuest dev;
  dev.certs_needed = 5 * 4096 + 100;
  auto report = GetSnpExtReport(dev, kBinding);
  ASSERT_THAT(report, IsOk());
  ASSERT_EQ(dev.calls, 2);
  EXPECT_EQ(dev.buffer_lens[1], 6u * 4096);  // page-aligned
  EXPECT_EQ(report->cert_table, CertTable("VCEK-DER"));
}

TEST(SnpReportTest, RefusesUnusableBufferRequests) {
  FakeSevGuest dev;
  dev.certs_needed = 64u << 20;  // more than the 1 MiB cap
  auto report = GetSnpExtReport(dev, kBinding);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(dev.calls, 1);
}

TEST(SnpReportTest, MapsDriverAndFirmwareErrors) {
  {
    FakeSevGuest dev;
    dev.errno_to_return = EIO;
    dev.exitinfo2 = static_cast<uint64_t>(SNP_GUEST_VMM_ERR_BUSY) << 32;
    EXPECT_EQ(GetSnpExtReport(dev, kBinding).status().code(), absl::StatusCode::kUnavailable);
  }
  {
    FakeSevGuest dev;
    dev.errno_to_return = ENOTTY;
    auto r = GetSnpExtReport(dev, kBinding);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("SNP_GET_EXT_REPORT"));
  }
  {
    FakeSevGuest dev;
    dev.status = 0x16;
    EXPECT_EQ(GetSnpExtReport(dev, kBinding).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
  {
    FakeSevGuest dev;
    dev.report_size = 1000;
    EXPECT_EQ(GetSnpExtReport(dev, kBinding).status().code(), absl::StatusCode::kInternal);
  }
  FakeSevGuest dev;
  EXPECT_EQ(GetSnpExtReport(dev, std::string(65, 'x')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SnpReportTest, TrimsTheCertificateTable) {
  const std::string table = CertTable("CERT");
  auto trimmed = TrimCertTable(table + std::string(4000, '\0'));
  ASSERT_THAT(trimmed, IsOk());
  EXPECT_EQ(*trimmed, table);
  auto empty = TrimCertTable(std::string(4096, '\0'));
  ASSERT_THAT(empty, IsOk());
  EXPECT_TRUE(empty->empty());
  std::string past = table;
  PutLe32(past.data() + 20, 9999);
  EXPECT_EQ(TrimCertTable(past).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(TrimCertTable(std::string(30, '\x01')).status().code(), absl::StatusCode::kInternal);
}

TEST(SnpReportSourceTest, EvidenceBindsTheSoftwareTransferKey) {
  auto dev = std::make_unique<FakeSevGuest>();
  FakeSevGuest* fake = dev.get();
  SnpReportSource source(std::move(dev));
  EXPECT_EQ(source.Attest(kBinding, {}).status().code(), absl::StatusCode::kFailedPrecondition);
  auto spki = source.NewTransferKey(TransferKeyType::kEccP256);
  ASSERT_THAT(spki, IsOk());
  auto attested = source.Attest(kBinding, {7});
  ASSERT_THAT(attested, IsOk());
  ASSERT_TRUE(attested->evidence.has_snp_report());
  EXPECT_EQ(attested->evidence.snp_report().report().substr(0x50, 32), kBinding);
  EXPECT_EQ(attested->evidence.snp_report().cert_table(), fake->table);
  EXPECT_EQ(attested->transfer_key.spki_der(), *spki);
  SecretBytes disk_key = SecretBytes::FromString(std::string(32, 7));
  auto wrapped = WrapToSpkiTransferKey(*spki, disk_key);
  ASSERT_THAT(wrapped, IsOk());
  auto unwrapped = source.Unwrap(*wrapped);
  ASSERT_THAT(unwrapped, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(*unwrapped, disk_key));
  EXPECT_EQ(source.NewTransferKey(TransferKeyType::kRsa3072).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---- Azure vTPM ----

class FakeNv final : public TpmNv {
 public:
  absl::StatusOr<bool> NvDefined(uint32_t index) override { return data.count(index) != 0; }
  absl::Status NvDefine(uint32_t index, uint16_t size) override {
    log.push_back(absl::StrCat("define ", size));
    data[index] = std::string(size, '\0');
    return absl::OkStatus();
  }
  absl::Status NvWrite(uint32_t index, absl::string_view bytes) override {
    log.push_back("write");
    if (data.count(index) == 0) return absl::NotFoundError("undefined");
    data[index].replace(0, bytes.size(), std::string(bytes));
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> NvRead(uint32_t index) override {
    log.push_back("read");
    if (data.count(index) == 0) return absl::NotFoundError("undefined");
    return data[index];
  }
  std::map<uint32_t, std::string> data;
  std::vector<std::string> log;
};

TEST(AzureVtpmSourceTest, WritesUserDataThenLetsTheReportBeMadeThenReadsIt) {
  auto tpm = SoftwareTpm::Create();
  ASSERT_THAT(tpm, IsOk());
  FakeNv nv;
  nv.data[kAzureHclReportIndex] = "report of the previous request";  // an Azure vTPM has one
  AzureVtpmOptions options;
  options.after_user_data_write = [&nv](absl::string_view user_data) {
    nv.log.push_back("hook");
    EXPECT_EQ(nv.data[kAzureUserDataIndex], std::string(user_data));
    nv.data[kAzureHclReportIndex] = "HCL report for " + std::string(user_data);
    return absl::OkStatus();
  };
  options.vcek = []() -> absl::StatusOr<std::string> { return std::string("VCEK"); };
  AzureVtpmSource source(**tpm, nv, options);
  auto transfer_public = source.NewTransferKey(TransferKeyType::kEccP256);
  ASSERT_THAT(transfer_public, IsOk());
  auto attested = source.Attest(kBinding, {0, 7});
  ASSERT_THAT(attested, IsOk());
  EXPECT_THAT(nv.log, ::testing::ElementsAre("define 64", "write", "hook", "read"));
  EXPECT_EQ(nv.data[kAzureUserDataIndex], Padded(kBinding, 64));
  const v1::AzureVtpmEvidence& az = attested->evidence.azure_vtpm();
  EXPECT_EQ(az.kind(), v1::AZURE_VTPM_KIND_SNP);
  EXPECT_EQ(az.hcl_report(), "HCL report for " + Padded(kBinding, 64));
  EXPECT_EQ(az.vcek(), "VCEK");
  auto quote = ParseTpmsAttest(az.quote().attest(), "quote");
  ASSERT_THAT(quote, IsOk());
  EXPECT_EQ(
      std::string(reinterpret_cast<const char*>(quote->extraData.buffer), quote->extraData.size),
      kBinding);
  EXPECT_EQ(az.quote().pcrs_size(), 2);
  EXPECT_TRUE(attested->transfer_key.has_tpm());

  // A second attestation reuses the index.
  nv.log.clear();
  ASSERT_THAT(source.Attest(kBinding, {}), IsOk());
  EXPECT_THAT(nv.log, ::testing::ElementsAre("write", "hook", "read"));
}

TEST(AzureVtpmSourceTest, AVtpmWithoutAnHclReportIsRefusedBeforeAnythingIsWritten) {
  auto tpm = SoftwareTpm::Create();
  ASSERT_THAT(tpm, IsOk());
  FakeNv nv;
  AzureVtpmSource source(**tpm, nv, {});
  ASSERT_THAT(source.NewTransferKey(TransferKeyType::kEccP256), IsOk());
  absl::Status refused = source.Attest(kBinding, {}).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("no Azure HCL report (NV index 0x01400001)"));
  EXPECT_THAT(nv.log, ::testing::IsEmpty());  // no user-data index defined on a foreign vTPM
  EXPECT_EQ(WriteAzureUserData(nv, std::string(65, 'x')).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AzureVtpmSourceTest, KindFollowsTheHclReportType) {
  std::string report(0x600, '\0');
  EXPECT_EQ(AzureKindOfHclReport(report), v1::AZURE_VTPM_KIND_SNP);
  report[0x4C8] = 4;
  EXPECT_EQ(AzureKindOfHclReport(report), v1::AZURE_VTPM_KIND_TDX);
  EXPECT_EQ(AzureKindOfHclReport("short"), v1::AZURE_VTPM_KIND_SNP);
}

// ---- TPM quote source ----

TEST(TpmQuoteSourceTest, CertifiesAndQuotesWithTheBinding) {
  auto tpm = SoftwareTpm::Create();
  ASSERT_THAT(tpm, IsOk());
  TpmQuoteSource source(**tpm);
  ASSERT_THAT(source.NewTransferKey(TransferKeyType::kEccP256), IsOk());
  auto attested = source.Attest(kBinding, {7});
  ASSERT_THAT(attested, IsOk());
  EXPECT_TRUE(attested->evidence.has_tpm_quote());
  EXPECT_TRUE(attested->transfer_key.has_tpm());
}

// ---- choosing the kind ----

EvidenceProbes Probes(bool azure, std::set<std::string> paths) {
  EvidenceProbes p;
  p.azure_hcl_report = [azure]() -> absl::StatusOr<bool> { return azure; };
  p.path_exists = [paths](const std::string& path) { return paths.count(path) != 0; };
  p.sev_guest_path = "/dev/sev-guest";
  p.tsm_report_root = "/tsm";
  p.tdx_guest_path = "/dev/tdx_guest";
  return p;
}

// An unlock whose tokens all name "tpm" opens the TPM for "tpm" without probing; any other mix,
// no tokens, or an explicit --evidence keeps what was requested.
TEST(ChooseEvidenceTest, TokensThatAllNameTpmSpareTheProbe) {
  EXPECT_EQ(KindToOpenFor("auto", {"tpm", "tpm"}), "tpm");
  EXPECT_EQ(KindToOpenFor("", {"tpm"}), "tpm");
  EXPECT_EQ(KindToOpenFor("auto", {"tpm", "azure"}), "auto");
  EXPECT_EQ(KindToOpenFor("auto", {"snp"}), "auto");
  EXPECT_EQ(KindToOpenFor("auto", {"tpm", ""}), "auto");
  EXPECT_EQ(KindToOpenFor("auto", {}), "auto");
  EXPECT_EQ(KindToOpenFor("", {}), "");
  EXPECT_EQ(KindToOpenFor("azure", {"tpm"}), "azure");
}

TEST(ChooseEvidenceTest, AutoPrefersAzureThenSnpThenTdxThenTpm) {
  EXPECT_EQ(*ChooseEvidence("auto", Probes(true, {"/dev/sev-guest", "/tsm"})), "azure");
  EXPECT_EQ(*ChooseEvidence("auto", Probes(false, {"/dev/sev-guest", "/tsm"})), "snp");
  EXPECT_EQ(*ChooseEvidence("auto", Probes(false, {"/tsm", "/dev/tdx_guest"})), "tdx");
  EXPECT_EQ(*ChooseEvidence("auto", Probes(false, {"/tsm"})), "tpm");
  EXPECT_EQ(*ChooseEvidence("", Probes(false, {})), "tpm");
  EvidenceProbes broken = Probes(false, {});
  broken.azure_hcl_report = []() -> absl::StatusOr<bool> {
    return absl::UnavailableError("no TPM");
  };
  EXPECT_EQ(*ChooseEvidence("auto", broken), "tpm");
}

TEST(ChooseEvidenceTest, ExplicitKindWinsAndUnknownIsRejected) {
  EXPECT_EQ(*ChooseEvidence("tpm", Probes(true, {"/dev/sev-guest"})), "tpm");
  EXPECT_EQ(*ChooseEvidence("tdx", Probes(false, {})), "tdx");
  EXPECT_EQ(ChooseEvidence("sgx", Probes(false, {})).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kb
