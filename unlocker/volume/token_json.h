#ifndef KB_UNLOCKER_VOLUME_TOKEN_JSON_H_
#define KB_UNLOCKER_VOLUME_TOKEN_JSON_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "unlocker/volume/volume.h"

namespace kb {

// The LUKS2 token type of a KeybrokerToken.
inline constexpr char kKeybrokerTokenType[] = "keybroker";
// The only schema version this code reads and writes (docs/token.md).
inline constexpr int kKeybrokerTokenVersion = 1;

// Checks the fields of `token` that go into the header (token_id is not checked): keyslot
// >= 0, endpoints non-empty "host:port", ca_sha256 64 hex digits, key_id non-empty,
// pcrs in 0..23 without duplicates, transfer_key known. INVALID_ARGUMENT naming the field.
absl::Status ValidateKeybrokerToken(const KeybrokerToken& token);

// Serialises `token` as LUKS2 token JSON (docs/token.md); token_id is not part of the JSON.
// INVALID_ARGUMENT if ValidateKeybrokerToken fails.
absl::StatusOr<std::string> KeybrokerTokenToJson(const KeybrokerToken& token);

// Parses LUKS2 token JSON of type "keybroker". Strict about every known field (missing, wrong
// type, bad value -> INVALID_ARGUMENT naming the field); unknown fields are ignored. The
// returned token has token_id -1.
absl::StatusOr<KeybrokerToken> KeybrokerTokenFromJson(absl::string_view json);

}  // namespace kb

#endif  // KB_UNLOCKER_VOLUME_TOKEN_JSON_H_
