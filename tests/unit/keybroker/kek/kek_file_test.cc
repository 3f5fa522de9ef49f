// keybrokerd's kek_file (keybroker/kek/kek_file.h).
#include "keybroker/kek/kek_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "common/crypto.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

class KekFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kb-kek-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string Write(const std::string& name, const std::string& bytes, int mode) {
    const std::string path = dir_ + "/" + name;
    EXPECT_THAT(WriteFileAtomic(path, bytes, mode), IsOk());
    chmod(path.c_str(), mode);
    return path;
  }
  std::string dir_;
};

TEST_F(KekFileTest, LoadsAPrivate32ByteFile) {
  const std::string key = *RandomBytes(32);
  const std::string path = Write("kek", key, 0600);
  auto kek = LoadKekFile(path);
  ASSERT_THAT(kek, IsOk());
  EXPECT_EQ((*kek)->Describe(), "kek_file " + path);
  EXPECT_THAT((*kek)->Fingerprint(), MatchesRegex("[0-9a-f]{16}"));
  EXPECT_EQ((*kek)->Fingerprint(), (*LoadKekFile(Write("copy", key, 0400)))->Fingerprint());
  EXPECT_NE((*kek)->Fingerprint(),
            (*LoadKekFile(Write("other", *RandomBytes(32), 0600)))->Fingerprint());
  auto sealed = (*kek)->Seal(SecretBytes::FromString("secret"), "aad");
  ASSERT_THAT(sealed, IsOk());
  EXPECT_THAT((*kek)->Open(*sealed, "other aad"), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(KekFileTest, ModeIsPrintedInOctalWithTheFix) {
  const std::string path = Write("kek", *RandomBytes(32), 0644);
  EXPECT_THAT(LoadKekFile(path), StatusIs(absl::StatusCode::kFailedPrecondition,
                                          HasSubstr("(mode 644); run: chmod 600 " + path)));
}

TEST_F(KekFileTest, WrongSizeAndMissingFileAreNamed) {
  const std::string path = Write("short", "0123456789", 0600);
  EXPECT_THAT(LoadKekFile(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("kek_file " + path + ": must hold exactly 32 bytes, has 10")));
  EXPECT_THAT(LoadKekFile(dir_ + "/none"), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace kb
