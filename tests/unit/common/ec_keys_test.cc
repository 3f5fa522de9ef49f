#include "common/ec_keys.h"

#include <openssl/core_names.h>
#include <openssl/x509.h>

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
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

// The DER SubjectPublicKeyInfo of `key`.
std::string Spki(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  if (len <= 0) return "";
  std::string out(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
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
    const std::string spki = Spki(key);
    ASSERT_FALSE(spki.empty());
    auto pub = PublicKeyFromSpki(spki);
    ASSERT_THAT(pub, IsOk());
    EXPECT_EQ(EVP_PKEY_eq(key, pub->get()), 1);
    EXPECT_EQ(EVP_PKEY_eq(Decoded(spki).get(), pub->get()), 1);
    EXPECT_EQ(Spki(pub->get()), spki);
  }
}

TEST(EcKeysTest, SpkiWithThePrefixButOffTheCurveOrWithTrailingBytesIsRefused) {
  auto pair = GenerateP256Key();
  const std::string spki = Spki(pair->get());
  std::string off = spki;
  off.back() ^= 1;  // y changed: not on P-256
  EXPECT_EQ(PublicKeyFromSpki(off).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Decoded(off), nullptr);  // as the decoder refuses it
  EXPECT_EQ(PublicKeyFromSpki(spki + '\0').status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PublicKeyFromSpki(spki.substr(0, spki.size() - 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PublicKeyFromSpki("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PublicKeyFromSpki("\x30\x03\x02\x01\x01").status().code(),
            absl::StatusCode::kInvalidArgument);
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
    compressed = Spki(copy.get());
  }
  ASSERT_EQ(compressed.size(), 59u);
  auto from_compressed = PublicKeyFromSpki(compressed);
  ASSERT_THAT(from_compressed, IsOk());
  EXPECT_EQ(EVP_PKEY_eq(pair->get(), from_compressed->get()), 1);
  EvpPkeyPtr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
  auto from_rsa = PublicKeyFromSpki(Spki(rsa.get()));
  ASSERT_THAT(from_rsa, IsOk());
  EXPECT_EQ(EVP_PKEY_eq(rsa.get(), from_rsa->get()), 1);
  EvpPkeyPtr k1(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"));
  auto from_k1 = PublicKeyFromSpki(Spki(k1.get()));
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
