#ifndef KB_UNLOCKER_FLOW_OFFLINE_GRACE_H_
#define KB_UNLOCKER_FLOW_OFFLINE_GRACE_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "unlocker/flow/key_retrieval.h"
#include "unlocker/tpm/tpm.h"
#include "unlocker/volume/volume.h"

namespace kb {

// The vTPM's identity for KeybrokerToken::vtpm; "" without a usable TPM.
std::string VtpmId(Tpm& tpm);

// Whether the vTPM whose VtpmId is `now` is not the one that wrote `token` (both known and
// different): its state was replaced, e.g. a VM whose vTPM is not kept across boots.
bool IsAnotherVtpm(absl::string_view now, const KeybrokerToken& token);

// After an online release: seals `key` for `boots` offline boots (bound to the token's PCRs)
// and stores the sealed copy in the token, or removes the copy when `boots` is 0. A failure
// here never fails the unlock that already succeeded; it is reported through `progress`.
void RefreshOfflineCopy(Volume& volume, Tpm& tpm, KeybrokerToken token, const SecretBytes& key,
                        uint32_t boots, const Progress& progress);

// Unseals the token's offline copy, consuming one offline boot. FAILED_PRECONDITION when the
// token has none or another vTPM sealed it (IsAnotherVtpm); the TPM's errors otherwise
// (allowance used up, PCRs changed).
absl::StatusOr<SecretBytes> UnsealOfflineCopy(Tpm& tpm, const KeybrokerToken& token,
                                              uint64_t* remaining);

}  // namespace kb

#endif  // KB_UNLOCKER_FLOW_OFFLINE_GRACE_H_
