#ifndef KB_UNLOCKER_ESYS_ESYS_SEALING_H_
#define KB_UNLOCKER_ESYS_ESYS_SEALING_H_

#include <tss2/tss2_esys.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "unlocker/esys/esys_context.h"
#include "unlocker/tpm/tpm.h"

namespace kb {

// The sealing role of EsysTpm: the offline copy of a disk key, sealed under the storage key
// to the PCRs and to a monotonic NV counter at `nv_index` that counts offline boots (defined on
// first use with empty auth, noDA; a counter never goes back). Not thread-safe.
class EsysSealing {
 public:
  EsysSealing(EsysContext* ctx, uint32_t nv_index) : ctx_(*ctx), nv_index_(nv_index) {}

  // As kb::Tpm.
  absl::StatusOr<SealedKey> SealOffline(const SecretBytes& key, const std::vector<uint32_t>& pcrs,
                                        uint32_t boots);
  absl::StatusOr<SecretBytes> UnsealOffline(const SealedKey& sealed, uint64_t* remaining);

 private:
  absl::StatusOr<ESYS_TR> OfflineCounter(uint32_t nv_index, bool create);
  absl::StatusOr<uint64_t> ReadCounter(ESYS_TR nv);
  absl::Status ApplyOfflinePolicy(ESYS_TR session, ESYS_TR nv, const std::vector<uint32_t>& pcrs,
                                  uint64_t limit);

  EsysContext& ctx_;
  const uint32_t nv_index_;
};

}  // namespace kb

#endif  // KB_UNLOCKER_ESYS_ESYS_SEALING_H_
