#ifndef KB_KEYBROKER_VERIFIERS_TDX_COLLATERAL_SET_H_
#define KB_KEYBROKER_VERIFIERS_TDX_COLLATERAL_SET_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/openssl_util.h"
#include "keybroker/verifiers/tdx/collateral.h"
#include "keybroker/verifiers/tdx/intel_pki.h"

namespace kb {
namespace tdx {

// Everything fetched from Intel PCS for one platform. Move-only; immutable once built.
struct TdxCollateral {
  std::optional<TcbInfo> tcb_info;
  std::optional<QeIdentity> qe_identity;
  std::vector<X509CrlPtr> crls;       // Root CA CRL, PCK Platform/Processor CA CRLs
  std::vector<X509Ptr> issuer_certs;  // TCB Signing cert, PCK CA certs (issuer chains)
};

// Sorts collateral files by content, whatever they are named: a JSON document with a top-level
// "tcbInfo" or "enclaveIdentity" member, PEM certificates (issuer chains), or a CRL (PEM or
// DER). INVALID_ARGUMENT naming the item index for an unrecognised or malformed item, or for a
// second tcbInfo / QE identity.
absl::StatusOr<TdxCollateral> SortCollateral(const std::vector<std::string>& items);

}  // namespace tdx
}  // namespace kb

#endif  // KB_KEYBROKER_VERIFIERS_TDX_COLLATERAL_SET_H_
