#include "common/ec_keys.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace kb {
namespace {

// A key holding only the domain parameters of `curve`, or null.
EVP_PKEY* MakeParameters(const char* curve) {
  std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD_free>> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) != 1) {
    return nullptr;
  }
  return KeyFromParams("EC", EVP_PKEY_KEY_PARAMETERS, bld.get()).release();
}

// The parameters of P-256 or P-384, made on first use and kept for the life of the process
// (only read after that, which OpenSSL allows from any thread); null if they could not be made.
const EVP_PKEY* Parameters(int coordinate_bytes) {
  static const EVP_PKEY* const p256 = MakeParameters("prime256v1");
  static const EVP_PKEY* const p384 = MakeParameters("secp384r1");
  return coordinate_bytes == 32 ? p256 : p384;
}

// The coordinate size of `curve`, 0 for a curve other than P-256 and P-384.
int CoordinateBytes(absl::string_view curve) {
  if (curve == "prime256v1") return 32;
  if (curve == "secp384r1") return 48;
  return 0;
}

// The DER of a SubjectPublicKeyInfo with id-ecPublicKey, the named curve and an uncompressed
// point, up to the point's leading 0x04; the point's coordinates follow.
constexpr char kP256SpkiPrefix[] =
    "\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03"
    "\x01\x07\x03\x42\x00";
constexpr char kP384SpkiPrefix[] =
    "\x30\x76\x30\x10\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x05\x2b\x81\x04\x00\x22\x03"
    "\x62\x00";

// The curve of `der` when it is a P-256 or P-384 SPKI with an uncompressed point (prefix and
// length both match), else empty; `point` is set to the encoded point.
absl::string_view KnownEcSpki(absl::string_view der, absl::string_view& point) {
  for (const auto& [prefix, curve] :
       {std::pair{absl::string_view(kP256SpkiPrefix, sizeof(kP256SpkiPrefix) - 1), "prime256v1"},
        std::pair{absl::string_view(kP384SpkiPrefix, sizeof(kP384SpkiPrefix) - 1), "secp384r1"}}) {
    const size_t point_bytes = 1 + 2 * static_cast<size_t>(CoordinateBytes(curve));
    if (der.size() == prefix.size() + point_bytes && absl::StartsWith(der, prefix) &&
        der[prefix.size()] == 0x04) {
      point = der.substr(prefix.size());
      return curve;
    }
  }
  return {};
}

}  // namespace

absl::StatusOr<EvpPkeyPtr> PublicKeyFromSpki(absl::string_view der) {
  absl::string_view point;
  const absl::string_view curve = KnownEcSpki(der, point);
  if (!curve.empty()) return EcPublicKey(curve, point);
  const auto* p = U8(der);
  EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  // OpenSslError takes the decoder's reasons off this thread's error queue.
  if (!key)
    return OpenSslError("not a DER SubjectPublicKeyInfo", absl::StatusCode::kInvalidArgument);
  if (p != U8(der) + der.size()) {
    return absl::InvalidArgumentError("bytes after the DER SubjectPublicKeyInfo");
  }
  return key;
}

absl::StatusOr<EvpPkeyPtr> EcPublicKey(absl::string_view curve, absl::string_view encoded_point) {
  const int coordinate = CoordinateBytes(curve);
  if (coordinate == 0) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported EC curve ", curve));
  }
  if (encoded_point.size() != 1 + 2 * static_cast<size_t>(coordinate) || encoded_point[0] != 0x04) {
    return absl::InvalidArgumentError(
        absl::StrCat("EC point on ", curve, " is not 0x04 || x || y"));
  }
  const EVP_PKEY* parameters = Parameters(coordinate);
  if (parameters == nullptr) return OpenSslError(absl::StrCat("EC parameters of ", curve));
  EvpPkeyPtr key(EVP_PKEY_new());
  if (!key || EVP_PKEY_copy_parameters(key.get(), parameters) != 1) {
    return OpenSslError("EC parameters");
  }
  if (EVP_PKEY_set1_encoded_public_key(key.get(), U8(encoded_point), encoded_point.size()) != 1) {
    return OpenSslError("invalid EC public key", absl::StatusCode::kInvalidArgument);
  }
  return key;
}

absl::StatusOr<EvpPkeyPtr> GenerateP256Key() {
  const EVP_PKEY* parameters = Parameters(32);
  if (parameters == nullptr) return OpenSslError("EC parameters of prime256v1");
  EvpPkeyCtxPtr ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(parameters), nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &key) != 1) {
    return OpenSslError("P-256 keygen");
  }
  return EvpPkeyPtr(key);
}

}  // namespace kb
