#include "keybroker/verifiers/azure/azure_quote.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace kb {
namespace {

constexpr uint64_t kMaxBincodeField = 4096;  // signatures and TPMS_ATTEST are far smaller
constexpr uint64_t kMaxPcrs = 24;

// Reads length-prefixed fields of the bincode container without reading past its end.
class BincodeReader {
 public:
  explicit BincodeReader(absl::string_view b) : b_(b) {}
  absl::StatusOr<uint64_t> U64(absl::string_view what) {
    if (b_.size() - pos_ < 8) return Truncated(what);
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
      v |= static_cast<uint64_t>(static_cast<uint8_t>(b_[pos_ + i])) << (8 * i);
    pos_ += 8;
    return v;
  }
  absl::StatusOr<std::string> Bytes(uint64_t n, absl::string_view what) {
    if (b_.size() - pos_ < n) return Truncated(what);
    std::string out(b_.substr(pos_, n));
    pos_ += n;
    return out;
  }
  std::size_t remaining() const { return b_.size() - pos_; }

 private:
  absl::Status Truncated(absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("bincode quote truncated in ", what));
  }
  absl::string_view b_;
  std::size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<TpmQuote> ParseAzureBincodeQuote(absl::string_view bytes) {
  BincodeReader r(bytes);
  TpmQuote q;
  ASSIGN_OR_RETURN(uint64_t sig_len, r.U64("signature length"));
  if (sig_len > kMaxBincodeField) return absl::InvalidArgumentError("signature is oversized");
  ASSIGN_OR_RETURN(q.signature, r.Bytes(sig_len, "signature"));
  ASSIGN_OR_RETURN(uint64_t msg_len, r.U64("message length"));
  if (msg_len > kMaxBincodeField) return absl::InvalidArgumentError("message is oversized");
  ASSIGN_OR_RETURN(q.attest, r.Bytes(msg_len, "message"));
  ASSIGN_OR_RETURN(uint64_t count, r.U64("PCR count"));
  if (count > kMaxPcrs) return absl::InvalidArgumentError("more than 24 PCR values");
  for (uint64_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(std::string pcr, r.Bytes(32, "PCR values"));
    q.pcrs_sha256.push_back(std::move(pcr));
  }
  if (r.remaining() != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("bincode quote followed by ", r.remaining(), " trailing bytes"));
  }
  return q;
}

}  // namespace kb
