#ifndef KB_KEYBROKER_ADMIN_KEK_ADMIN_H_
#define KB_KEYBROKER_ADMIN_KEK_ADMIN_H_

#include "absl/status/statusor.h"
#include "kb/v1/admin.pb.h"
#include "keybroker/admin/admin_runner.h"
#include "keybroker/store/kek_rotation.h"

namespace kb {

// The admin API for the key-encryption keys (keybrokerctl kek): which KEKs seal what, and
// re-sealing key versions under the current KEK in bounded steps. Dependencies are not owned.
// Thread-safe.
class KekAdmin {
 public:
  struct Deps {
    AdminRunner* run;
    KekRotation* rotation;
  };
  explicit KekAdmin(Deps deps) : d_(deps) {}

  using Caller = const AdminCaller&;
  absl::StatusOr<v1::ListKeksResponse> ListKeks(const v1::ListKeksRequest& r, Caller caller);
  absl::StatusOr<v1::RotateKekResponse> RotateKek(const v1::RotateKekRequest& r, Caller caller);

 private:
  Deps d_;
};

}  // namespace kb

#endif  // KB_KEYBROKER_ADMIN_KEK_ADMIN_H_
