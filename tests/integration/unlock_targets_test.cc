// Finding the volumes `kbunlock unlock --all / --crypttab` acts on, over LUKS2 image files.
#include "unlocker/cli/unlock_targets.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/broker_process.h"
#include "tests/support/status_matchers.h"
#include "unlocker/luks/cryptsetup_volume.h"

namespace kb {
namespace {

using ::testing::ElementsAre;
using ::testing::FieldsAre;
using ::testing::UnorderedElementsAre;

class UnlockTargetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kb-targets-XXXXXX";
    dir_ = mkdtemp(tmpl);
    mkdir((dir_ + "/sys").c_str(), 0755);
    mkdir((dir_ + "/dev").c_str(), 0755);
    mkdir((dir_ + "/dev/mapper").c_str(), 0755);
  }
  void TearDown() override { (void)!std::system(("rm -rf " + dir_).c_str()); }

  // A block device "name" in the fake /sys and /dev: LUKS2, with a keybroker token if asked.
  std::string AddDevice(const std::string& name, bool luks, bool token) {
    const std::string dev = dir_ + "/dev/" + name;
    mkdir((dir_ + "/sys/" + name).c_str(), 0755);
    EXPECT_EQ(RunCommand({"/usr/bin/truncate", "-s", "20M", dev}).exit_code, 0);
    if (!luks) return dev;
    std::ofstream(dir_ + "/pass") << "pass";
    EXPECT_EQ(
        RunCommand({"/sbin/cryptsetup", "luksFormat", "--type", "luks2", "--batch-mode", "--pbkdf",
                    "pbkdf2", "--pbkdf-force-iterations", "1000", dev, dir_ + "/pass"})
            .exit_code,
        0);
    if (token) {
      auto volume = CryptsetupVolume::Open(dev);
      KeybrokerToken t;
      t.keyslot = 0;
      t.endpoints = {"127.0.0.1:1"};
      t.ca_sha256 = std::string(64, 'a');
      t.key_id = "k";
      EXPECT_THAT((*volume)->WriteToken(t), IsOk());
    }
    return dev;
  }

  std::string Uuid(const std::string& dev) { return (*CryptsetupVolume::Open(dev))->uuid(); }

  std::string dir_;
};

TEST_F(UnlockTargetsTest, FindsOnlyLockedVolumesWithATokenAndNamesThem) {
  const std::string a = AddDevice("vda", true, true);
  AddDevice("vdb", true, false);   // LUKS2 without a keybroker token
  AddDevice("vdc", false, false);  // not LUKS
  const std::string d = AddDevice("vdd", true, true);
  AddDevice("dm-0", true, true);  // device-mapper nodes are skipped
  std::vector<CrypttabEntry> crypttab = {{"data", d, "none", "luks"}};
  auto targets = DiscoverKeybrokerVolumes(crypttab, dir_ + "/sys", dir_ + "/dev");
  EXPECT_THAT(targets, UnorderedElementsAre(FieldsAre(a, "luks-" + Uuid(a)), FieldsAre(d, "data")));

  // An already open volume is left alone.
  std::ofstream(dir_ + "/dev/mapper/data") << "";
  targets = DiscoverKeybrokerVolumes(crypttab, dir_ + "/sys", dir_ + "/dev");
  EXPECT_THAT(targets, ElementsAre(FieldsAre(a, "luks-" + Uuid(a))));
}

TEST_F(UnlockTargetsTest, CrypttabNamesAndUuids) {
  const std::string a = AddDevice("vda", true, true);
  std::vector<CrypttabEntry> crypttab = {{"root", "UUID=" + Uuid(a), "none", "luks"}};
  auto targets = DiscoverKeybrokerVolumes(crypttab, dir_ + "/sys", dir_ + "/dev");
  EXPECT_THAT(targets, ElementsAre(FieldsAre(a, "root")));
  auto t = CrypttabTarget(crypttab, "root");
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->device, "/dev/disk/by-uuid/" + Uuid(a));
  EXPECT_EQ(CrypttabTarget(crypttab, "nope").status().code(), absl::StatusCode::kNotFound);
}

TEST(CrypttabTest, ParsesLinesAndRejectsBrokenOnes) {
  auto entries = ParseCrypttab(
      "# comment\n\nroot UUID=abc none luks,discard\n"
      "data\t/dev/vdb\nswap PARTUUID=1 /dev/urandom swap,cipher=aes\n");
  ASSERT_THAT(entries, IsOk());
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_THAT((*entries)[0], FieldsAre("root", "UUID=abc", "none", "luks,discard"));
  EXPECT_THAT((*entries)[1], FieldsAre("data", "/dev/vdb", "none", ""));
  EXPECT_EQ(ResolveCrypttabSource("PARTUUID=1"), "/dev/disk/by-partuuid/1");
  EXPECT_EQ(ResolveCrypttabSource("LABEL=x"), "/dev/disk/by-label/x");
  EXPECT_EQ(ResolveCrypttabSource("/dev/vdb"), "/dev/vdb");
  auto bad = ParseCrypttab("ok /dev/x\nlonely\n");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(bad.status().message()).find("line 2"), std::string::npos);
}

}  // namespace
}  // namespace kb
