#include "common/openssl_util.h"

#include <openssl/err.h>

#include "absl/strings/str_cat.h"

namespace kb {

absl::Status OpenSslError(absl::string_view what, absl::StatusCode code) {
  std::string detail;
  unsigned long err;
  while ((err = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    if (detail.empty()) detail = buf;
  }
  if (detail.empty()) return absl::Status(code, what);
  return absl::Status(code, absl::StrCat(what, ": ", detail));
}

}  // namespace kb
