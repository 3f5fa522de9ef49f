// CryptsetupVolume on real LUKS2 image files (no device-mapper needed).
#include "unlocker/luks/cryptsetup_volume.h"

#include <fcntl.h>
#include <libcryptsetup.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr off_t kImageSize = 32 << 20;
constexpr char kCa[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

struct CryptFree {
  void operator()(crypt_device* cd) const { crypt_free(cd); }
};
using CryptDevicePtr = std::unique_ptr<crypt_device, CryptFree>;

void Quiet(int, const char*, void*) {}

// crypt_init on an existing file, with libcryptsetup's log silenced.
CryptDevicePtr InitDevice(const std::string& path) {
  crypt_device* cd = nullptr;
  EXPECT_EQ(crypt_init(&cd, path.c_str()), 0) << path;
  if (cd != nullptr) crypt_set_log_callback(cd, &Quiet, nullptr);
  return CryptDevicePtr(cd);
}

void WriteBytes(const std::string& path, off_t offset, const std::string& bytes) {
  int fd = open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, bytes.data(), bytes.size(), offset), static_cast<ssize_t>(bytes.size()));
  close(fd);
}

void CreateSparseFile(const std::string& path) {
  int fd = open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, kImageSize), 0);
  close(fd);
}

KeybrokerToken SampleToken(int keyslot) {
  KeybrokerToken token;
  token.keyslot = keyslot;
  token.endpoints = {"10.0.2.100:8443", "10.0.2.101:8443"};
  token.ca_sha256 = kCa;
  token.key_id = "root-disk";
  token.key_version = 1;
  token.pcrs = {0, 7};
  return token;
}

class CryptsetupVolumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kb-volume-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A 32 MiB sparse LUKS2 image whose keyslot 0 opens with `passphrase_` (PBKDF2, fast).
  std::string MakeImage(const std::string& name, const char* type = CRYPT_LUKS2) {
    std::string path = dir_ + "/" + name;
    CreateSparseFile(path);
    CryptDevicePtr cd = InitDevice(path);
    crypt_pbkdf_type pbkdf = {};
    pbkdf.type = CRYPT_KDF_PBKDF2;
    pbkdf.hash = "sha256";
    pbkdf.iterations = 1000;
    pbkdf.flags = CRYPT_PBKDF_NO_BENCHMARK;
    EXPECT_EQ(crypt_set_pbkdf_type(cd.get(), &pbkdf), 0);
    auto volume_key = RandomSecret(64);
    EXPECT_THAT(volume_key, IsOk());
    const char* vk = reinterpret_cast<const char*>(volume_key->data());
    EXPECT_EQ(crypt_format(cd.get(), type, "aes", "xts-plain64", nullptr, vk, 64, nullptr), 0);
    EXPECT_EQ(crypt_keyslot_add_by_volume_key(cd.get(), CRYPT_ANY_SLOT, vk, 64, passphrase_.c_str(),
                                              passphrase_.size()),
              0);
    return path;
  }

  // Writes raw token JSON with libcryptsetup directly (bypassing CryptsetupVolume).
  void WriteRawToken(const std::string& path, int token_id, const std::string& json) {
    CryptDevicePtr cd = InitDevice(path);
    ASSERT_EQ(crypt_load(cd.get(), CRYPT_LUKS2, nullptr), 0);
    ASSERT_EQ(crypt_token_json_set(cd.get(), token_id, json.c_str()), token_id);
  }

  std::unique_ptr<CryptsetupVolume> OpenOrDie(const std::string& path) {
    auto volume = CryptsetupVolume::Open(path);
    EXPECT_THAT(volume, IsOk());
    return volume.ok() ? std::move(*volume) : nullptr;
  }

  SecretBytes Passphrase() const { return SecretBytes::FromString(passphrase_); }

  std::string dir_;
  std::string passphrase_ = "initial passphrase";
};

std::vector<std::string> States(const std::vector<KeyslotInfo>& slots) {
  std::vector<std::string> states;
  for (const KeyslotInfo& slot : slots) states.push_back(slot.state);
  return states;
}

TEST_F(CryptsetupVolumeTest, AddKeyslotWriteTokenAndListRoundTrip) {
  std::string path = MakeImage("disk.img");
  auto volume = OpenOrDie(path);
  ASSERT_NE(volume, nullptr);
  EXPECT_TRUE(volume->ListTokens()->empty());

  auto key = RandomSecret(64);  // binary, may contain NULs
  auto slot = volume->AddKeyslot(Passphrase(), *key);
  ASSERT_THAT(slot, IsOk());
  EXPECT_EQ(*slot, 1);
  auto id = volume->WriteToken(SampleToken(*slot));
  ASSERT_THAT(id, IsOk());

  auto reopened = OpenOrDie(path);  // persisted in the header
  auto tokens = reopened->ListTokens();
  ASSERT_THAT(tokens, IsOk());
  ASSERT_EQ(tokens->size(), 1u);
  const KeybrokerToken& token = (*tokens)[0];
  EXPECT_EQ(token.token_id, *id);
  EXPECT_EQ(token.keyslot, 1);
  EXPECT_EQ(token.endpoints, SampleToken(1).endpoints);
  EXPECT_EQ(token.ca_sha256, kCa);
  EXPECT_EQ(token.key_id, "root-disk");
  EXPECT_EQ(token.key_version, 1u);
  EXPECT_EQ(token.pcrs, (std::vector<uint32_t>{0, 7}));
  EXPECT_EQ(token.transfer_key, "ecc-p256");

  auto slots = reopened->ListKeyslots();
  ASSERT_THAT(slots, IsOk());
  ASSERT_EQ(slots->size(), 32u);
  EXPECT_EQ((*slots)[0].state, "active");
  EXPECT_EQ((*slots)[1].state, "active");
  EXPECT_EQ((*slots)[2].state, "inactive");
  EXPECT_THAT(reopened->VerifyKey(1, *key), IsOk());
  EXPECT_THAT(reopened->VerifyKey(0, Passphrase()), IsOk());
}

TEST_F(CryptsetupVolumeTest, RewritesTokenInPlace) {
  auto volume = OpenOrDie(MakeImage("disk.img"));
  KeybrokerToken token = SampleToken(0);
  auto id = volume->WriteToken(token);
  ASSERT_THAT(id, IsOk());
  token.token_id = *id;
  token.key_version = 2;
  auto same = volume->WriteToken(token);
  ASSERT_THAT(same, IsOk());
  EXPECT_EQ(*same, *id);
  auto tokens = volume->ListTokens();
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_EQ((*tokens)[0].key_version, 2u);

  EXPECT_EQ(volume->WriteToken(SampleToken(4)).status().code(), absl::StatusCode::kNotFound);
  token.token_id = 99;
  EXPECT_EQ(volume->WriteToken(token).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CryptsetupVolumeTest, VerifyKey) {
  auto volume = OpenOrDie(MakeImage("disk.img"));
  auto key = RandomSecret(32);
  ASSERT_THAT(volume->AddKeyslot(Passphrase(), *key), IsOk());
  EXPECT_THAT(volume->VerifyKey(1, *key), IsOk());

  absl::Status wrong = volume->VerifyKey(1, SecretBytes::FromString("wrong key"));
  EXPECT_EQ(wrong.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(wrong.message()), HasSubstr("key does not open keyslot 1"));
  EXPECT_THAT(std::string(wrong.message()), Not(HasSubstr("wrong key")));
  // The right passphrase for another slot does not open this one.
  EXPECT_EQ(volume->VerifyKey(1, Passphrase()).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(volume->VerifyKey(5, *key).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(volume->VerifyKey(32, *key).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(volume->VerifyKey(1, SecretBytes()).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CryptsetupVolumeTest, VerifyPassphraseTriesEveryKeyslot) {
  auto volume = OpenOrDie(MakeImage("disk.img"));
  auto key = RandomSecret(32);
  ASSERT_THAT(volume->AddKeyslot(Passphrase(), *key), IsOk());
  EXPECT_THAT(volume->VerifyPassphrase(Passphrase()), IsOk());
  EXPECT_THAT(volume->VerifyPassphrase(*key), IsOk());
  absl::Status wrong = volume->VerifyPassphrase(SecretBytes::FromString("wrong passphrase"));
  EXPECT_EQ(wrong.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(wrong.message()), HasSubstr("the passphrase opens no keyslot"));
  EXPECT_THAT(std::string(wrong.message()), Not(HasSubstr("wrong passphrase")));
  EXPECT_EQ(volume->VerifyPassphrase(SecretBytes()).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CryptsetupVolumeTest, WrongExistingPassphraseLeavesHeaderUnchanged) {
  std::string path = MakeImage("disk.img");
  auto volume = OpenOrDie(path);
  auto before = volume->ListKeyslots();
  ASSERT_THAT(before, IsOk());
  auto slot = volume->AddKeyslot(SecretBytes::FromString("not the passphrase"), *RandomSecret(32));
  EXPECT_EQ(slot.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(slot.status().message()), HasSubstr("opens no keyslot"));
  EXPECT_EQ(States(*volume->ListKeyslots()), States(*before));
  EXPECT_EQ(States(*OpenOrDie(path)->ListKeyslots()), States(*before));
}

TEST_F(CryptsetupVolumeTest, RemoveTokenAndKeyslot) {
  auto volume = OpenOrDie(MakeImage("disk.img"));
  auto key = RandomSecret(32);
  auto slot = volume->AddKeyslot(Passphrase(), *key);
  ASSERT_THAT(slot, IsOk());
  auto id = volume->WriteToken(SampleToken(*slot));
  ASSERT_THAT(id, IsOk());

  // A keyslot still referenced by a keybroker token is kept.
  EXPECT_EQ(volume->RemoveKeyslot(*slot).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(volume->RemoveToken(*id), IsOk());
  EXPECT_TRUE(volume->ListTokens()->empty());
  EXPECT_EQ(volume->RemoveToken(*id).code(), absl::StatusCode::kNotFound);

  EXPECT_THAT(volume->RemoveKeyslot(*slot), IsOk());
  EXPECT_EQ((*volume->ListKeyslots())[*slot].state, "inactive");
  EXPECT_EQ(volume->VerifyKey(*slot, *key).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(volume->RemoveKeyslot(*slot).code(), absl::StatusCode::kNotFound);
  // The last keyslot is never removed.
  EXPECT_EQ(volume->RemoveKeyslot(0).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(volume->VerifyKey(0, Passphrase()), IsOk());
}

TEST_F(CryptsetupVolumeTest, MissingFileIsNotFound) {
  auto volume = CryptsetupVolume::Open(dir_ + "/absent.img");
  EXPECT_EQ(volume.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CryptsetupVolumeTest, ZeroFileIsNotLuks) {
  std::string path = dir_ + "/zeros.img";
  CreateSparseFile(path);
  auto volume = CryptsetupVolume::Open(path);
  EXPECT_EQ(volume.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(volume.status().message()),
              HasSubstr(path + ": not a LUKS2 volume or header corrupt"));
  EXPECT_THAT(std::string(volume.status().message()), Not(HasSubstr("\n")));
}

TEST_F(CryptsetupVolumeTest, Luks1IsNamedWithTheConversion) {
  const std::string path = MakeImage("luks1.img", CRYPT_LUKS1);
  auto volume = CryptsetupVolume::Open(path);
  EXPECT_THAT(volume, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr(path + " is a LUKS1 volume; keybroker needs LUKS2")));
  EXPECT_THAT(volume.status().message(), HasSubstr("cryptsetup convert --type luks2 " + path));
}

TEST_F(CryptsetupVolumeTest, CorruptPrimaryHeaderRecoversFromSecondary) {
  std::string path = MakeImage("disk.img");
  WriteBytes(path, 0, std::string(4096, '\xa5'));
  auto volume = CryptsetupVolume::Open(path);
  ASSERT_THAT(volume, IsOk());
  EXPECT_THAT((*volume)->VerifyKey(0, Passphrase()), IsOk());
}

TEST_F(CryptsetupVolumeTest, BothHeadersCorruptIsClearError) {
  std::string path = MakeImage("disk.img");
  WriteBytes(path, 0, std::string(4096, '\xa5'));
  WriteBytes(path, 16384, std::string(4096, '\xa5'));  // secondary header (default offset)
  auto volume = CryptsetupVolume::Open(path);
  EXPECT_EQ(volume.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(volume.status().message()), HasSubstr("header corrupt"));
}

TEST_F(CryptsetupVolumeTest, MalformedKeybrokerTokenNamesTokenId) {
  std::string path = MakeImage("disk.img");
  WriteRawToken(path, 5,
                absl::StrCat(R"({"type":"keybroker","keyslots":["0"],"kb_version":1,)",
                             R"("endpoints":["10.0.2.100:8443"],"ca_sha256":")", kCa,
                             R"(","key_version":1,"pcrs":[7],"transfer_key":"ecc-p256"})"));
  auto tokens = OpenOrDie(path)->ListTokens();
  EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tokens.status().message()), HasSubstr("token 5"));
  EXPECT_THAT(std::string(tokens.status().message()), HasSubstr("\"key_id\" is missing"));
}

TEST_F(CryptsetupVolumeTest, OtherTokenTypesAreIgnoredAndKept) {
  std::string path = MakeImage("disk.img");
  WriteRawToken(path, 0,
                R"({"type":"systemd-tpm2","keyslots":["0"],"tpm2-blob":"AAAA","tpm2-pcrs":[7],)"
                R"("tpm2-pcr-bank":"sha256","tpm2-primary-alg":"ecc","tpm2-pin":false,)"
                R"("tpm2-policy-hash":")" +
                    std::string(kCa) + "\"}");
  auto volume = OpenOrDie(path);
  auto tokens = volume->ListTokens();
  ASSERT_THAT(tokens, IsOk());
  EXPECT_TRUE(tokens->empty());

  auto id = volume->WriteToken(SampleToken(0));
  ASSERT_THAT(id, IsOk());
  EXPECT_NE(*id, 0);
  tokens = volume->ListTokens();
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_EQ((*tokens)[0].token_id, *id);

  EXPECT_EQ(volume->RemoveToken(0).code(), absl::StatusCode::kFailedPrecondition);
  KeybrokerToken overwrite = SampleToken(0);
  overwrite.token_id = 0;
  EXPECT_EQ(volume->WriteToken(overwrite).status().code(), absl::StatusCode::kFailedPrecondition);
  // Removing our token leaves the foreign one in place.
  EXPECT_THAT(volume->RemoveToken(*id), IsOk());
  EXPECT_EQ(OpenOrDie(path)->RemoveToken(0).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(CryptsetupVolumeTest, ActivateChecksArgumentsAndKeyFirst) {
  auto volume = OpenOrDie(MakeImage("disk.img"));
  EXPECT_EQ(volume->Activate("", 0, Passphrase()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(volume->Activate("a/b", 0, Passphrase()).code(), absl::StatusCode::kInvalidArgument);
  absl::Status wrong = volume->Activate("kbtest", 0, SecretBytes::FromString("wrong"));
  int dm = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
  if (dm >= 0) {
    close(dm);
    EXPECT_EQ(wrong.code(), absl::StatusCode::kPermissionDenied) << wrong;
  } else {
    EXPECT_EQ(wrong.code(), absl::StatusCode::kFailedPrecondition) << wrong;
    EXPECT_THAT(std::string(wrong.message()), HasSubstr("device-mapper unavailable")) << wrong;
  }
  // Activation with the right key needs device-mapper: covered by the QEMU e2e test.
}

}  // namespace
}  // namespace kb
