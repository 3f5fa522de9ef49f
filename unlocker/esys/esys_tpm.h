#ifndef KB_UNLOCKER_ESYS_ESYS_TPM_H_
#define KB_UNLOCKER_ESYS_ESYS_TPM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "unlocker/esys/esys_attestation.h"
#include "unlocker/esys/esys_context.h"
#include "unlocker/esys/esys_endorsement.h"
#include "unlocker/esys/esys_nv.h"
#include "unlocker/esys/esys_sealing.h"
#include "unlocker/tpm/tpm.h"
#include "unlocker/tpm/tpm_endorsement.h"
#include "unlocker/tpm/tpm_nv.h"

namespace kb {

struct EsysTpmOptions {
  // tpm2-tss TCTI configuration, passed to Tss2_TctiLdr_Initialize ("device:/dev/tpmrm0",
  // "swtpm:host=127.0.0.1,port=2321", ...). Use the kernel resource manager (tpmrm0), not
  // /dev/tpm0, so transient objects do not leak into other TPM users.
  std::string tcti = "device:/dev/tpmrm0";
  // Persistent handle of the attestation key. 0x81000100 is in the owner range for
  // platform/OS-provisioned keys (TCG "Registry of Reserved TPM 2.0 Handles": 0x81000000 -
  // 0x8100FFFF), clear of the SRK (0x81000001) and EK (0x81010001) conventions. If the handle is
  // empty, Create() makes the AK (ECC P-256, ECDSA-SHA256, restricted signing, endorsement
  // hierarchy) and persists it here with owner authorization (an empty owner auth is assumed).
  uint32_t ak_handle = 0x81000100;
  // false: an empty `ak_handle` is FAILED_PRECONDITION instead of a new AK (for a key the
  // platform provides, such as Azure's HCL AK: kbunlock never makes one in its place).
  bool create_ak = true;
  // NV index of the monotonic counter that counts offline boots (owner range; defined on first
  // SealOffline with empty auth, noDA). An NV counter never goes back: a redefined one starts at
  // the highest count the TPM has ever held, so the allowance cannot be reset by the guest.
  uint32_t offline_nv_index = 0x01004b42;
};

// Whether NV index `index` is defined in the TPM at `tcti`, through a short-lived ESYS context
// of its own (for choosing the evidence kind before an EsysTpm with the right AK is opened).
// UNAVAILABLE if the TPM cannot be reached.
absl::StatusOr<bool> EsysNvIndexDefined(const std::string& tcti, uint32_t index);

// kb::Tpm, kb::TpmNv and kb::TpmEndorsement on a real TPM (or swtpm) through tpm2-tss ESYS:
// one EsysContext shared by four role objects (esys_attestation.h, esys_sealing.h,
// esys_nv.h, esys_endorsement.h), to which each call goes. Not thread-safe (one ESYS context).
class EsysTpm final : public Tpm, public TpmNv, public TpmEndorsement {
 public:
  // Connects to the TPM and loads (or creates and persists) the AK.
  // UNAVAILABLE if the TCTI cannot reach the TPM; FAILED_PRECONDITION if `ak_handle` holds an
  // object that is not a restricted signing key, or the TPM refuses a command (e.g. owner auth
  // set); INVALID_ARGUMENT if `ak_handle` is not a persistent handle; INTERNAL for other TSS
  // errors.
  static absl::StatusOr<std::unique_ptr<EsysTpm>> Create(const EsysTpmOptions& options);

  EsysTpm(const EsysTpm&) = delete;
  EsysTpm& operator=(const EsysTpm&) = delete;

  // kb::Tpm: attestation.
  absl::StatusOr<std::string> AttestationKeyPublic() override {
    return attestation_.AttestationKeyPublic();
  }
  absl::StatusOr<std::string> CreateTransferKey(TransferKeyType type) override {
    return attestation_.CreateTransferKey(type);
  }
  absl::StatusOr<v1::TpmTransferKey> CertifyTransferKey(absl::string_view binding) override {
    return attestation_.CertifyTransferKey(binding);
  }
  absl::StatusOr<v1::TpmQuoteEvidence> Quote(absl::string_view binding,
                                             const std::vector<uint32_t>& pcrs) override {
    return attestation_.Quote(binding, pcrs);
  }
  absl::StatusOr<SecretBytes> Unwrap(const v1::WrappedKey& wrapped) override {
    return attestation_.Unwrap(wrapped);
  }
  // kb::Tpm: sealing. The counter lives at EsysTpmOptions::offline_nv_index.
  absl::StatusOr<SealedKey> SealOffline(const SecretBytes& key, const std::vector<uint32_t>& pcrs,
                                        uint32_t boots) override {
    return sealing_.SealOffline(key, pcrs, boots);
  }
  absl::StatusOr<SecretBytes> UnsealOffline(const SealedKey& sealed, uint64_t* remaining) override {
    return sealing_.UnsealOffline(sealed, remaining);
  }
  // kb::TpmNv.
  absl::StatusOr<bool> NvDefined(uint32_t index) override { return nv_.NvDefined(index); }
  absl::Status NvDefine(uint32_t index, uint16_t size) override {
    return nv_.NvDefine(index, size);
  }
  absl::Status NvWrite(uint32_t index, absl::string_view data) override {
    return nv_.NvWrite(index, data);
  }
  absl::StatusOr<std::string> NvRead(uint32_t index) override { return nv_.NvRead(index); }
  // kb::TpmEndorsement.
  absl::StatusOr<EkCertificate> ReadEkCertificate() override {
    return endorsement_.ReadEkCertificate();
  }
  absl::StatusOr<SecretBytes> ActivateCredential(EkType type, absl::string_view credential_blob,
                                                 absl::string_view encrypted_secret) override {
    return endorsement_.ActivateCredential(type, credential_blob, encrypted_secret);
  }

  // Makes the persistent key at `ak_handle` the AK for AttestationKeyPublic, Quote and
  // CertifyTransferKey (e.g. Azure's HCL AK at 0x81000003). Creates and persists one as Create()
  // does only when `create_if_missing`; otherwise FAILED_PRECONDITION if the handle is empty.
  // INVALID_ARGUMENT for a non-persistent handle; FAILED_PRECONDITION for a key that is not a
  // restricted signing key.
  absl::Status UseAttestationKey(uint32_t ak_handle, bool create_if_missing) {
    return attestation_.UseAttestationKey(ak_handle, create_if_missing);
  }

 private:
  EsysTpm(std::unique_ptr<EsysContext> ctx, uint32_t offline_nv_index);

  // Declared first: the roles use it, and it is destroyed after them.
  std::unique_ptr<EsysContext> ctx_;
  EsysAttestation attestation_;
  EsysSealing sealing_;
  EsysNv nv_;
  EsysEndorsement endorsement_;
};

}  // namespace kb

#endif  // KB_UNLOCKER_ESYS_ESYS_TPM_H_
