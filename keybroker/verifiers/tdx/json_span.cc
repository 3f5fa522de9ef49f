#include "keybroker/verifiers/tdx/json_span.h"

#include <cctype>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace kb {
namespace tdx {
namespace {

constexpr int kMaxDepth = 32;

// A strict recursive-descent JSON validator over a string_view; never reads past the end.
class Scanner {
 public:
  explicit Scanner(absl::string_view s) : s_(s) {}

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("JSON: ", what, " at offset ", pos_));
  }
  void SkipWs() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Peek(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  bool AtEnd() const { return pos_ == s_.size(); }
  std::size_t pos() const { return pos_; }

  absl::Status Expect(char c) {
    if (!Peek(c)) return Error(absl::StrCat("expected '", std::string(1, c), "'"));
    ++pos_;
    return absl::OkStatus();
  }

  // Skips a string; returns its raw (undecoded) content.
  absl::StatusOr<absl::string_view> String() {
    RETURN_IF_ERROR(Expect('"'));
    std::size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c < 0x20) return Error("control character in string");
      if (c == '\\')
        RETURN_IF_ERROR(Escape());
      else
        ++pos_;
    }
    if (AtEnd()) return Error("unterminated string");
    absl::string_view raw = s_.substr(start, pos_ - start);
    ++pos_;
    return raw;
  }

  absl::Status Value(int depth) {
    if (depth > kMaxDepth) return Error("nesting too deep");
    SkipWs();
    if (AtEnd()) return Error("expected a value");
    switch (s_[pos_]) {
      case '{':
        return Object(depth + 1, nullptr, nullptr);
      case '[':
        return Array(depth + 1);
      case '"':
        return String().status();
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        return Number();
    }
  }

  // Scans an object; if `key` is set, stores the span of that member's value in `span`.
  absl::Status Object(int depth, const absl::string_view* key, absl::string_view* span) {
    RETURN_IF_ERROR(Expect('{'));
    std::set<absl::string_view> keys;
    SkipWs();
    if (Peek('}')) return Expect('}');
    while (true) {
      SkipWs();
      ASSIGN_OR_RETURN(absl::string_view k, String());
      if (k.find('\\') != absl::string_view::npos) return Error("escaped object key");
      if (!keys.insert(k).second) return Error(absl::StrCat("duplicate key \"", k, "\""));
      SkipWs();
      RETURN_IF_ERROR(Expect(':'));
      SkipWs();
      std::size_t start = pos_;
      RETURN_IF_ERROR(Value(depth));
      if (key != nullptr && k == *key) *span = s_.substr(start, pos_ - start);
      SkipWs();
      if (Peek('}')) return Expect('}');
      RETURN_IF_ERROR(Expect(','));
    }
  }

 private:
  absl::Status Escape() {
    ++pos_;  // the backslash
    if (AtEnd()) return Error("unterminated escape");
    char e = s_[pos_++];
    if (e == 'u') {
      for (int i = 0; i < 4; ++i, ++pos_) {
        if (AtEnd() || !std::isxdigit(static_cast<unsigned char>(s_[pos_]))) {
          return Error("bad \\u escape");
        }
      }
      return absl::OkStatus();
    }
    if (std::string("\"\\/bfnrt").find(e) == std::string::npos) return Error("bad escape");
    return absl::OkStatus();
  }

  absl::Status Array(int depth) {
    RETURN_IF_ERROR(Expect('['));
    SkipWs();
    if (Peek(']')) return Expect(']');
    while (true) {
      RETURN_IF_ERROR(Value(depth));
      SkipWs();
      if (Peek(']')) return Expect(']');
      RETURN_IF_ERROR(Expect(','));
    }
  }

  absl::Status Literal(absl::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return Error("bad literal");
    pos_ += word.size();
    return absl::OkStatus();
  }

  std::size_t Digits() {
    std::size_t n = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_, ++n;
    return n;
  }

  absl::Status Number() {
    if (Peek('-')) ++pos_;
    if (Peek('0')) {
      ++pos_;
    } else if (Digits() == 0) {
      return Error("expected a value");
    }
    if (Peek('.')) {
      ++pos_;
      if (Digits() == 0) return Error("bad fraction");
    }
    if (Peek('e') || Peek('E')) {
      ++pos_;
      if (Peek('+') || Peek('-')) ++pos_;
      if (Digits() == 0) return Error("bad exponent");
    }
    return absl::OkStatus();
  }

  absl::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<absl::string_view> TopLevelValueSpan(absl::string_view json, absl::string_view key) {
  Scanner sc(json);
  sc.SkipWs();
  absl::string_view span;
  RETURN_IF_ERROR(sc.Object(1, &key, &span));
  sc.SkipWs();
  if (!sc.AtEnd()) return sc.Error("trailing data after the document");
  if (span.data() == nullptr)
    return absl::NotFoundError(absl::StrCat("JSON has no top-level \"", key, "\""));
  return span;
}

}  // namespace tdx
}  // namespace kb
