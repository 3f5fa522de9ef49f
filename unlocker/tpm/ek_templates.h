#ifndef KB_UNLOCKER_TPM_EK_TEMPLATES_H_
#define KB_UNLOCKER_TPM_EK_TEMPLATES_H_

#include <tss2/tss2_tpm2_types.h>

#include <cstdint>
#include <cstring>

#include "unlocker/tpm/tpm_endorsement.h"

namespace kb {

// NV indices of the EK certificates and the conventional persistent EK handles (TCG EK
// Credential Profile 2.0 §2.2.1.4; TCG Registry of Reserved TPM 2.0 Handles).
inline constexpr uint32_t kRsaEkCertIndex = 0x01c00002;
inline constexpr uint32_t kEccEkCertIndex = 0x01c0000a;
inline constexpr uint32_t kRsaEkHandle = 0x81010001;
inline constexpr uint32_t kEccEkHandle = 0x81010002;

// PolicySecret(TPM_RH_ENDORSEMENT) with SHA-256: the authPolicy of the default EK templates.
inline constexpr uint8_t kEkAuthPolicy[32] = {
    0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
    0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa};

// The default EK templates L-1 (RSA 2048) and L-2 (ECC NIST P-256) of the TCG EK Credential
// Profile (B.3.3, B.3.4): restricted decryption keys with AES-128-CFB, nameAlg SHA-256,
// adminWithPolicy, a zero `unique`.
inline TPMT_PUBLIC EkTemplate(EkType type) {
  TPMT_PUBLIC p = {};
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                       TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  p.authPolicy.size = sizeof(kEkAuthPolicy);
  memcpy(p.authPolicy.buffer, kEkAuthPolicy, sizeof(kEkAuthPolicy));
  TPMT_SYM_DEF_OBJECT sym = {};
  sym.algorithm = TPM2_ALG_AES;
  sym.keyBits.aes = 128;
  sym.mode.aes = TPM2_ALG_CFB;
  if (type == EkType::kRsa2048) {
    p.type = TPM2_ALG_RSA;
    p.parameters.rsaDetail.symmetric = sym;
    p.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
    p.parameters.rsaDetail.keyBits = 2048;
    p.parameters.rsaDetail.exponent = 0;
    p.unique.rsa.size = 256;
    return p;
  }
  p.type = TPM2_ALG_ECC;
  p.parameters.eccDetail.symmetric = sym;
  p.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
  p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  p.unique.ecc.x.size = 32;
  p.unique.ecc.y.size = 32;
  return p;
}

}  // namespace kb

#endif  // KB_UNLOCKER_TPM_EK_TEMPLATES_H_
