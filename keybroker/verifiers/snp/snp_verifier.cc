#include "keybroker/verifiers/snp/snp_verifier.h"

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/secret_bytes.h"
#include "common/status_macros.h"
#include "keybroker/verifiers/api/check.h"

namespace kb {
namespace {

using absl::StatusCode;

// The report and its key certificate: one verified before (`key` from the cache), or one
// parsed now (`fresh`, also `key`), whose chain is still to be checked.
struct ParsedInput {
  SnpReport report;
  std::shared_ptr<VerifiedSnpKeyCert> fresh;
  std::shared_ptr<const VerifiedSnpKeyCert> key;
  X509* leaf() const { return key->leaf.get(); }
  const AmdKeyCertInfo& cert() const { return key->info; }
};

absl::Status ParseFailed(const absl::Status& s) {
  return CheckFailed(kSnpCheckParse, StatusCode::kInvalidArgument, s.message());
}

absl::StatusOr<ParsedInput> Parse(const SnpVerifyInput& input, const SnpKeyCertCache* cache) {
  ParsedInput p;
  auto report = ParseSnpReport(input.report);
  if (!report.ok()) return ParseFailed(report.status());
  p.report = *std::move(report);
  if (input.expected_report_data && input.expected_report_data->size() > 64) {
    return ParseFailed(absl::InvalidArgumentError("expected report_data exceeds 64 bytes"));
  }
  if (cache != nullptr) p.key = cache->Find(input.vcek, input.chain_pem, input.verify_time);
  if (p.key != nullptr) return p;
  p.fresh = std::make_shared<VerifiedSnpKeyCert>();
  auto leaf = ParseCertificate(input.vcek);
  if (!leaf.ok()) return ParseFailed(leaf.status());
  p.fresh->leaf = *std::move(leaf);
  auto cert = ParseAmdKeyCert(p.fresh->leaf.get());
  if (!cert.ok()) return ParseFailed(cert.status());
  p.fresh->info = *std::move(cert);
  p.key = p.fresh;
  return p;
}

// The product from the certificate, cross-checked against the report's CPUID (v3+).
absl::StatusOr<SnpProduct> ResolveProduct(const ParsedInput& p) {
  if (p.cert().product == SnpProduct::kUnknown) {
    return CheckFailed(kSnpCheckCertChain, StatusCode::kUnauthenticated,
                       absl::StrCat("unknown productName '", p.cert().product_name, "'"));
  }
  const SnpProduct cpuid = SnpProductFromCpuid(p.report.cpuid_family, p.report.cpuid_model);
  if (cpuid != SnpProduct::kUnknown && cpuid != p.cert().product) {
    return CheckFailed(kSnpCheckCertChain, StatusCode::kUnauthenticated,
                       absl::StrCat("report CPUID is ", SnpProductName(cpuid),
                                    " but the certificate is for ", p.cert().product_name));
  }
  return p.cert().product;
}

// Verifies the chain of a freshly parsed certificate and records the span where it is valid.
absl::Status CheckCertChain(const ParsedInput& p, SnpProduct product, const SnpVerifyInput& input) {
  std::string pem = input.chain_pem;
  if (pem.empty()) {
    auto builtin = BuiltinAmdChainPem(product, p.cert().kind);
    if (!builtin.ok()) {
      return CheckFailed(kSnpCheckCertChain, StatusCode::kUnauthenticated,
                         builtin.status().message());
    }
    pem = std::string(*builtin);
  }
  auto chain = ParseAmdChainPem(pem);
  if (!chain.ok()) return ParseFailed(chain.status());
  absl::Status s = VerifyAmdChain(p.leaf(), *chain, product, p.cert().kind, input.verify_time);
  if (!s.ok()) return CheckFailed(kSnpCheckCertChain, StatusCode::kUnauthenticated, s.message());
  std::tie(p.fresh->not_before, p.fresh->not_after) = AmdChainValidity(p.leaf(), *chain);
  return absl::OkStatus();
}

absl::StatusOr<std::string> EcdsaP384Der(const SnpReport& report) {
  auto to_bn = [](absl::string_view le) {
    std::string be(le.rbegin(), le.rend());
    return BN_bin2bn(reinterpret_cast<const unsigned char*>(be.data()), static_cast<int>(be.size()),
                     nullptr);
  };
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = to_bn(report.signature_r);
  BIGNUM* s = to_bn(report.signature_s);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return OpenSslError("ECDSA_SIG");
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return OpenSslError("i2d_ECDSA_SIG");
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string TcbText(const SnpTcb& t, SnpProduct product) {
  return absl::StrCat(product == SnpProduct::kTurin ? absl::StrCat("fmc=", t.fmc, " ") : "",
                      "bl=", t.bootloader, " tee=", t.tee, " snp=", t.snp, " ucode=", t.microcode);
}

SnpClaims BuildClaims(const SnpReport& r, const AmdKeyCertInfo& cert, SnpProduct product) {
  SnpClaims c;
  c.version = r.version;
  c.product = product;
  c.product_name = std::string(SnpProductName(product));
  c.signer = cert.kind == SnpSigner::kVlek ? "vlek" : "vcek";
  c.policy = DecodeSnpGuestPolicy(r.policy);
  c.vmpl = r.vmpl;
  c.guest_svn = r.guest_svn;
  c.measurement = HexEncode(r.measurement);
  c.host_data = HexEncode(r.host_data);
  c.id_key_digest = HexEncode(r.id_key_digest);
  c.author_key_digest = HexEncode(r.author_key_digest);
  c.family_id = HexEncode(r.family_id);
  c.image_id = HexEncode(r.image_id);
  c.report_id = HexEncode(r.report_id);
  c.report_id_ma = HexEncode(r.report_id_ma);
  c.chip_id = HexEncode(r.chip_id);
  c.report_data = HexEncode(r.report_data);
  c.platform_info = r.platform_info;
  c.current_tcb = DecodeSnpTcb(r.current_tcb, product);
  c.reported_tcb = DecodeSnpTcb(r.reported_tcb, product);
  c.committed_tcb = DecodeSnpTcb(r.committed_tcb, product);
  c.launch_tcb = DecodeSnpTcb(r.launch_tcb, product);
  c.current_firmware = absl::StrCat(r.current_major, ".", r.current_minor, ".", r.current_build);
  c.cpuid_family = r.cpuid_family;
  c.cpuid_model = r.cpuid_model;
  c.cpuid_stepping = r.cpuid_stepping;
  return c;
}

}  // namespace

absl::Status CheckSnpSignerKind(const SnpReport& report, const AmdKeyCertInfo& cert) {
  const SnpSigner in_report = static_cast<SnpSigner>(report.signing_key);
  if (in_report != cert.kind) {
    return CheckFailed(
        kSnpCheckSignerKind, StatusCode::kUnauthenticated,
        absl::StrCat("report says it is signed by a ",
                     in_report == SnpSigner::kVlek ? "VLEK" : "VCEK", " but the certificate is a ",
                     cert.kind == SnpSigner::kVlek ? "VLEK" : "VCEK"));
  }
  return absl::OkStatus();
}

absl::Status CheckSnpVcekTcb(const SnpReport& report, const AmdKeyCertInfo& cert,
                             SnpProduct product) {
  const SnpTcb tcb = DecodeSnpTcb(report.reported_tcb, product);
  SnpTcb want;
  want.fmc = cert.fmc_spl;
  want.bootloader = cert.bl_spl;
  want.tee = cert.tee_spl;
  want.snp = cert.snp_spl;
  want.microcode = cert.ucode_spl;
  const bool turin = product == SnpProduct::kTurin;
  if ((turin && (!cert.has_fmc_spl || tcb.fmc != want.fmc)) || tcb.bootloader != want.bootloader ||
      tcb.tee != want.tee || tcb.snp != want.snp || tcb.microcode != want.microcode) {
    return CheckFailed(
        kSnpCheckVcekTcb, StatusCode::kUnauthenticated,
        absl::StrCat("REPORTED_TCB (", TcbText(tcb, product),
                     ") does not match the certificate's SPLs (", TcbText(want, product), ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckSnpHwId(const SnpReport& report, const AmdKeyCertInfo& cert) {
  if (cert.kind != SnpSigner::kVcek) return absl::OkStatus();  // a VLEK names no chip
  if (report.mask_chip_key) return absl::OkStatus();           // CHIP_ID masked to zero by policy
  const absl::string_view chip(report.chip_id);
  const bool match = cert.hw_id.size() == 64 ? ConstantTimeEquals(chip, cert.hw_id)
                                             : (cert.hw_id.size() == 8 &&
                                                ConstantTimeEquals(chip.substr(0, 8), cert.hw_id));
  if (!match) {
    return CheckFailed(kSnpCheckHwId, StatusCode::kUnauthenticated,
                       absl::StrCat("report CHIP_ID ", HexEncode(chip.substr(0, 8)),
                                    "... differs from the VCEK hwID ",
                                    HexEncode(absl::string_view(cert.hw_id).substr(0, 8)), "..."));
  }
  return absl::OkStatus();
}

absl::Status CheckSnpReportSignature(const SnpReport& report, X509* vcek) {
  auto fail = [](absl::string_view why) {
    return CheckFailed(kSnpCheckReportSignature, StatusCode::kUnauthenticated, why);
  };
  EVP_PKEY* key = X509_get0_pubkey(vcek);
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC || EVP_PKEY_get_bits(key) != 384) {
    ERR_clear_error();
    return fail("VCEK/VLEK key is not ECDSA P-384");
  }
  ASSIGN_OR_RETURN(std::string der, EcdsaP384Der(report));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha384(), nullptr, key) != 1) {
    return OpenSslError("EVP_DigestVerifyInit");
  }
  const auto* msg = reinterpret_cast<const unsigned char*>(report.signed_bytes.data());
  if (EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                       msg, report.signed_bytes.size()) != 1) {
    ERR_clear_error();
    return fail("ECDSA P-384 signature over the report does not verify with the VCEK/VLEK");
  }
  return absl::OkStatus();
}

absl::Status CheckSnpReportData(const SnpReport& report, absl::string_view expected) {
  if (expected.size() > report.report_data.size() ||
      !ConstantTimeEquals(absl::string_view(report.report_data).substr(0, expected.size()),
                          expected)) {
    return CheckFailed(kSnpCheckReportData, StatusCode::kUnauthenticated,
                       "REPORT_DATA does not carry the expected value");
  }
  return absl::OkStatus();
}

absl::StatusOr<SnpClaims> VerifySnpReport(const SnpVerifyInput& input, SnpKeyCertCache* cache) {
  ASSIGN_OR_RETURN(ParsedInput p, Parse(input, cache));
  ASSIGN_OR_RETURN(SnpProduct product, ResolveProduct(p));
  if (p.fresh != nullptr) {
    RETURN_IF_ERROR(CheckCertChain(p, product, input));
    if (cache != nullptr) cache->Insert(input.vcek, input.chain_pem, p.fresh);
  }
  RETURN_IF_ERROR(CheckSnpSignerKind(p.report, p.cert()));
  // TCB and hwID before the signature, so a tampered REPORTED_TCB is reported as what it is.
  RETURN_IF_ERROR(CheckSnpVcekTcb(p.report, p.cert(), product));
  RETURN_IF_ERROR(CheckSnpHwId(p.report, p.cert()));
  RETURN_IF_ERROR(CheckSnpReportSignature(p.report, p.leaf()));
  if (input.expected_report_data) {
    RETURN_IF_ERROR(CheckSnpReportData(p.report, *input.expected_report_data));
  }
  return BuildClaims(p.report, p.cert(), product);
}

}  // namespace kb
