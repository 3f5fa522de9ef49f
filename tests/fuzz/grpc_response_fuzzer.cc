// libFuzzer target for what kbunlock reads from whatever answers at a broker's address: the
// server's side of an HTTP/2 connection (the bytes after TLS), through the guest's unary gRPC
// client (nghttp2, the message framing, the status from headers, trailers or a reset). Each
// call must end, with a response or a status; the connection is then asked whether it can take
// another call, and a second call is made if so. See tests/fuzz/README.md.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "unlocker/unary_grpc/http2_connection.h"

namespace {

// The server's bytes in chunks of a size the input's first byte chose; what the client writes
// is dropped. Closed once the bytes run out.
class ScriptedStream final : public kb::unary_grpc::ByteStream {
 public:
  ScriptedStream(const uint8_t* data, size_t size, size_t chunk)
      : data_(data), size_(size), chunk_(chunk) {}
  absl::Status Write(absl::string_view, absl::Time) override { return absl::OkStatus(); }
  absl::StatusOr<size_t> Read(char* out, size_t size, absl::Time) override {
    if (pos_ == size_) return absl::UnavailableError("closed");
    const size_t n = std::min({size, chunk_, size_ - pos_});
    memcpy(out, data_ + pos_, n);
    pos_ += n;
    return n;
  }
  bool HasInputOrClosed() override { return true; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t chunk_;
  size_t pos_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  auto connection = kb::unary_grpc::Http2Connection::Start(
      std::make_unique<ScriptedStream>(data + 1, size - 1, size_t{data[0]} + 1), "broker:443");
  if (!connection.ok()) return 0;
  const absl::Time deadline = absl::InfiniteFuture();
  (void)(*connection)->Call("/kb.v1.KeyRelease/GetChallenge", "request", deadline);
  if ((*connection)->ReadyForCall()) {
    (void)(*connection)->Call("/kb.v1.KeyRelease/ReleaseKey", "request", deadline);
  }
  return 0;
}
