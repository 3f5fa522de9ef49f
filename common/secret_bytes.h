#ifndef KB_COMMON_SECRET_BYTES_H_
#define KB_COMMON_SECRET_BYTES_H_

#include <openssl/crypto.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/string_view.h"

namespace kb {

// Allocator that wipes memory with OPENSSL_cleanse before releasing it.
template <typename T>
struct CleansingAllocator {
  using value_type = T;
  CleansingAllocator() = default;
  template <typename U>
  CleansingAllocator(const CleansingAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept {
    OPENSSL_cleanse(p, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
  template <typename U>
  bool operator==(const CleansingAllocator<U>&) const noexcept {
    return true;
  }
};

// The only type that holds key material: disk keys, KEKs, unwrapped secrets. Zeroed on
// destruction and on every reallocation. Deliberately has no stream operator. Thread-compatible.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::size_t size) : bytes_(size) {}
  SecretBytes(const uint8_t* data, std::size_t size) : bytes_(data, data + size) {}
  static SecretBytes FromString(absl::string_view s) {
    return SecretBytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&&) noexcept = default;
  SecretBytes& operator=(SecretBytes&&) noexcept = default;
  // Copies are explicit so secrets are not duplicated by accident.
  SecretBytes Clone() const { return SecretBytes(data(), size()); }

  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  std::size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  void resize(std::size_t n) { bytes_.resize(n); }
  absl::string_view view() const {
    return absl::string_view(reinterpret_cast<const char*>(bytes_.data()), bytes_.size());
  }

 private:
  std::vector<uint8_t, CleansingAllocator<uint8_t>> bytes_;
};

// Constant-time equality (time depends only on the lengths).
inline bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}
inline bool ConstantTimeEquals(const SecretBytes& a, const SecretBytes& b) {
  return ConstantTimeEquals(a.view(), b.view());
}

}  // namespace kb

#endif  // KB_COMMON_SECRET_BYTES_H_
