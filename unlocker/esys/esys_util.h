#ifndef KB_UNLOCKER_ESYS_ESYS_UTIL_H_
#define KB_UNLOCKER_ESYS_ESYS_UTIL_H_

// Internal helpers of EsysTpm: TSS2 return codes as Status, owners for ESYS-allocated memory.

#include <openssl/crypto.h>
#include <tss2/tss2_esys.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kb {

// Status for a failed TSS2 call `op`, with Tss2_RC_Decode text. Connection/IO errors ->
// UNAVAILABLE; errors returned by the TPM itself -> FAILED_PRECONDITION, or INVALID_ARGUMENT
// for parameter errors when `bad_input_is_caller_error` (the caller passed untrusted input);
// anything else -> INTERNAL.
absl::Status TssError(absl::string_view op, TSS2_RC rc, bool bad_input_is_caller_error = false);

// Creates a primary key in `hierarchy` (empty auth) from `tmpl`; returns its transient handle and,
// if `out` is set, its public area.
absl::StatusOr<ESYS_TR> CreatePrimary(ESYS_CONTEXT* esys, ESYS_TR hierarchy,
                                      const TPM2B_PUBLIC& tmpl, TPMT_PUBLIC* out);

// Frees memory returned by Esys_* with Esys_Free.
struct EsysFreeDeleter {
  void operator()(void* p) const { Esys_Free(p); }
};
template <typename T>
using EsysPtr = std::unique_ptr<T, EsysFreeDeleter>;

// Wipes, then frees, an ESYS-returned structure that holds secret material (Z, a KEK).
template <typename T>
struct EsysCleanseDeleter {
  void operator()(T* p) const {
    if (p == nullptr) return;
    OPENSSL_cleanse(p, sizeof(T));
    Esys_Free(p);
  }
};
template <typename T>
using SecretEsysPtr = std::unique_ptr<T, EsysCleanseDeleter<T>>;

}  // namespace kb

#endif  // KB_UNLOCKER_ESYS_ESYS_UTIL_H_
