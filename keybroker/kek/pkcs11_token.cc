#include "keybroker/kek/pkcs11_token.h"

#include <p11-kit/p11-kit.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace kb {
namespace {

// CK_TOKEN_INFO.label: 32 bytes padded with spaces.
std::string TokenLabel(const CK_TOKEN_INFO& info) {
  const size_t n = p11_kit_space_strlen(info.label, sizeof(info.label));
  return std::string(reinterpret_cast<const char*>(info.label), n);
}

// Every slot with a token present, and that token's label.
absl::StatusOr<std::vector<std::pair<CK_SLOT_ID, std::string>>> Tokens(CK_FUNCTION_LIST* fn) {
  CK_ULONG count = 0;
  if (CK_RV rv = fn->C_GetSlotList(CK_TRUE, nullptr, &count); rv != CKR_OK) {
    return Pkcs11Error("C_GetSlotList", rv);
  }
  std::vector<CK_SLOT_ID> slots(count);
  if (CK_RV rv = fn->C_GetSlotList(CK_TRUE, slots.data(), &count); rv != CKR_OK) {
    return Pkcs11Error("C_GetSlotList", rv);
  }
  slots.resize(count);
  std::vector<std::pair<CK_SLOT_ID, std::string>> tokens;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info;
    if (fn->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if ((info.flags & CKF_TOKEN_INITIALIZED) == 0) continue;
    tokens.emplace_back(slot, TokenLabel(info));
  }
  return tokens;
}

absl::StatusOr<CK_SLOT_ID> FindSlot(CK_FUNCTION_LIST* fn, const std::string& label,
                                    const std::string& module) {
  ASSIGN_OR_RETURN(auto tokens, Tokens(fn));
  std::vector<CK_SLOT_ID> matches;
  std::vector<std::string> labels;
  for (const auto& [slot, token_label] : tokens) {
    if (token_label == label) matches.push_back(slot);
    labels.push_back(absl::StrCat("'", token_label, "'"));
  }
  if (matches.size() == 1) return matches[0];
  if (matches.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "no PKCS#11 token labelled '", label, "' in module ", module,
        " (tokens present: ", labels.empty() ? "none" : absl::StrJoin(labels, ", "), ")"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat(matches.size(), " PKCS#11 tokens are labelled '", label, "' in module ", module,
                   ": give the KEK's token a label of its own"));
}

// The CKR_ name of the return values a KEK meets, for messages an operator can look up.
std::string CkrName(CK_RV rv) {
  switch (rv) {
#define KB_CKR(name) \
  case name:         \
    return #name;
    KB_CKR(CKR_GENERAL_ERROR)
    KB_CKR(CKR_FUNCTION_FAILED)
    KB_CKR(CKR_ARGUMENTS_BAD)
    KB_CKR(CKR_DEVICE_ERROR)
    KB_CKR(CKR_DEVICE_MEMORY)
    KB_CKR(CKR_DEVICE_REMOVED)
    KB_CKR(CKR_ENCRYPTED_DATA_INVALID)
    KB_CKR(CKR_KEY_HANDLE_INVALID)
    KB_CKR(CKR_KEY_FUNCTION_NOT_PERMITTED)
    KB_CKR(CKR_MECHANISM_INVALID)
    KB_CKR(CKR_MECHANISM_PARAM_INVALID)
    KB_CKR(CKR_OBJECT_HANDLE_INVALID)
    KB_CKR(CKR_PIN_INCORRECT)
    KB_CKR(CKR_PIN_INVALID)
    KB_CKR(CKR_PIN_LEN_RANGE)
    KB_CKR(CKR_PIN_EXPIRED)
    KB_CKR(CKR_PIN_LOCKED)
    KB_CKR(CKR_SESSION_CLOSED)
    KB_CKR(CKR_SESSION_HANDLE_INVALID)
    KB_CKR(CKR_TEMPLATE_INCONSISTENT)
    KB_CKR(CKR_TOKEN_NOT_PRESENT)
    KB_CKR(CKR_TOKEN_WRITE_PROTECTED)
    KB_CKR(CKR_USER_NOT_LOGGED_IN)
    KB_CKR(CKR_USER_PIN_NOT_INITIALIZED)
#undef KB_CKR
    default:
      return absl::StrCat("CKR 0x", absl::Hex(rv));
  }
}

}  // namespace

absl::Status Pkcs11Error(absl::string_view what, CK_RV rv) {
  const std::string text = absl::StrCat(what, ": ", CkrName(rv), " (", p11_kit_strerror(rv), ")");
  if (Pkcs11SessionLost(rv)) return absl::UnavailableError(text);
  switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_LOCKED:
    case CKR_PIN_EXPIRED:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
      return absl::PermissionDeniedError(text);
    default:
      return absl::InternalError(text);
  }
}

bool Pkcs11SessionLost(CK_RV rv) {
  switch (rv) {
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_DEVICE_REMOVED:
    case CKR_DEVICE_ERROR:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_USER_NOT_LOGGED_IN:
      return true;
    default:
      return false;
  }
}

absl::StatusOr<std::unique_ptr<Pkcs11Token>> Pkcs11Token::Open(const std::string& module,
                                                               const std::string& token_label,
                                                               SecretBytes pin) {
  // Managed by p11-kit: each Pkcs11Token initialises and finalises its own view of the module,
  // so two of them (an old and a new KEK) can live in one process.
  CK_FUNCTION_LIST* fn = p11_kit_module_load(module.c_str(), 0);
  if (fn == nullptr) {
    const char* why = p11_kit_message();
    return absl::FailedPreconditionError(absl::StrCat("cannot load PKCS#11 module ", module, ": ",
                                                      why != nullptr ? why : "unknown error"));
  }
  if (CK_RV rv = p11_kit_module_initialize(fn); rv != CKR_OK) {
    p11_kit_module_release(fn);
    return Pkcs11Error(absl::StrCat("initialising PKCS#11 module ", module), rv);
  }
  auto slot = FindSlot(fn, token_label, module);
  if (!slot.ok()) {
    p11_kit_module_finalize(fn);
    p11_kit_module_release(fn);
    return slot.status();
  }
  std::unique_ptr<Pkcs11Token> token(
      new Pkcs11Token(fn, *slot, std::move(pin),
                      absl::StrCat("pkcs11 token '", token_label, "' (module ", module, ")")));
  // A first session proves the PIN; it stays in the pool.
  ASSIGN_OR_RETURN(Session first, token->Acquire());
  return token;
}

Pkcs11Token::~Pkcs11Token() {
  {
    kb::MutexLock lock(&mu_);
    for (CK_SESSION_HANDLE s : free_) fn_->C_CloseSession(s);
    free_.clear();
  }
  p11_kit_module_finalize(fn_);
  p11_kit_module_release(fn_);
}

absl::Status Pkcs11Token::LogIn(CK_SESSION_HANDLE session) {
  CK_SESSION_INFO info;
  if (CK_RV rv = fn_->C_GetSessionInfo(session, &info); rv != CKR_OK) {
    return Pkcs11Error("C_GetSessionInfo", rv);
  }
  if (info.state == CKS_RO_USER_FUNCTIONS || info.state == CKS_RW_USER_FUNCTIONS) {
    return absl::OkStatus();
  }
  // One login at a time, so that of the callers that need one after the token dropped its
  // sessions, only the first presents a PIN the token now refuses.
  kb::MutexLock login(&login_mu_);
  if (!pin_refused_.ok()) return pin_refused_;
  // The PIN bytes are passed as they are; PKCS#11 does not want them NUL-terminated.
  CK_RV rv = fn_->C_Login(session, CKU_USER, const_cast<CK_UTF8CHAR*>(pin_.data()), pin_.size());
  if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) return absl::OkStatus();
  absl::Status status = Pkcs11Error(absl::StrCat("logging in to ", description_), rv);
  if (status.code() != absl::StatusCode::kPermissionDenied) return status;
  pin_refused_ = absl::PermissionDeniedError(absl::StrCat(
      status.message(),
      ": check the user PIN in kek.pkcs11.pin_file. keybrokerd does not present a refused PIN "
      "again (a token locks a PIN after a few wrong tries): restart it once the PIN is right"));
  return pin_refused_;
}

absl::StatusOr<CK_SESSION_HANDLE> Pkcs11Token::OpenSession(CK_FLAGS flags) {
  CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
  CK_RV rv = fn_->C_OpenSession(slot_, flags | CKF_SERIAL_SESSION, nullptr, nullptr, &handle);
  if (rv != CKR_OK) return Pkcs11Error(absl::StrCat("opening a session on ", description_), rv);
  if (absl::Status s = LogIn(handle); !s.ok()) {
    fn_->C_CloseSession(handle);
    return s;
  }
  return handle;
}

absl::StatusOr<Pkcs11Token::Session> Pkcs11Token::Acquire() {
  {
    kb::MutexLock lock(&mu_);
    if (!free_.empty()) {
      CK_SESSION_HANDLE handle = free_.back();
      free_.pop_back();
      return Session(this, handle, /*pooled=*/true);
    }
  }
  ASSIGN_OR_RETURN(CK_SESSION_HANDLE handle, OpenSession(0));
  return Session(this, handle, /*pooled=*/true);
}

absl::StatusOr<Pkcs11Token::Session> Pkcs11Token::AcquireReadWrite() {
  ASSIGN_OR_RETURN(CK_SESSION_HANDLE handle, OpenSession(CKF_RW_SESSION));
  return Session(this, handle, /*pooled=*/false);
}

void Pkcs11Token::DropPooledSessions() {
  std::vector<CK_SESSION_HANDLE> pooled;
  {
    kb::MutexLock lock(&mu_);
    pooled.swap(free_);
  }
  for (CK_SESSION_HANDLE s : pooled) fn_->C_CloseSession(s);
}

void Pkcs11Token::Release(CK_SESSION_HANDLE handle, bool keep) {
  if (!keep) {
    fn_->C_CloseSession(handle);
    return;
  }
  kb::MutexLock lock(&mu_);
  free_.push_back(handle);
}

Pkcs11Token::Session::Session(Session&& other) noexcept
    : token_(std::exchange(other.token_, nullptr)),
      handle_(other.handle_),
      pooled_(other.pooled_) {}

Pkcs11Token::Session::~Session() {
  if (token_ != nullptr) token_->Release(handle_, pooled_);
}

void Pkcs11Token::Session::Discard() {
  if (token_ != nullptr) token_->Release(handle_, /*keep=*/false);
  token_ = nullptr;
}

}  // namespace kb
