// libFuzzer target for what kbunlock reads from whatever answers at a broker's address: the
// server's side of an HTTP/2 connection (the bytes after TLS), through the guest's unary gRPC
// client (nghttp2, the message framing, the status from headers, trailers or a reset). Each
// call must end, with a response or a status. Input: one byte that sets the read size, then the
// server's bytes in up to three parts separated by "\xffNEXT": for the first call, what is
// waiting when the client asks whether the connection takes a second call, and for that call.
// See tests/fuzz/README.md.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "unlocker/unary_grpc/http2_connection.h"

namespace {

constexpr absl::string_view kNext = "\xffNEXT";

// The server's bytes in chunks of a size the input's first byte chose, up to the current
// part's end; what the client writes is dropped. At a part's end it has nothing to read yet
// (Release() moves on to the next part); at the end of the last it is closed.
class ScriptedStream final : public kb::unary_grpc::ByteStream {
 public:
  ScriptedStream(std::string data, std::vector<size_t> ends, size_t chunk)
      : data_(std::move(data)), ends_(std::move(ends)), chunk_(chunk) {}
  absl::Status Write(absl::string_view, absl::Time) override { return absl::OkStatus(); }
  absl::StatusOr<size_t> Read(char* out, size_t size, absl::Time) override {
    if (pos_ == data_.size()) return absl::UnavailableError("closed");
    if (pos_ == ends_[part_]) return absl::DeadlineExceededError("nothing yet");
    const size_t n = std::min({size, chunk_, ends_[part_] - pos_});
    memcpy(out, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  bool HasInputOrClosed() override { return pos_ < ends_[part_] || pos_ == data_.size(); }
  void Release() { part_ = std::min(part_ + 1, ends_.size() - 1); }

 private:
  std::string data_;
  std::vector<size_t> ends_;
  size_t chunk_;
  size_t part_ = 0;
  size_t pos_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size < 1) return 0;
  absl::string_view rest(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  std::string server;
  std::vector<size_t> ends;
  for (int part = 0; part < 3; ++part) {
    const size_t cut = part == 2 ? rest.size() : std::min(rest.find(kNext), rest.size());
    server.append(rest.data(), cut);
    ends.push_back(server.size());
    rest.remove_prefix(std::min(rest.size(), cut + kNext.size()));
  }
  auto owned = std::make_unique<ScriptedStream>(server, ends, size_t{bytes[0]} + 1);
  ScriptedStream* stream = owned.get();
  auto connection = kb::unary_grpc::Http2Connection::Start(std::move(owned), "broker:443");
  if (!connection.ok()) return 0;
  const absl::Time deadline = absl::InfiniteFuture();
  (void)(*connection)->Call("/kb.v1.KeyRelease/GetChallenge", "request", deadline);
  stream->Release();
  if ((*connection)->ReadyForCall(deadline)) {
    stream->Release();
    (void)(*connection)->Call("/kb.v1.KeyRelease/ReleaseKey", "request", deadline);
  }
  return 0;
}
