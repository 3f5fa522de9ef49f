#ifndef KB_UNLOCKER_FLOW_REKEY_H_
#define KB_UNLOCKER_FLOW_REKEY_H_

#include <vector>

#include "absl/status/status.h"
#include "unlocker/flow/key_retrieval.h"
#include "unlocker/volume/volume.h"

namespace kb {

// Re-enrols a volume after a key rotation. `token` (version v) just opened the volume with
// `key`; the broker reported `latest` > v. Steps, each leaving a volume that opens:
//   1. release version `latest` (attested, like any release);
//   2. add a keyslot for it, authorised by the old key;
//   3. write a new token (version `latest`) for that keyslot; the old token still works;
//   4. verify the new keyslot opens with the new key;
//   5. remove the old token, then the old keyslot;
//   6. confirm the enrolment of `latest` to the broker (attested); a failure is a warning and
//      leaves the token marked unconfirmed, confirmed at a later unlock.
// Interrupted after 3, the next unlock tries the newest token first and finishes step 5
// (RetireOlderTokens). Interrupted between 2 and 3, an unreferenced keyslot is left behind;
// `kbunlock status` shows it. Returns the new token, or the step that failed. The release uses
// the token's evidence kind through `evidence_for` (null: TPM quotes from `tpm`).
absl::StatusOr<KeybrokerToken> ReEnroll(Volume& volume, Tpm& tpm,
                                        const EvidenceSourceFor& evidence_for,
                                        const BrokerConnector& connect, const KeybrokerToken& token,
                                        const SecretBytes& key, uint32_t latest,
                                        const Progress& progress);

// Removes `token`, then its keyslot unless that is `keep_keyslot` (so that no token ever points
// at a missing keyslot).
absl::Status RemoveTokenAndKeyslot(Volume& volume, const KeybrokerToken& token,
                                   int keep_keyslot = -1);

// After `opened` opened the volume: removes the other tokens of the same key with an older
// version, and their keyslots (finishing an interrupted re-enrolment). Failures are reported
// through `progress` and otherwise ignored.
void RetireOlderTokens(Volume& volume, const std::vector<KeybrokerToken>& tokens,
                       const KeybrokerToken& opened, const Progress& progress);

}  // namespace kb

#endif  // KB_UNLOCKER_FLOW_REKEY_H_
