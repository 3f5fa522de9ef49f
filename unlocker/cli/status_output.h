#ifndef KB_UNLOCKER_CLI_STATUS_OUTPUT_H_
#define KB_UNLOCKER_CLI_STATUS_OUTPUT_H_

#include <string>
#include <vector>

#include "unlocker/volume/volume.h"

namespace kb {

// `kbunlock status`: the volume's keyslots and keybroker tokens for a person to read.
std::string StatusText(const std::vector<KeyslotInfo>& slots,
                       const std::vector<KeybrokerToken>& tokens);

// `kbunlock status --json`: the same as one JSON object for scripts,
//   {"device": ..., "keyslots": [{"keyslot": 0, "state": "active"}],
//    "tokens": [{"token_id", "keyslot", "key_id", "key_version", "brokers", "pcrs",
//                "transfer_key", "evidence", "ak_trust", "confirmed", "offline_copy",
//                "ca_sha256", "vtpm"}]}
// "confirmed" is true, false or null (a token from before confirmations). No secret is in a
// token, and the sealed offline copy is reported only as present or not.
std::string StatusJson(const std::string& device, const std::vector<KeyslotInfo>& slots,
                       const std::vector<KeybrokerToken>& tokens);

}  // namespace kb

#endif  // KB_UNLOCKER_CLI_STATUS_OUTPUT_H_
