#ifndef KB_UNLOCKER_TPM_KEY_TEMPLATES_H_
#define KB_UNLOCKER_TPM_KEY_TEMPLATES_H_

#include <tss2/tss2_tpm2_types.h>

#include "unlocker/tpm/tpm.h"

namespace kb {

// The public templates of the keys kbunlock creates, shared by EsysTpm and the software TPM
// used in tests so both present the same key shapes to the broker. `unique` is left empty.

// noDA: the keys have an empty authValue, so dictionary-attack protection guards nothing; without
// it, every boot that ends without TPM2_Shutdown (a reset, a crash) would count as a failed
// authorization and a few such boots would lock the TPM out.
inline constexpr TPMA_OBJECT kAkAttributes =
    TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
inline constexpr TPMA_OBJECT kTransferKeyAttributes =
    TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA | TPMA_OBJECT_DECRYPT;

// The AK: ECC NIST P-256, ECDSA-SHA256, restricted signing key, nameAlg SHA-256.
inline TPMT_PUBLIC AkTemplate() {
  TPMT_PUBLIC p = {};
  p.type = TPM2_ALG_ECC;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = kAkAttributes;
  p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
  p.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
  p.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  return p;
}

// A decrypt-only transfer key: ECC P-256 or RSA 2048/3072, no scheme, nameAlg SHA-256.
inline TPMT_PUBLIC TransferKeyTemplate(TransferKeyType type) {
  TPMT_PUBLIC p = {};
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = kTransferKeyAttributes;
  if (type == TransferKeyType::kEccP256) {
    p.type = TPM2_ALG_ECC;
    p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    p.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
    p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    return p;
  }
  p.type = TPM2_ALG_RSA;
  p.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
  p.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
  p.parameters.rsaDetail.keyBits = type == TransferKeyType::kRsa2048 ? 2048 : 3072;
  p.parameters.rsaDetail.exponent = 0;
  return p;
}

}  // namespace kb

#endif  // KB_UNLOCKER_TPM_KEY_TEMPLATES_H_
