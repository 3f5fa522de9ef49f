#include "common/ec_keys.h"

#include <openssl/core_names.h>

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
