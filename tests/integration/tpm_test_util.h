#ifndef KB_TESTS_INTEGRATION_TPM_TEST_UTIL_H_
#define KB_TESTS_INTEGRATION_TPM_TEST_UTIL_H_

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace kb {

// Extends SHA-256 PCR `index` of the TPM at `tcti` with 0x42...: a guest whose boot measured
// other code than the one a policy expects.
inline void ExtendPcr(const std::string& tcti, uint32_t index) {
  TSS2_TCTI_CONTEXT* t = nullptr;
  ASSERT_EQ(Tss2_TctiLdr_Initialize(tcti.c_str(), &t), TSS2_RC_SUCCESS);
  ESYS_CONTEXT* esys = nullptr;
  ASSERT_EQ(Esys_Initialize(&esys, t, nullptr), TSS2_RC_SUCCESS);
  TPML_DIGEST_VALUES values = {};
  values.count = 1;
  values.digests[0].hashAlg = TPM2_ALG_SHA256;
  memset(values.digests[0].digest.sha256, 0x42, 32);
  EXPECT_EQ(Esys_PCR_Extend(esys, ESYS_TR_PCR0 + index, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                            ESYS_TR_NONE, &values),
            TSS2_RC_SUCCESS);
  Esys_Finalize(&esys);
  Tss2_TctiLdr_Finalize(&t);
}

}  // namespace kb

#endif  // KB_TESTS_INTEGRATION_TPM_TEST_UTIL_H_
