// libFuzzer target for what kbunlock reads from a LUKS2 header it does not control: the
// keybroker token JSON (parsed, then written back and parsed again: the round trip must hold),
// and crypttab lines. See tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "unlocker/cli/crypttab.h"
#include "unlocker/volume/token_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  (void)kb::ParseCrypttab(text);
  auto token = kb::KeybrokerTokenFromJson(text);
  if (!token.ok()) return 0;
  auto json = kb::KeybrokerTokenToJson(*token);
  if (!json.ok()) return 0;
  auto again = kb::KeybrokerTokenFromJson(*json);
  if (!again.ok()) std::abort();  // a token we wrote must parse
  return 0;
}
