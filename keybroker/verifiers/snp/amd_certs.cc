#include "keybroker/verifiers/snp/amd_certs.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"

namespace kb {
namespace {

using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, OpenSslDeleter<ASN1_OBJECT_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OpenSslDeleter<ASN1_INTEGER_free>>;
using Asn1StringPtr = std::unique_ptr<ASN1_STRING, OpenSslDeleter<ASN1_STRING_free>>;

constexpr char kOidProductName[] = "1.3.6.1.4.1.3704.1.2";
constexpr char kOidBlSpl[] = "1.3.6.1.4.1.3704.1.3.1";
constexpr char kOidTeeSpl[] = "1.3.6.1.4.1.3704.1.3.2";
constexpr char kOidSnpSpl[] = "1.3.6.1.4.1.3704.1.3.3";
constexpr char kOidUcodeSpl[] = "1.3.6.1.4.1.3704.1.3.8";
constexpr char kOidFmcSpl[] = "1.3.6.1.4.1.3704.1.3.9";
constexpr char kOidHwId[] = "1.3.6.1.4.1.3704.1.4";
constexpr char kOidCspId[] = "1.3.6.1.4.1.3704.1.5";

absl::string_view AsView(const ASN1_STRING* s) {
  return absl::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                           static_cast<std::size_t>(ASN1_STRING_length(s)));
}

// The DER value of the extension `oid`: NOT_FOUND if absent, INVALID_ARGUMENT if repeated.
absl::StatusOr<absl::string_view> ExtensionValue(X509* cert, const char* oid) {
  Asn1ObjectPtr obj(OBJ_txt2obj(oid, /*no_name=*/1));
  if (!obj) return OpenSslError("OBJ_txt2obj");
  const int idx = X509_get_ext_by_OBJ(cert, obj.get(), -1);
  if (idx < 0) return absl::NotFoundError(absl::StrCat("extension ", oid, " missing"));
  if (X509_get_ext_by_OBJ(cert, obj.get(), idx) >= 0) {
    return absl::InvalidArgumentError(absl::StrCat("extension ", oid, " repeated"));
  }
  return AsView(X509_EXTENSION_get_data(X509_get_ext(cert, idx)));
}

// Runs a d2i function over all of `der`; nullptr if it fails or leaves trailing bytes.
template <typename T, typename Fn>
T* DecodeAll(Fn d2i, absl::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  T* out = d2i(nullptr, &p, static_cast<long>(der.size()));
  if (out != nullptr && p != reinterpret_cast<const unsigned char*>(der.data() + der.size())) {
    ASN1_STRING_free(reinterpret_cast<ASN1_STRING*>(out));
    return nullptr;
  }
  return out;
}

absl::StatusOr<uint8_t> SplExtension(X509* cert, const char* oid) {
  ASSIGN_OR_RETURN(absl::string_view der, ExtensionValue(cert, oid));
  Asn1IntegerPtr value(DecodeAll<ASN1_INTEGER>(d2i_ASN1_INTEGER, der));
  uint64_t v = 0;
  if (!value || ASN1_INTEGER_get_uint64(&v, value.get()) != 1 || v > 0xFF) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("extension ", oid, " is not an SPL (0..255)"));
  }
  return static_cast<uint8_t>(v);
}

absl::StatusOr<std::string> ProductNameExtension(X509* cert) {
  ASSIGN_OR_RETURN(absl::string_view der, ExtensionValue(cert, kOidProductName));
  Asn1StringPtr name(DecodeAll<ASN1_IA5STRING>(d2i_ASN1_IA5STRING, der));
  if (!name) {
    ERR_clear_error();
    return absl::InvalidArgumentError("productName extension is not an IA5String");
  }
  return std::string(AsView(name.get()));
}

// hwID: 64 raw bytes ("legacy"), 8 raw bytes (Turin), or those wrapped in an OCTET STRING (the
// newer KDS encoding).
absl::StatusOr<std::string> HwIdExtension(X509* cert) {
  ASSIGN_OR_RETURN(absl::string_view value, ExtensionValue(cert, kOidHwId));
  if (value.size() == 64 || value.size() == 8) return std::string(value);
  Asn1StringPtr wrapped(DecodeAll<ASN1_OCTET_STRING>(d2i_ASN1_OCTET_STRING, value));
  ERR_clear_error();
  if (wrapped &&
      (ASN1_STRING_length(wrapped.get()) == 64 || ASN1_STRING_length(wrapped.get()) == 8)) {
    return std::string(AsView(wrapped.get()));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("hwID extension has ", value.size(), " bytes; want 64 (or 8 on Turin)"));
}

std::string CommonName(X509_NAME* name) {
  const int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return "";
  return std::string(AsView(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx))));
}

absl::Status ReadSpls(X509* cert, AmdKeyCertInfo& info) {
  ASSIGN_OR_RETURN(info.bl_spl, SplExtension(cert, kOidBlSpl));
  ASSIGN_OR_RETURN(info.tee_spl, SplExtension(cert, kOidTeeSpl));
  ASSIGN_OR_RETURN(info.snp_spl, SplExtension(cert, kOidSnpSpl));
  ASSIGN_OR_RETURN(info.ucode_spl, SplExtension(cert, kOidUcodeSpl));
  auto fmc = SplExtension(cert, kOidFmcSpl);
  if (fmc.ok()) {
    info.has_fmc_spl = true;
    info.fmc_spl = *fmc;
  } else if (!absl::IsNotFound(fmc.status())) {
    return fmc.status();
  }
  return absl::OkStatus();
}

// Checks `cert` validity at `t` and that `issuer` signed it.
absl::Status CheckLink(X509* cert, X509* issuer, absl::string_view what, std::time_t t) {
  if (X509_get_signature_nid(cert) != NID_rsassaPss) {
    return absl::UnauthenticatedError(absl::StrCat(what, " is not signed with RSA-PSS"));
  }
  if (X509_check_issued(issuer, cert) != X509_V_OK) {
    return absl::UnauthenticatedError(absl::StrCat(what, " was not issued by its expected CA"));
  }
  EVP_PKEY* key = X509_get0_pubkey(issuer);
  if (key == nullptr || X509_verify(cert, key) != 1) {
    ERR_clear_error();
    return absl::UnauthenticatedError(absl::StrCat(what, " signature does not verify"));
  }
  if (X509_cmp_time(X509_get0_notBefore(cert), &t) >= 0) {
    return absl::UnauthenticatedError(absl::StrCat(what, " is not yet valid"));
  }
  if (X509_cmp_time(X509_get0_notAfter(cert), &t) <= 0) {
    return absl::UnauthenticatedError(absl::StrCat(what, " has expired"));
  }
  return absl::OkStatus();
}

absl::Status CheckChainNames(const AmdChain& chain, SnpProduct product, SnpSigner kind) {
  const absl::string_view p = SnpProductName(product);
  if (CommonName(X509_get_subject_name(chain.ark.get())) != absl::StrCat("ARK-", p)) {
    return absl::UnauthenticatedError(absl::StrCat("ARK is not the ", p, " ARK"));
  }
  const std::string want =
      kind == SnpSigner::kVlek ? absl::StrCat("SEV-VLEK-", p) : absl::StrCat("SEV-", p);
  if (CommonName(X509_get_subject_name(chain.intermediate.get())) != want) {
    return absl::UnauthenticatedError(absl::StrCat("intermediate is not ", want, " (",
                                                   kind == SnpSigner::kVlek ? "ASVK" : "ASK",
                                                   " for ", p, ")"));
  }
  if (X509_check_ca(chain.ark.get()) < 1 || X509_check_ca(chain.intermediate.get()) < 1) {
    return absl::UnauthenticatedError("ARK or intermediate is not a CA certificate");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AmdKeyCertInfo> ParseAmdKeyCert(X509* cert) {
  AmdKeyCertInfo info;
  const std::string cn = CommonName(X509_get_subject_name(cert));
  if (cn == "SEV-VCEK") {
    info.kind = SnpSigner::kVcek;
  } else if (cn == "SEV-VLEK") {
    info.kind = SnpSigner::kVlek;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate subject CN '", cn, "' is neither SEV-VCEK nor SEV-VLEK"));
  }
  ASSIGN_OR_RETURN(info.product_name, ProductNameExtension(cert));
  info.product = SnpProductFromName(info.product_name);
  RETURN_IF_ERROR(ReadSpls(cert, info));
  if (info.kind == SnpSigner::kVcek) {
    ASSIGN_OR_RETURN(info.hw_id, HwIdExtension(cert));
  } else {
    auto csp = ExtensionValue(cert, kOidCspId);
    if (csp.ok()) info.csp_id = std::string(*csp);
  }
  return info;
}

absl::Status VerifyAmdChain(X509* leaf, const AmdChain& chain, SnpProduct product, SnpSigner kind,
                            absl::Time at) {
  if (!chain.ark || !chain.intermediate || leaf == nullptr) {
    return absl::InvalidArgumentError("incomplete AMD certificate chain");
  }
  const std::time_t t = absl::ToTimeT(at);
  RETURN_IF_ERROR(CheckChainNames(chain, product, kind));
  RETURN_IF_ERROR(CheckLink(chain.ark.get(), chain.ark.get(), "ARK (self-signed)", t));
  RETURN_IF_ERROR(CheckLink(chain.intermediate.get(), chain.ark.get(),
                            kind == SnpSigner::kVlek ? "ASVK" : "ASK", t));
  return CheckLink(leaf, chain.intermediate.get(), kind == SnpSigner::kVlek ? "VLEK" : "VCEK", t);
}

std::pair<absl::Time, absl::Time> AmdChainValidity(X509* leaf, const AmdChain& chain) {
  absl::Time not_before = absl::InfinitePast(), not_after = absl::InfiniteFuture();
  for (X509* cert : {leaf, chain.intermediate.get(), chain.ark.get()}) {
    // A time that does not decode leaves the span empty.
    not_before = std::max(not_before, Asn1Time(X509_get0_notBefore(cert), absl::InfiniteFuture()));
    not_after = std::min(not_after, Asn1Time(X509_get0_notAfter(cert), absl::InfinitePast()));
  }
  return {not_before, not_after};
}

}  // namespace kb
