#include "keybroker/verifiers/snp/snp_report.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace kb {
namespace {

// Bounds-checked little-endian reads from a buffer whose size was checked once up front.
class Reader {
 public:
  explicit Reader(absl::string_view bytes) : bytes_(bytes) {}
  uint64_t Le(std::size_t off, std::size_t width) const {
    uint64_t v = 0;
    for (std::size_t i = 0; i < width && off + i < bytes_.size(); ++i) {
      v |= static_cast<uint64_t>(static_cast<uint8_t>(bytes_[off + i])) << (8 * i);
    }
    return v;
  }
  uint32_t U32(std::size_t off) const { return static_cast<uint32_t>(Le(off, 4)); }
  uint64_t U64(std::size_t off) const { return Le(off, 8); }
  uint8_t U8(std::size_t off) const { return static_cast<uint8_t>(Le(off, 1)); }
  std::string Bytes(std::size_t off, std::size_t n) const {
    return std::string(bytes_.substr(off, n));  // substr clamps at the end
  }

 private:
  absl::string_view bytes_;
};

void ParseIdentity(const Reader& r, SnpReport& rep) {
  rep.version = r.U32(0x000);
  rep.guest_svn = r.U32(0x004);
  rep.policy = r.U64(0x008);
  rep.family_id = r.Bytes(0x010, 16);
  rep.image_id = r.Bytes(0x020, 16);
  rep.vmpl = r.U32(0x030);
  rep.signature_algo = r.U32(0x034);
  rep.current_tcb = r.U64(0x038);
  rep.platform_info = r.U64(0x040);
  const uint32_t signer_info = r.U32(0x048);
  rep.author_key_en = (signer_info & 1) != 0;
  rep.mask_chip_key = (signer_info & 2) != 0;
  rep.signing_key = (signer_info >> 2) & 7;
  rep.report_data = r.Bytes(0x050, 64);
  rep.measurement = r.Bytes(0x090, 48);
  rep.host_data = r.Bytes(0x0C0, 32);
  rep.id_key_digest = r.Bytes(0x0E0, 48);
  rep.author_key_digest = r.Bytes(0x110, 48);
  rep.report_id = r.Bytes(0x140, 32);
  rep.report_id_ma = r.Bytes(0x160, 32);
}

void ParsePlatform(const Reader& r, SnpReport& rep) {
  rep.reported_tcb = r.U64(0x180);
  if (rep.version >= 3) {
    rep.cpuid_family = r.U8(0x188);
    rep.cpuid_model = r.U8(0x189);
    rep.cpuid_stepping = r.U8(0x18A);
  }
  rep.chip_id = r.Bytes(0x1A0, 64);
  rep.committed_tcb = r.U64(0x1E0);
  rep.current_build = r.U8(0x1E8);
  rep.current_minor = r.U8(0x1E9);
  rep.current_major = r.U8(0x1EA);
  rep.committed_build = r.U8(0x1EC);
  rep.committed_minor = r.U8(0x1ED);
  rep.committed_major = r.U8(0x1EE);
  rep.launch_tcb = r.U64(0x1F0);
  if (rep.version >= 5) {
    rep.launch_mit_vector = r.U64(0x1F8);
    rep.current_mit_vector = r.U64(0x200);
  }
  rep.signature_r = r.Bytes(0x2A0, kSnpSignatureComponentSize);
  rep.signature_s = r.Bytes(0x2E8, kSnpSignatureComponentSize);
}

}  // namespace

absl::string_view SnpProductName(SnpProduct product) {
  switch (product) {
    case SnpProduct::kMilan:
      return "Milan";
    case SnpProduct::kGenoa:
      return "Genoa";
    case SnpProduct::kTurin:
      return "Turin";
    default:
      return "unknown";
  }
}

SnpProduct SnpProductFromName(absl::string_view name) {
  // KDS product names carry an optional stepping suffix: "Milan-B0", "Genoa", "Turin".
  for (SnpProduct p : {SnpProduct::kMilan, SnpProduct::kGenoa, SnpProduct::kTurin}) {
    const absl::string_view base = SnpProductName(p);
    if (name == base || absl::StartsWith(name, absl::StrCat(base, "-"))) return p;
  }
  return SnpProduct::kUnknown;
}

SnpProduct SnpProductFromCpuid(uint8_t family, uint8_t model) {
  // Family 19h: models 00h-0Fh Milan, 10h-1Fh Genoa, A0h-AFh Genoa (Bergamo/Siena).
  // Family 1Ah: models 00h-1Fh Turin (virtee/sev, go-sev-guest product tables).
  if (family == 0x19 && model <= 0x0F) return SnpProduct::kMilan;
  if (family == 0x19 && ((model >= 0x10 && model <= 0x1F) || (model >= 0xA0 && model <= 0xAF))) {
    return SnpProduct::kGenoa;
  }
  if (family == 0x1A && model <= 0x1F) return SnpProduct::kTurin;
  return SnpProduct::kUnknown;
}

SnpTcb DecodeSnpTcb(uint64_t raw, SnpProduct product) {
  auto byte = [raw](int i) { return static_cast<uint8_t>(raw >> (8 * i)); };
  SnpTcb tcb;
  tcb.raw = raw;
  if (product == SnpProduct::kTurin) {
    tcb.fmc = byte(0);
    tcb.bootloader = byte(1);
    tcb.tee = byte(2);
    tcb.snp = byte(3);
  } else {
    tcb.bootloader = byte(0);
    tcb.tee = byte(1);
    tcb.snp = byte(6);
  }
  tcb.microcode = byte(7);
  return tcb;
}

SnpGuestPolicy DecodeSnpGuestPolicy(uint64_t raw) {
  auto bit = [raw](int i) { return ((raw >> i) & 1) != 0; };
  SnpGuestPolicy p;
  p.raw = raw;
  p.abi_minor = static_cast<uint8_t>(raw);
  p.abi_major = static_cast<uint8_t>(raw >> 8);
  p.smt = bit(16);
  p.migrate_ma = bit(18);
  p.debug = bit(19);
  p.single_socket = bit(20);
  p.cxl_allow = bit(21);
  p.mem_aes_256_xts = bit(22);
  p.rapl_dis = bit(23);
  p.ciphertext_hiding = bit(24);
  p.page_swap_disable = bit(25);
  return p;
}

absl::StatusOr<SnpReport> ParseSnpReport(absl::string_view bytes) {
  if (bytes.size() != kSnpReportSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SNP report is ", bytes.size(), " bytes; an ATTESTATION_REPORT is ", kSnpReportSize,
        (bytes.size() < kSnpReportSize ? " (truncated)" : " (oversized)")));
  }
  const Reader r(bytes);
  SnpReport rep;
  ParseIdentity(r, rep);
  if (rep.version != 2 && rep.version != 3 && rep.version != 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported SNP report version ", rep.version, " (want 2, 3 or 5)"));
  }
  if (rep.signature_algo != 1) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported SNP signature algorithm ",
                                                   rep.signature_algo, " (want 1, ECDSA P-384)"));
  }
  if (rep.signing_key != 0 && rep.signing_key != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("SNP report SIGNING_KEY ", rep.signing_key, " is neither VCEK nor VLEK"));
  }
  ParsePlatform(r, rep);
  rep.signed_bytes = std::string(bytes.substr(0, kSnpSignedSize));
  return rep;
}

}  // namespace kb
