#ifndef KB_UNLOCKER_TOKEN_PLUGIN_TOKEN_OPEN_H_
#define KB_UNLOCKER_TOKEN_PLUGIN_TOKEN_OPEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secret_bytes.h"
#include "unlocker/flow/key_retrieval.h"
#include "unlocker/token_plugin/plugin_settings.h"

namespace kb {

// The passphrase of the keyslot a keybroker token (`token_json`, as libcryptsetup stores it)
// guards, obtained as `kbunlock unlock` obtains it: the broker CA must be the one the token
// was enrolled with; the TPM (or, for snp/tdx tokens, the TEE) attests; the first of the
// token's brokers that answers releases the key, within settings.timeout; when none answers
// and the token holds an offline copy, the vTPM unseals it (spending one offline boot). What
// kbunlock does after an unlock (re-enrolment to a newer version, resealing the offline copy,
// confirming the enrolment) changes the LUKS2 header and stays with kbunlock. Errors carry
// kbunlock's exit codes (exit_codes.h) and say why.
absl::StatusOr<SecretBytes> OpenKeybrokerToken(absl::string_view token_json,
                                               const PluginSettings& settings,
                                               const Progress& progress);

}  // namespace kb

#endif  // KB_UNLOCKER_TOKEN_PLUGIN_TOKEN_OPEN_H_
