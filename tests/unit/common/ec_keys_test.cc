#include "common/ec_keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/ek_test_pki.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

std::string EncodedPoint(EVP_PKEY* key) {
  std::string out(133, '\0');
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                      reinterpret_cast<uint8_t*>(out.data()), out.size(),
                                      &len) != 1) {
    return "";
  }
  out.resize(len);
  return out;
}

// The key as d2i_PUBKEY reads `spki`, or null.
EvpPkeyPtr Decoded(const std::string& spki) {
  const auto* p = reinterpret_cast<const unsigned char*>(spki.data());
  return EvpPkeyPtr(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
}

TEST(EcKeysTest, APublicKeyIsTheKeyItsPointCameFrom) {
  auto pair = GenerateP256Key();
  ASSERT_THAT(pair, IsOk());
  const std::string point = EncodedPoint(pair->get());
  ASSERT_EQ(point.size(), 65u);
  auto pub = EcPublicKey("prime256v1", point);
  ASSERT_THAT(pub, IsOk());
  EXPECT_EQ(EVP_PKEY_eq(pair->get(), pub->get()), 1);
  // Two generated keys differ.
  EXPECT_NE(EncodedPoint(GenerateP256Key()->get()), point);
}

TEST(EcKeysTest, P384Too) {
  EvpPkeyPtr pair(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  ASSERT_NE(pair, nullptr);
  auto pub = EcPublicKey("secp384r1", EncodedPoint(pair.get()));
  ASSERT_THAT(pub, IsOk());
  EXPECT_EQ(EVP_PKEY_eq(pair.get(), pub->get()), 1);
}

TEST(EcKeysTest, RefusesOtherCurvesEncodingsAndPointsOffTheCurve) {
  const std::string point = EncodedPoint(GenerateP256Key()->get());
  EXPECT_EQ(EcPublicKey("secp256k1", point).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EcPublicKey("secp384r1", point).status().code(), absl::StatusCode::kInvalidArgument);
  std::string off = point;
  off[64] ^= 1;  // y changed: not on P-256
  EXPECT_EQ(EcPublicKey("prime256v1", off).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EcPublicKey("prime256v1", "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EcPublicKey("prime256v1", std::string(1, '\0')).status().code(),
            absl::StatusCode::kInvalidArgument);  // the point at infinity
  std::string compressed = point.substr(0, 33);
  compressed[0] = 0x02 | (point[64] & 1);
  EXPECT_EQ(EcPublicKey("prime256v1", compressed).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string hybrid = point;
  hybrid[0] = 0x06 | (point[64] & 1);
  EXPECT_EQ(EcPublicKey("prime256v1", hybrid).status().code(), absl::StatusCode::kInvalidArgument);
}

// The recognised SPKIs (P-256 and P-384, uncompressed) give the key d2i_PUBKEY gives.
TEST(EcKeysTest, SpkiOfP256AndP384IsTheKeyTheDecoderReads) {
  auto p256 = GenerateP256Key();
  ASSERT_THAT(p256, IsOk());
  EvpPkeyPtr p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  for (EVP_PKEY* key : {p256->get(), p384.get()}) {
    const std::string spki = SpkiDer(key);
    ASSERT_FALSE(spki.empty());
    auto pub = PublicKeyFromSpki(spki);
    ASSERT_THAT(pub, IsOk());
    EXPECT_EQ(EVP_PKEY_eq(key, pub->get()), 1);
    EXPECT_EQ(EVP_PKEY_eq(Decoded(spki).get(), pub->get()), 1);
    EXPECT_EQ(SpkiDer(pub->get()), spki);
  }
}

// A point off the curve in a recognised SPKI is refused by EcPublicKey's import (its message,
// not the decoder's, which shows the SPKI took the fast path), as the decoder refuses it.
TEST(EcKeysTest, SpkiWithThePrefixButOffTheCurveIsRefusedByTheImport) {
  auto p256 = GenerateP256Key();
  ASSERT_THAT(p256, IsOk());
  EvpPkeyPtr p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  for (EVP_PKEY* key : {p256->get(), p384.get()}) {
    std::string off = SpkiDer(key);
    off.back() ^= 1;  // y changed: not on the curve
    EXPECT_THAT(PublicKeyFromSpki(off), StatusIs(absl::StatusCode::kInvalidArgument,
                                                 testing::HasSubstr("invalid EC public key")));
    EXPECT_EQ(Decoded(off), nullptr);
  }
}

// A point on the curve whose x is written as x + p (it fits in the coordinate's bytes) is not a
// valid encoding: refused on the fast path as by the decoder.
TEST(EcKeysTest, SpkiWithACoordinateNotBelowTheFieldPrimeIsRefused) {
  for (const auto& [nid, size, key_of] :
       {std::tuple{NID_X9_62_prime256v1, 32, +[] { return *GenerateP256Key(); }},
        std::tuple{NID_secp384r1, 48, +[] {
                     return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
                   }}}) {
    const std::string spki = SpkiDer(key_of().get());
    const std::string prefix = spki.substr(0, spki.size() - 1 - 2 * size);
    std::unique_ptr<EC_GROUP, decltype(&EC_GROUP_free)> group(EC_GROUP_new_by_curve_name(nid),
                                                              EC_GROUP_free);
    std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> ctx(BN_CTX_new(), BN_CTX_free);
    BIGNUM *p = BN_CTX_get(ctx.get()), *a = BN_CTX_get(ctx.get()), *b = BN_CTX_get(ctx.get()),
           *x = BN_CTX_get(ctx.get()), *rhs = BN_CTX_get(ctx.get()), *t = BN_CTX_get(ctx.get());
    ASSERT_EQ(EC_GROUP_get_curve(group.get(), p, a, b, ctx.get()), 1);
    // The smallest x with x^3 + ax + b a square mod p, and its y.
    BIGNUM* y = nullptr;
    for (BN_ULONG i = 1; y == nullptr && i < 100; ++i) {
      BN_set_word(x, i);
      BN_mod_sqr(t, x, p, ctx.get());
      BN_mod_add(t, t, a, p, ctx.get());
      BN_mod_mul(rhs, t, x, p, ctx.get());
      BN_mod_add(rhs, rhs, b, p, ctx.get());
      y = BN_mod_sqrt(nullptr, rhs, p, ctx.get());
    }
    ASSERT_NE(y, nullptr);
    std::unique_ptr<BIGNUM, decltype(&BN_free)> own_y(y, BN_free);
    const auto spki_of = [&](const BIGNUM* px) {
      std::string xy(2 * size, '\0');
      BN_bn2binpad(px, reinterpret_cast<uint8_t*>(xy.data()), size);
      BN_bn2binpad(y, reinterpret_cast<uint8_t*>(xy.data()) + size, size);
      return absl::StrCat(prefix, "\x04", xy);
    };
    ASSERT_THAT(PublicKeyFromSpki(spki_of(x)), IsOk());  // the point itself is on the curve
    BN_add(t, x, p);
    ASSERT_LE(BN_num_bytes(t), size);
    EXPECT_THAT(
        PublicKeyFromSpki(spki_of(t)),
        StatusIs(absl::StatusCode::kInvalidArgument, testing::HasSubstr("invalid EC public key")));
    EXPECT_EQ(Decoded(spki_of(t)), nullptr);
  }
}

TEST(EcKeysTest, SpkiWithTrailingOrMissingBytesIsRefused) {
  auto pair = GenerateP256Key();
  ASSERT_THAT(pair, IsOk());
  const std::string spki = SpkiDer(pair->get());
  EXPECT_THAT(PublicKeyFromSpki(spki + '\0'),
              StatusIs(absl::StatusCode::kInvalidArgument, testing::HasSubstr("bytes after")));
  EXPECT_THAT(PublicKeyFromSpki(spki.substr(0, spki.size() - 1)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       testing::HasSubstr("not a DER SubjectPublicKeyInfo")));
  EXPECT_EQ(PublicKeyFromSpki("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PublicKeyFromSpki("\x30\x03\x02\x01\x01").status().code(),
            absl::StatusCode::kInvalidArgument);
  // The decoder's reasons were taken off the error queue, not left for a later error to report.
  EXPECT_EQ(ERR_peek_error(), 0u);
}

// Keys of other forms still parse, through the decoder: a compressed point, RSA, another curve.
TEST(EcKeysTest, OtherSpkisGoThroughTheDecoder) {
  auto pair = GenerateP256Key();
  std::string compressed;
  {
    EvpPkeyPtr copy(EVP_PKEY_dup(pair->get()));
    ASSERT_EQ(EVP_PKEY_set_utf8_string_param(copy.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                             "compressed"),
              1);
    compressed = SpkiDer(copy.get());
  }
  ASSERT_EQ(compressed.size(), 59u);
  auto from_compressed = PublicKeyFromSpki(compressed);
  ASSERT_THAT(from_compressed, IsOk());
  EXPECT_EQ(EVP_PKEY_eq(pair->get(), from_compressed->get()), 1);
  EvpPkeyPtr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
  auto from_rsa = PublicKeyFromSpki(SpkiDer(rsa.get()));
  ASSERT_THAT(from_rsa, IsOk());
  EXPECT_EQ(EVP_PKEY_eq(rsa.get(), from_rsa->get()), 1);
  EvpPkeyPtr k1(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"));
  auto from_k1 = PublicKeyFromSpki(SpkiDer(k1.get()));
  ASSERT_THAT(from_k1, IsOk());
  EXPECT_EQ(EVP_PKEY_eq(k1.get(), from_k1->get()), 1);
}

// The curves' parameters are shared by every thread that makes a key.
TEST(EcKeysTest, KeysAreMadeFromManyThreadsAtOnce) {
  std::vector<std::thread> threads;
  std::vector<int> good(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&good, t] {
      for (int i = 0; i < 50; ++i) {
        auto pair = GenerateP256Key();
        if (!pair.ok()) continue;
        auto pub = EcPublicKey("prime256v1", EncodedPoint(pair->get()));
        good[t] += pub.ok() && EVP_PKEY_eq(pair->get(), pub->get()) == 1;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int g : good) EXPECT_EQ(g, 50);
}

}  // namespace
}  // namespace kb
