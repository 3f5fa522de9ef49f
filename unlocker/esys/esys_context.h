#ifndef KB_UNLOCKER_ESYS_ESYS_CONTEXT_H_
#define KB_UNLOCKER_ESYS_ESYS_CONTEXT_H_

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tcti.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace kb {

// One connection to a TPM (or swtpm) through tpm2-tss: the TCTI and the ESYS context over it,
// shared by the role objects of EsysTpm (attestation, sealing, NV, endorsement). Not
// thread-safe.
class EsysContext {
 public:
  // Connects through the TCTI configuration `tcti` ("device:/dev/tpmrm0",
  // "swtpm:host=127.0.0.1,port=2321", ...). UNAVAILABLE if the TPM cannot be reached or used.
  static absl::StatusOr<std::unique_ptr<EsysContext>> Open(const std::string& tcti);

  ESYS_CONTEXT* get() const { return esys_.get(); }

  // Whether a persistent object or NV index has `handle`. INTERNAL/UNAVAILABLE from the TPM.
  absl::StatusOr<bool> HandleExists(uint32_t handle);

 private:
  struct TctiDeleter {
    void operator()(TSS2_TCTI_CONTEXT* tcti) const;
  };
  struct EsysDeleter {
    void operator()(ESYS_CONTEXT* ctx) const;
  };
  EsysContext() = default;

  // Declared in this order so the ESYS context is finalized before its TCTI.
  std::unique_ptr<TSS2_TCTI_CONTEXT, TctiDeleter> tcti_;
  std::unique_ptr<ESYS_CONTEXT, EsysDeleter> esys_;
};

}  // namespace kb

#endif  // KB_UNLOCKER_ESYS_ESYS_CONTEXT_H_
