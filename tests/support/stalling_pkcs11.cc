// A PKCS#11 module for tests: SoftHSM2's own functions, except that C_Encrypt and C_Decrypt
// wait while the file that KB_TEST_PKCS11_STALL_FILE names exists. An HSM that stops answering
// in the middle of a call, and answers again when the test removes the file.
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <unistd.h>

#include <cstdlib>

namespace {

CK_FUNCTION_LIST g_functions;
CK_FUNCTION_LIST* g_softhsm = nullptr;

void WaitWhileStalled() {
  const char* path = std::getenv("KB_TEST_PKCS11_STALL_FILE");
  while (path != nullptr && access(path, F_OK) == 0) usleep(10 * 1000);
}

CK_RV StallingEncrypt(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
                      CK_ULONG_PTR out_len) {
  WaitWhileStalled();
  return g_softhsm->C_Encrypt(s, in, in_len, out, out_len);
}

CK_RV StallingDecrypt(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
                      CK_ULONG_PTR out_len) {
  WaitWhileStalled();
  return g_softhsm->C_Decrypt(s, in, in_len, out, out_len);
}

}  // namespace

extern "C" __attribute__((visibility("default"))) CK_RV C_GetFunctionList(
    CK_FUNCTION_LIST_PTR_PTR list) {
  if (list == nullptr) return CKR_ARGUMENTS_BAD;
  if (g_softhsm == nullptr) {
    void* lib = dlopen("/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) return CKR_GENERAL_ERROR;
    auto get = reinterpret_cast<CK_C_GetFunctionList>(dlsym(lib, "C_GetFunctionList"));
    if (get == nullptr || get(&g_softhsm) != CKR_OK) return CKR_GENERAL_ERROR;
    g_functions = *g_softhsm;
    g_functions.C_Encrypt = StallingEncrypt;
    g_functions.C_Decrypt = StallingDecrypt;
  }
  *list = &g_functions;
  return CKR_OK;
}
