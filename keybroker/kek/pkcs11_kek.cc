#include "keybroker/kek/pkcs11_kek.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"

namespace kb {
namespace {

constexpr size_t kIvSize = 12;
constexpr size_t kTagSize = 16;

CK_BYTE* Bytes(std::string& s) { return reinterpret_cast<CK_BYTE*>(s.data()); }

// CKM_AES_GCM with a 96-bit IV at `iv`, the AAD and a 128-bit tag. Points into both.
class GcmMechanism {
 public:
  GcmMechanism(char* iv, absl::string_view aad)
      : params_{reinterpret_cast<CK_BYTE*>(iv),
                kIvSize,
                kIvSize * 8,
                reinterpret_cast<CK_BYTE*>(const_cast<char*>(aad.data())),
                aad.size(),
                kTagSize * 8},
        mechanism_{CKM_AES_GCM, &params_, sizeof(params_)} {}
  GcmMechanism(const GcmMechanism&) = delete;
  GcmMechanism& operator=(const GcmMechanism&) = delete;
  CK_MECHANISM* get() { return &mechanism_; }

 private:
  CK_GCM_PARAMS params_;
  CK_MECHANISM mechanism_;
};

std::string CreateHint(absl::string_view label) {
  return absl::StrCat(
      "create it with `keybrokerd --config FILE --create-kek` or `pkcs11-tool "
      "--keygen --key-type AES:32 --sensitive --label ",
      label, "`");
}

// The secret keys labelled `label` that `session` can see.
absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> FindKeys(CK_FUNCTION_LIST* fn, CK_SESSION_HANDLE s,
                                                       const std::string& label) {
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_ATTRIBUTE match[] = {{CKA_CLASS, &cls, sizeof(cls)},
                          {CKA_LABEL, const_cast<char*>(label.data()), label.size()}};
  if (CK_RV rv = fn->C_FindObjectsInit(s, match, 2); rv != CKR_OK) {
    return Pkcs11Error("C_FindObjectsInit", rv);
  }
  std::vector<CK_OBJECT_HANDLE> found;
  CK_OBJECT_HANDLE batch[8];
  CK_ULONG n = 0;
  CK_RV rv = CKR_OK;
  while ((rv = fn->C_FindObjects(s, batch, 8, &n)) == CKR_OK && n > 0) {
    found.insert(found.end(), batch, batch + n);
  }
  fn->C_FindObjectsFinal(s);
  if (rv != CKR_OK) return Pkcs11Error("C_FindObjects", rv);
  return found;
}

// What the broker requires of a KEK object: AES-256, sensitive, not extractable, en/decrypts.
absl::Status CheckKeyAttributes(CK_FUNCTION_LIST* fn, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key,
                                absl::string_view name) {
  CK_KEY_TYPE type = 0;
  CK_ULONG length = 0;
  CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE, encrypt = CK_FALSE, decrypt = CK_FALSE;
  CK_ATTRIBUTE attrs[] = {{CKA_KEY_TYPE, &type, sizeof(type)},
                          {CKA_VALUE_LEN, &length, sizeof(length)},
                          {CKA_SENSITIVE, &sensitive, sizeof(sensitive)},
                          {CKA_EXTRACTABLE, &extractable, sizeof(extractable)},
                          {CKA_ENCRYPT, &encrypt, sizeof(encrypt)},
                          {CKA_DECRYPT, &decrypt, sizeof(decrypt)}};
  if (CK_RV rv = fn->C_GetAttributeValue(s, key, attrs, 6); rv != CKR_OK) {
    return Pkcs11Error(absl::StrCat("reading the attributes of ", name), rv);
  }
  auto refuse = [&](absl::string_view why) {
    return absl::FailedPreconditionError(
        absl::StrCat(name, " ", why,
                     ": the KEK must be an AES-256 key that is sensitive, not extractable and "
                     "allowed to encrypt and decrypt; ",
                     CreateHint("...")));
  };
  if (type != CKK_AES) return refuse("is not an AES key");
  if (length != 32) return refuse(absl::StrCat("is AES-", length * 8, ", not AES-256"));
  if (sensitive != CK_TRUE) return refuse("is not sensitive (CKA_SENSITIVE)");
  if (extractable != CK_FALSE) return refuse("is extractable (CKA_EXTRACTABLE)");
  if (encrypt != CK_TRUE || decrypt != CK_TRUE) {
    return refuse("may not encrypt and decrypt (CKA_ENCRYPT, CKA_DECRYPT)");
  }
  return absl::OkStatus();
}

// The key's CKA_CHECK_VALUE in hex, or "" when the token keeps none.
std::string CheckValue(CK_FUNCTION_LIST* fn, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key) {
  unsigned char value[16];
  CK_ATTRIBUTE attr = {CKA_CHECK_VALUE, value, sizeof(value)};
  if (fn->C_GetAttributeValue(s, key, &attr, 1) != CKR_OK || attr.ulValueLen == 0 ||
      attr.ulValueLen > sizeof(value)) {
    return "";
  }
  return HexEncode(absl::string_view(reinterpret_cast<const char*>(value), attr.ulValueLen));
}

// The one key labelled `label`, checked.
absl::StatusOr<CK_OBJECT_HANDLE> FindKek(CK_FUNCTION_LIST* fn, CK_SESSION_HANDLE s,
                                         const std::string& label, absl::string_view token) {
  ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> keys, FindKeys(fn, s, label));
  const std::string name = absl::StrCat("key '", label, "' in ", token);
  if (keys.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no secret key labelled '", label, "' in ", token, ": ", CreateHint(label)));
  }
  if (keys.size() > 1) {
    return absl::FailedPreconditionError(absl::StrCat(keys.size(), " secret keys are labelled '",
                                                      label, "' in ", token,
                                                      ": the KEK's label must name one key"));
  }
  RETURN_IF_ERROR(CheckKeyAttributes(fn, s, keys[0], name));
  return keys[0];
}

std::string DescribeKek(const Pkcs11KekLocation& where) {
  return absl::StrCat("pkcs11 token '", where.token_label, "' key '", where.key_label, "' (module ",
                      where.module, ")");
}

}  // namespace

absl::StatusOr<std::unique_ptr<Pkcs11Kek>> Pkcs11Kek::Open(const Pkcs11KekLocation& where,
                                                           SecretBytes pin) {
  ASSIGN_OR_RETURN(std::unique_ptr<Pkcs11Token> token,
                   Pkcs11Token::Open(where.module, where.token_label, std::move(pin)));
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  std::string fingerprint;
  {
    ASSIGN_OR_RETURN(Pkcs11Token::Session session, token->Acquire());
    ASSIGN_OR_RETURN(
        key, FindKek(token->functions(), session.handle(), where.key_label, token->description()));
    fingerprint = CheckValue(token->functions(), session.handle(), key);
  }
  return std::unique_ptr<Pkcs11Kek>(new Pkcs11Kek(std::move(token), where.key_label, key,
                                                  DescribeKek(where), std::move(fingerprint)));
}

absl::Status Pkcs11Kek::Generate(const Pkcs11KekLocation& where, SecretBytes pin) {
  ASSIGN_OR_RETURN(std::unique_ptr<Pkcs11Token> token,
                   Pkcs11Token::Open(where.module, where.token_label, std::move(pin)));
  CK_FUNCTION_LIST* fn = token->functions();
  ASSIGN_OR_RETURN(Pkcs11Token::Session session, token->AcquireReadWrite());
  ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> existing,
                   FindKeys(fn, session.handle(), where.key_label));
  if (!existing.empty()) {
    return absl::AlreadyExistsError(absl::StrCat("a secret key labelled '", where.key_label,
                                                 "' already exists in ", token->description()));
  }
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_AES;
  CK_ULONG length = 32;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_ATTRIBUTE attrs[] = {
      {CKA_CLASS, &cls, sizeof(cls)},
      {CKA_KEY_TYPE, &type, sizeof(type)},
      {CKA_VALUE_LEN, &length, sizeof(length)},
      {CKA_LABEL, const_cast<char*>(where.key_label.data()), where.key_label.size()},
      {CKA_TOKEN, &yes, sizeof(yes)},
      {CKA_PRIVATE, &yes, sizeof(yes)},
      {CKA_SENSITIVE, &yes, sizeof(yes)},
      {CKA_EXTRACTABLE, &no, sizeof(no)},
      {CKA_ENCRYPT, &yes, sizeof(yes)},
      {CKA_DECRYPT, &yes, sizeof(yes)}};
  CK_MECHANISM mechanism = {CKM_AES_KEY_GEN, nullptr, 0};
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  if (CK_RV rv = fn->C_GenerateKey(session.handle(), &mechanism, attrs,
                                   sizeof(attrs) / sizeof(attrs[0]), &key);
      rv != CKR_OK) {
    return Pkcs11Error(absl::StrCat("generating the KEK in ", token->description()), rv);
  }
  return absl::OkStatus();
}

absl::StatusOr<CK_RV> Pkcs11Kek::Run(
    absl::FunctionRef<CK_RV(CK_SESSION_HANDLE, CK_OBJECT_HANDLE)> op) {
  bool find_key = false;
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(Pkcs11Token::Session session, token_->Acquire());
    if (find_key) {
      ASSIGN_OR_RETURN(CK_OBJECT_HANDLE key, FindKek(token_->functions(), session.handle(),
                                                     key_label_, token_->description()));
      kb::MutexLock lock(&mu_);
      key_ = key;
    }
    CK_OBJECT_HANDLE key;
    {
      kb::MutexLock lock(&mu_);
      key = key_;
    }
    const CK_RV rv = op(session.handle(), key);
    if (rv == CKR_OK) return rv;
    session.Discard();
    if (Pkcs11SessionLost(rv)) token_->DropPooledSessions();
    // A lost session lost the login too, and with it the handles of private objects: the key
    // is looked up again in the new session.
    find_key =
        rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID || Pkcs11SessionLost(rv);
    if (attempt > 0 || !find_key) return rv;
  }
}

absl::StatusOr<std::string> Pkcs11Kek::Seal(const SecretBytes& plaintext, absl::string_view aad) {
  ASSIGN_OR_RETURN(std::string out, RandomBytes(kIvSize));
  out.resize(kIvSize + plaintext.size() + kTagSize);
  GcmMechanism gcm(out.data(), aad);
  CK_FUNCTION_LIST* fn = token_->functions();
  CK_ULONG sealed_len = 0;
  ASSIGN_OR_RETURN(const CK_RV rv, Run([&](CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key) {
                     if (CK_RV r = fn->C_EncryptInit(s, gcm.get(), key); r != CKR_OK) return r;
                     sealed_len = plaintext.size() + kTagSize;
                     return fn->C_Encrypt(s, const_cast<CK_BYTE*>(plaintext.data()),
                                          plaintext.size(), Bytes(out) + kIvSize, &sealed_len);
                   }));
  if (rv != CKR_OK) return Pkcs11Error(absl::StrCat("sealing under ", description_), rv);
  if (sealed_len != plaintext.size() + kTagSize) {
    return absl::InternalError(absl::StrCat(description_, ": AES-GCM returned ", sealed_len,
                                            " bytes for ", plaintext.size()));
  }
  return out;
}

absl::StatusOr<SecretBytes> Pkcs11Kek::Open(absl::string_view sealed, absl::string_view aad) {
  if (sealed.size() < kIvSize + kTagSize) return absl::DataLossError("sealed data too short");
  std::string copy(sealed);
  GcmMechanism gcm(copy.data(), aad);
  const CK_ULONG body_len = copy.size() - kIvSize;
  SecretBytes out(body_len);
  CK_FUNCTION_LIST* fn = token_->functions();
  CK_ULONG out_len = 0;
  bool decrypting = false;  // whether `rv` is C_Decrypt's
  ASSIGN_OR_RETURN(const CK_RV rv, Run([&](CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key) {
                     decrypting = false;
                     if (CK_RV r = fn->C_DecryptInit(s, gcm.get(), key); r != CKR_OK) return r;
                     decrypting = true;
                     out_len = out.size();
                     return fn->C_Decrypt(s, Bytes(copy) + kIvSize, body_len, out.data(), &out_len);
                   }));
  if (rv == CKR_OK && out_len == body_len - kTagSize) {
    out.resize(out_len);
    return out;
  }
  // A tag that does not verify: CKR_ENCRYPTED_DATA_INVALID by the standard; SoftHSM2 answers
  // CKR_GENERAL_ERROR. Only C_Decrypt's answer is read this way, never C_DecryptInit's.
  if (decrypting && (rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE ||
                     rv == CKR_GENERAL_ERROR)) {
    return absl::DataLossError(absl::StrCat("AES-256-GCM authentication failed (",
                                            Pkcs11Error("C_Decrypt", rv).message(), ")"));
  }
  if (rv == CKR_OK) {
    return absl::InternalError(absl::StrCat(description_, ": AES-GCM returned ", out_len,
                                            " bytes for ", body_len - kTagSize));
  }
  return Pkcs11Error(absl::StrCat("opening under ", description_), rv);
}

}  // namespace kb
