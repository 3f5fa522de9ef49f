#ifndef KB_KEYBROKER_KEK_PKCS11_TOKEN_H_
#define KB_KEYBROKER_KEK_PKCS11_TOKEN_H_

#include <p11-kit/pkcs11.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secret_bytes.h"
#include "common/sync/mutex.h"

namespace kb {

// A status for a failed PKCS#11 call: "`what`: CKR_... (p11-kit's text)". UNAVAILABLE when the
// token or its session went away (worth a retry), PERMISSION_DENIED for PIN and login errors,
// INTERNAL otherwise.
absl::Status Pkcs11Error(absl::string_view what, CK_RV rv);

// True when `rv` means the session is gone and a new one (after a new login) may succeed.
bool Pkcs11SessionLost(CK_RV rv);

// One PKCS#11 token, logged in as its user: the module loaded through p11-kit, the slot whose
// token carries the label, and a pool of sessions. Thread-safe; each Session is used by one
// thread at a time.
class Pkcs11Token {
 public:
  // Loads `module` (a path, or a name p11-kit finds in its module directory), initialises it,
  // finds the one token labelled `token_label` and logs in with `pin`. NOT_FOUND lists the
  // labels of the tokens present; PERMISSION_DENIED when the PIN is refused.
  static absl::StatusOr<std::unique_ptr<Pkcs11Token>> Open(const std::string& module,
                                                           const std::string& token_label,
                                                           SecretBytes pin);
  ~Pkcs11Token();
  Pkcs11Token(const Pkcs11Token&) = delete;
  Pkcs11Token& operator=(const Pkcs11Token&) = delete;

  // A session, returned to the pool when destroyed if it came from there and was not discarded.
  class Session {
   public:
    Session(Pkcs11Token* token, CK_SESSION_HANDLE handle, bool pooled)
        : token_(token), handle_(handle), pooled_(pooled) {}
    Session(Session&& other) noexcept;
    Session& operator=(Session&&) = delete;
    ~Session();
    CK_SESSION_HANDLE handle() const { return handle_; }
    // Closes the session instead of returning it (after Pkcs11SessionLost errors).
    void Discard();

   private:
    Pkcs11Token* token_;
    CK_SESSION_HANDLE handle_;
    bool pooled_;
  };
  // A free session, or a new read-only one (logged in again if the token forgot the login).
  // Once the token has refused the PIN, PERMISSION_DENIED without presenting it again: tokens
  // lock a PIN after a few wrong tries, and the PIN is read only at start.
  absl::StatusOr<Session> Acquire();
  // A new read-write session for creating objects; closed when destroyed.
  absl::StatusOr<Session> AcquireReadWrite();
  // Closes every pooled session: after one was lost (a token reset, a restart of the HSM's
  // daemon) the others are gone too, or logged out.
  void DropPooledSessions();

  CK_FUNCTION_LIST* functions() const { return fn_; }
  // "pkcs11 token 'LABEL' (module PATH)".
  const std::string& description() const { return description_; }

 private:
  Pkcs11Token(CK_FUNCTION_LIST* fn, CK_SLOT_ID slot, SecretBytes pin, std::string description)
      : fn_(fn), slot_(slot), pin_(std::move(pin)), description_(std::move(description)) {}
  absl::StatusOr<CK_SESSION_HANDLE> OpenSession(CK_FLAGS flags);
  absl::Status LogIn(CK_SESSION_HANDLE session);
  void Release(CK_SESSION_HANDLE handle, bool keep);

  CK_FUNCTION_LIST* const fn_;
  const CK_SLOT_ID slot_;
  const SecretBytes pin_;
  const std::string description_;
  kb::Mutex mu_;
  std::vector<CK_SESSION_HANDLE> free_ ABSL_GUARDED_BY(mu_);
  kb::Mutex login_mu_;  // held across a login: a refused PIN is presented once
  absl::Status pin_refused_ ABSL_GUARDED_BY(login_mu_);  // OK until the token refuses the PIN
};

}  // namespace kb

#endif  // KB_KEYBROKER_KEK_PKCS11_TOKEN_H_
