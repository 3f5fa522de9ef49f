#ifndef KB_UNLOCKER_TPM_ESYS_TPM_H_
#define KB_UNLOCKER_TPM_ESYS_TPM_H_

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tcti.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
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
  // NV index of the monotonic counter that counts offline boots (owner range; defined on first
  // SealOffline with empty auth, noDA). An NV counter never goes back: a redefined one starts at
  // the highest count the TPM has ever held, so the allowance cannot be reset by the guest.
  uint32_t offline_nv_index = 0x01004b42;
};

// Whether NV index `index` is defined in the TPM at `tcti`, through a short-lived ESYS context
// of its own (for choosing the evidence kind before an EsysTpm with the right AK is opened).
// UNAVAILABLE if the TPM cannot be reached.
absl::StatusOr<bool> EsysNvIndexDefined(const std::string& tcti, uint32_t index);

// kb::Tpm (and kb::TpmNv) on a real TPM (or swtpm) through tpm2-tss ESYS. Transfer keys are primary
// keys in the NULL hierarchy with a random `unique` field: fresh per call, gone at the next TPM
// reset, and flushed when replaced or when this object is destroyed. Not thread-safe (one ESYS
// context).
class EsysTpm final : public Tpm, public TpmNv, public TpmEndorsement {
 public:
  // Connects to the TPM and loads (or creates and persists) the AK.
  // UNAVAILABLE if the TCTI cannot reach the TPM; FAILED_PRECONDITION if `ak_handle` holds an
  // object that is not a restricted signing key, or the TPM refuses a command (e.g. owner auth
  // set); INVALID_ARGUMENT if `ak_handle` is not a persistent handle; INTERNAL for other TSS
  // errors.
  static absl::StatusOr<std::unique_ptr<EsysTpm>> Create(const EsysTpmOptions& options);

  ~EsysTpm() override;
  EsysTpm(const EsysTpm&) = delete;
  EsysTpm& operator=(const EsysTpm&) = delete;

  absl::StatusOr<std::string> AttestationKeyPublic() override;
  absl::StatusOr<std::string> CreateTransferKey(TransferKeyType type) override;
  absl::StatusOr<v1::TpmTransferKey> CertifyTransferKey(absl::string_view binding) override;
  absl::StatusOr<v1::TpmQuoteEvidence> Quote(absl::string_view binding,
                                             const std::vector<uint32_t>& pcrs) override;
  absl::StatusOr<SecretBytes> Unwrap(const v1::WrappedKey& wrapped) override;
  // Offline sealing (esys_seal.cc). The counter lives at `offline_nv_index`.
  absl::StatusOr<SealedKey> SealOffline(const SecretBytes& key, const std::vector<uint32_t>& pcrs,
                                        uint32_t boots) override;
  absl::StatusOr<SecretBytes> UnsealOffline(const SealedKey& sealed, uint64_t* remaining) override;
  // Ordinary NV indices (esys_nv.cc).
  absl::StatusOr<bool> NvDefined(uint32_t index) override;
  absl::Status NvDefine(uint32_t index, uint16_t size) override;
  absl::Status NvWrite(uint32_t index, absl::string_view data) override;
  absl::StatusOr<std::string> NvRead(uint32_t index) override;
  // The endorsement key (esys_ek.cc). The EK is the persistent one at 0x81010001 (RSA) /
  // 0x81010002 (ECC) when it is there, else a primary key from the default template.
  absl::StatusOr<EkCertificate> ReadEkCertificate() override;
  absl::StatusOr<SecretBytes> ActivateCredential(EkType type, absl::string_view credential_blob,
                                                 absl::string_view encrypted_secret) override;

  // Makes the persistent key at `ak_handle` the AK for AttestationKeyPublic, Quote and
  // CertifyTransferKey (e.g. Azure's HCL AK at 0x81000003). Creates and persists one as Create()
  // does only when `create_if_missing`; otherwise FAILED_PRECONDITION if the handle is empty.
  // INVALID_ARGUMENT for a non-persistent handle; FAILED_PRECONDITION for a key that is not a
  // restricted signing key.
  absl::Status UseAttestationKey(uint32_t ak_handle, bool create_if_missing);

 private:
  struct TctiDeleter {
    void operator()(TSS2_TCTI_CONTEXT* tcti) const;
  };
  struct EsysDeleter {
    void operator()(ESYS_CONTEXT* ctx) const;
  };

  EsysTpm(std::unique_ptr<TSS2_TCTI_CONTEXT, TctiDeleter> tcti,
          std::unique_ptr<ESYS_CONTEXT, EsysDeleter> esys);

  uint32_t offline_nv_index_ = 0;
  absl::Status LoadOrCreateAk(uint32_t ak_handle);
  absl::StatusOr<bool> PersistentHandleExists(uint32_t handle);
  absl::StatusOr<ESYS_TR> NvHandle(uint32_t index);
  absl::Status LoadPersistentAk(uint32_t ak_handle);
  absl::Status CreatePersistentAk(uint32_t ak_handle);
  absl::Status SetAkPublic(const TPMT_PUBLIC& pub);
  absl::StatusOr<ESYS_TR> LoadEk(EkType type, bool* transient);
  absl::StatusOr<ESYS_TR> EkPolicySession();
  void FlushTransferKey();
  absl::StatusOr<ESYS_TR> OfflineCounter(uint32_t nv_index, bool create);
  absl::StatusOr<uint64_t> ReadCounter(ESYS_TR nv);
  absl::Status ApplyOfflinePolicy(ESYS_TR session, ESYS_TR nv, const std::vector<uint32_t>& pcrs,
                                  uint64_t limit);
  absl::StatusOr<std::string> QuoteOnce(absl::string_view binding,
                                        const TPML_PCR_SELECTION& selection,
                                        v1::TpmQuoteEvidence* evidence);
  absl::Status ReadPcrs(const TPML_PCR_SELECTION& selection, v1::TpmQuoteEvidence* evidence);
  absl::StatusOr<SecretBytes> EcdhKek(const v1::WrappedKey& wrapped);
  absl::StatusOr<SecretBytes> RsaKek(const v1::WrappedKey& wrapped);

  // Declared in this order so the ESYS context is finalized before its TCTI.
  std::unique_ptr<TSS2_TCTI_CONTEXT, TctiDeleter> tcti_;
  std::unique_ptr<ESYS_CONTEXT, EsysDeleter> esys_;
  ESYS_TR ak_ = ESYS_TR_NONE;
  std::string ak_public_;        // marshaled TPMT_PUBLIC
  TPMT_SIG_SCHEME ak_scheme_{};  // inScheme for Quote/Certify (NULL: the key's own scheme)
  ESYS_TR transfer_ = ESYS_TR_NONE;
  TPMI_ALG_PUBLIC transfer_type_ = TPM2_ALG_NULL;
  std::string transfer_public_;  // marshaled TPMT_PUBLIC as the TPM returned it
};

}  // namespace kb

#endif  // KB_UNLOCKER_TPM_ESYS_TPM_H_
