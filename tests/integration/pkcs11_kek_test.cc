// The PKCS#11 KEK on a real SoftHSM2 token: sealing inside the token, the same sealed layout as
// the kek_file's AesKek, and a specific refusal for every way the token or key can be wrong.
#include "keybroker/kek/pkcs11_kek.h"

#include <p11-kit/p11-kit.h>

#include <functional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/kek/kek_provider.h"
#include "tests/support/softhsm_token.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

SecretBytes Pin() { return SecretBytes::FromString(SoftHsmToken::kPin); }

// Puts a secret key with a known value into the token, as an import would.
void ImportAesKey(const std::string& token_label, const std::string& key_label,
                  const SecretBytes& value, bool extractable) {
  auto token = Pkcs11Token::Open(SoftHsmToken::kModule, token_label, Pin());
  ASSERT_THAT(token, IsOk());
  auto session = (*token)->AcquireReadWrite();
  ASSERT_THAT(session, IsOk());
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_AES;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE, extract = extractable ? CK_TRUE : CK_FALSE;
  CK_ATTRIBUTE attrs[] = {{CKA_CLASS, &cls, sizeof(cls)},
                          {CKA_KEY_TYPE, &type, sizeof(type)},
                          {CKA_VALUE, const_cast<uint8_t*>(value.data()), value.size()},
                          {CKA_LABEL, const_cast<char*>(key_label.data()), key_label.size()},
                          {CKA_TOKEN, &yes, sizeof(yes)},
                          {CKA_PRIVATE, &yes, sizeof(yes)},
                          {CKA_SENSITIVE, extractable ? &no : &yes, sizeof(yes)},
                          {CKA_EXTRACTABLE, &extract, sizeof(extract)},
                          {CKA_ENCRYPT, &yes, sizeof(yes)},
                          {CKA_DECRYPT, &yes, sizeof(yes)}};
  CK_OBJECT_HANDLE key;
  ASSERT_EQ((*token)->functions()->C_CreateObject(session->handle(), attrs, 10, &key), CKR_OK);
}

// Runs `use` on the slot of the token `label` through the module itself (unmanaged by p11-kit),
// whose sessions and login state are those of every other user of the module in this process.
void OnToken(const std::string& label,
             const std::function<void(CK_FUNCTION_LIST*, CK_SLOT_ID)>& use) {
  CK_FUNCTION_LIST* fn = p11_kit_module_load(SoftHsmToken::kModule, P11_KIT_MODULE_UNMANAGED);
  ASSERT_NE(fn, nullptr);
  const CK_RV init = fn->C_Initialize(nullptr);
  ASSERT_TRUE(init == CKR_OK || init == CKR_CRYPTOKI_ALREADY_INITIALIZED) << init;
  CK_SLOT_ID slots[16];
  CK_ULONG count = 16;
  ASSERT_EQ(fn->C_GetSlotList(CK_TRUE, slots, &count), CKR_OK);
  int found = 0;
  for (CK_ULONG i = 0; i < count; ++i) {
    CK_TOKEN_INFO info;
    ASSERT_EQ(fn->C_GetTokenInfo(slots[i], &info), CKR_OK);
    std::string have(reinterpret_cast<const char*>(info.label), sizeof(info.label));
    if (have.substr(0, have.find_last_not_of(' ') + 1) != label) continue;
    use(fn, slots[i]);
    ++found;
  }
  EXPECT_EQ(found, 1);
  p11_kit_module_release(fn);  // not finalised: the module stays initialised for the others
}

// Closes every session of this process on the token `label`, as a token reset or a restart of
// the HSM's daemon would.
void CloseEverySession(const std::string& label) {
  OnToken(label, [](CK_FUNCTION_LIST* fn, CK_SLOT_ID slot) {
    ASSERT_EQ(fn->C_CloseAllSessions(slot), CKR_OK);
  });
}

// Changes the user PIN of the token `label` from `from` to `to`, as a security officer would
// while keybrokerd runs.
void SetUserPin(const std::string& label, const std::string& from, const std::string& to) {
  OnToken(label, [&](CK_FUNCTION_LIST* fn, CK_SLOT_ID slot) {
    CK_SESSION_HANDLE s;
    ASSERT_EQ(fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &s),
              CKR_OK);
    auto* old_pin = reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(from.data()));
    auto* new_pin = reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(to.data()));
    const CK_RV login = fn->C_Login(s, CKU_USER, old_pin, from.size());
    ASSERT_TRUE(login == CKR_OK || login == CKR_USER_ALREADY_LOGGED_IN) << login;
    ASSERT_EQ(fn->C_SetPIN(s, old_pin, from.size(), new_pin, to.size()), CKR_OK);
    ASSERT_EQ(fn->C_CloseSession(s), CKR_OK);
  });
}

class Pkcs11KekTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto token = SoftHsmToken::Create("kb-test");
    ASSERT_THAT(token, IsOk());
    token_ = std::move(*token);
  }
  Pkcs11KekLocation Where(const std::string& key_label) const {
    return {SoftHsmToken::kModule, token_->label(), key_label};
  }
  std::unique_ptr<SoftHsmToken> token_;
};

TEST_F(Pkcs11KekTest, AGeneratedKeySealsAndOpensInsideTheToken) {
  ASSERT_THAT(Pkcs11Kek::Generate(Where("kek"), Pin()), IsOk());
  auto kek = Pkcs11Kek::Open(Where("kek"), Pin());
  ASSERT_THAT(kek, IsOk());
  EXPECT_EQ((*kek)->Describe(),
            absl::StrCat("pkcs11 token 'kb-test' key 'kek' (module ", SoftHsmToken::kModule, ")"));
  const SecretBytes disk_key = *RandomSecret(64);
  auto sealed = (*kek)->Seal(disk_key, "disk/1");
  ASSERT_THAT(sealed, IsOk());
  EXPECT_EQ(sealed->size(), 12 + 64 + 16);
  auto opened = (*kek)->Open(*sealed, "disk/1");
  ASSERT_THAT(opened, IsOk());
  EXPECT_TRUE(ConstantTimeEquals(*opened, disk_key));

  EXPECT_THAT((*kek)->Open(*sealed, "disk/2"), StatusIs(absl::StatusCode::kDataLoss));
  std::string tampered = *sealed;
  tampered[20] ^= 1;
  EXPECT_THAT((*kek)->Open(tampered, "disk/1"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT((*kek)->Open("short", "disk/1"), StatusIs(absl::StatusCode::kDataLoss));
  // The same label again is refused: a KEK is never replaced.
  EXPECT_THAT(Pkcs11Kek::Generate(Where("kek"), Pin()),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("'kek' already exists")));
}

// A pooled session the token dropped (and the login with it) is replaced by a new, logged-in
// session once; the caller sees no error.
TEST_F(Pkcs11KekTest, ASessionTheTokenDroppedIsReplaced) {
  ASSERT_THAT(Pkcs11Kek::Generate(Where("kek"), Pin()), IsOk());
  auto kek = Pkcs11Kek::Open(Where("kek"), Pin());
  ASSERT_THAT(kek, IsOk());
  const SecretBytes disk_key = *RandomSecret(32);
  auto sealed = (*kek)->Seal(disk_key, "disk/1");
  ASSERT_THAT(sealed, IsOk());
  // Several sessions in the pool (concurrent callers), all of which the token then drops.
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&] {
      for (int j = 0; j < 20; ++j) EXPECT_THAT((*kek)->Open(*sealed, "disk/1"), IsOk());
    });
  }
  for (std::thread& t : callers) t.join();
  for (int round = 0; round < 3; ++round) {
    CloseEverySession("kb-test");
    auto opened = (*kek)->Open(*sealed, "disk/1");
    ASSERT_THAT(opened, IsOk()) << "round " << round;
    EXPECT_TRUE(ConstantTimeEquals(*opened, disk_key));
    CloseEverySession("kb-test");
    EXPECT_THAT((*kek)->Seal(disk_key, "disk/1"), IsOk()) << "round " << round;
  }
}

// The PIN changed on the token while keybrokerd runs, then a new session needed: refused,
// and the old PIN not presented again, even once the token would take it: a token locks a PIN
// after a few wrong tries, and keybrokerd reads its PIN only at start.
TEST_F(Pkcs11KekTest, APinTheTokenRefusedIsNotPresentedAgain) {
  ASSERT_THAT(Pkcs11Kek::Generate(Where("kek"), Pin()), IsOk());
  auto kek = Pkcs11Kek::Open(Where("kek"), Pin());
  ASSERT_THAT(kek, IsOk());
  auto sealed = (*kek)->Seal(*RandomSecret(32), "disk/1");
  ASSERT_THAT(sealed, IsOk());
  SetUserPin("kb-test", SoftHsmToken::kPin, "13579111");
  CloseEverySession("kb-test");
  EXPECT_THAT((*kek)->Open(*sealed, "disk/1"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("CKR_PIN_INCORRECT"), HasSubstr("kek.pkcs11.pin_file"))));
  SetUserPin("kb-test", "13579111", SoftHsmToken::kPin);
  CloseEverySession("kb-test");
  EXPECT_THAT((*kek)->Open(*sealed, "disk/1"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("does not present a refused PIN again")));
  // A restarted keybrokerd (a new token with the same PIN) is served.
  auto restarted = Pkcs11Kek::Open(Where("kek"), Pin());
  ASSERT_THAT(restarted, IsOk());
  EXPECT_THAT((*restarted)->Open(*sealed, "disk/1"), IsOk());
}

TEST_F(Pkcs11KekTest, SealsInTheSameLayoutAsTheKekFile) {
  const SecretBytes value = *RandomSecret(32);
  ImportAesKey("kb-test", "imported", value, /*extractable=*/false);
  auto hsm = Pkcs11Kek::Open(Where("imported"), Pin());
  ASSERT_THAT(hsm, IsOk());
  auto file = AesKek::Create(value.Clone(), "same key in memory");
  ASSERT_THAT(file, IsOk());
  const SecretBytes secret = SecretBytes::FromString("a disk key");
  auto by_hsm = (*hsm)->Seal(secret, "k/1");
  auto by_file = (*file)->Seal(secret, "k/1");
  ASSERT_THAT(by_hsm, IsOk());
  ASSERT_THAT(by_file, IsOk());
  EXPECT_EQ((*file)->Open(*by_hsm, "k/1")->view(), "a disk key");
  EXPECT_EQ((*hsm)->Open(*by_file, "k/1")->view(), "a disk key");
}

TEST_F(Pkcs11KekTest, RefusesKeysThatCouldLeaveTheToken) {
  ImportAesKey("kb-test", "exportable", *RandomSecret(32), /*extractable=*/true);
  EXPECT_THAT(Pkcs11Kek::Open(Where("exportable"), Pin()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("key 'exportable' in pkcs11 token 'kb-test'"),
                             HasSubstr("is not sensitive"))));
  ImportAesKey("kb-test", "short", *RandomSecret(16), /*extractable=*/false);
  EXPECT_THAT(Pkcs11Kek::Open(Where("short"), Pin()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("is AES-128")));
  ImportAesKey("kb-test", "twice", *RandomSecret(32), false);
  ImportAesKey("kb-test", "twice", *RandomSecret(32), false);
  EXPECT_THAT(Pkcs11Kek::Open(Where("twice"), Pin()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("2 secret keys are labelled 'twice'")));
}

TEST_F(Pkcs11KekTest, SaysWhatIsWrongWithTheTokenOrPin) {
  EXPECT_THAT(
      Pkcs11Kek::Open(Where("absent"), Pin()),
      StatusIs(absl::StatusCode::kNotFound,
               AllOf(HasSubstr("no secret key labelled 'absent'"), HasSubstr("--create-kek"))));
  ASSERT_THAT(token_->AddToken("other"), IsOk());
  EXPECT_THAT(
      Pkcs11Kek::Open({SoftHsmToken::kModule, "missing", "kek"}, Pin()),
      StatusIs(absl::StatusCode::kNotFound, AllOf(HasSubstr("no PKCS#11 token labelled 'missing'"),
                                                  HasSubstr("'kb-test'"), HasSubstr("'other'"))));
  EXPECT_THAT(Pkcs11Kek::Open(Where("kek"), SecretBytes::FromString("999999")),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("CKR_PIN_INCORRECT"), HasSubstr("kek.pkcs11.pin_file"))));
  EXPECT_THAT(Pkcs11Kek::Open({"/nonexistent/libpkcs11.so", "kb-test", "kek"}, Pin()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("cannot load PKCS#11 module /nonexistent/libpkcs11.so")));
}

TEST_F(Pkcs11KekTest, ServesConcurrentCallersAndTwoKeksInOneProcess) {
  ASSERT_THAT(Pkcs11Kek::Generate(Where("a"), Pin()), IsOk());
  ASSERT_THAT(Pkcs11Kek::Generate(Where("b"), Pin()), IsOk());
  auto a = Pkcs11Kek::Open(Where("a"), Pin());
  auto b = Pkcs11Kek::Open(Where("b"), Pin());
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE((*a)->Fingerprint(), (*b)->Fingerprint());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Kek& kek = t % 2 ? **a : **b;
      for (int i = 0; i < 100; ++i) {
        const std::string aad = absl::StrCat(t, "/", i);
        auto sealed = kek.Seal(SecretBytes::FromString(aad), aad);
        auto opened = sealed.ok() ? kek.Open(*sealed, aad) : sealed.status();
        if (!opened.ok() || opened->view() != aad) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  // Releasing one KEK leaves the other usable (p11-kit manages the module per user).
  a->reset();
  auto sealed = (*b)->Seal(SecretBytes::FromString("x"), "y");
  ASSERT_THAT(sealed, IsOk());
  EXPECT_THAT((*b)->Open(*sealed, "y"), IsOk());
}

TEST_F(Pkcs11KekTest, TheConfigNamesTheKekAndCreateKekNeverReplacesOne) {
  v1::KekConfig config;
  config.mutable_pkcs11()->set_module(SoftHsmToken::kModule);
  config.mutable_pkcs11()->set_token_label("kb-test");
  config.mutable_pkcs11()->set_key_label("kek");
  config.mutable_pkcs11()->set_pin_file(token_->pin_file());
  EXPECT_THAT(LoadKek(config), StatusIs(absl::StatusCode::kNotFound));
  auto created = CreateKek(config);
  ASSERT_THAT(created, IsOk());
  EXPECT_THAT(*created, HasSubstr("key 'kek'"));
  EXPECT_THAT(LoadKek(config), IsOk());
  EXPECT_THAT(CreateKek(config), StatusIs(absl::StatusCode::kAlreadyExists));

  config.set_file(token_->dir() + "/kek");
  ASSERT_THAT(CreateKek(config), IsOk());
  EXPECT_THAT(LoadKek(config), IsOk());
  EXPECT_THAT(CreateKek(config), StatusIs(absl::StatusCode::kAlreadyExists));
}

}  // namespace
}  // namespace kb
