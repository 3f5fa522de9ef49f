#include "tests/support/release_reads_comparison.h"

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

KeyRecord Key(const std::string& id) {
  KeyRecord r;
  r.key_id = id;
  r.size_bytes = 32;
  r.created_at = absl::Now();
  return r;
}

}  // namespace

std::string ReleaseReadsComparison::Issue(const std::string& key) {
  absl::StatusOr<Challenge> c = writer_.challenges->New(key, absl::Now() + absl::Minutes(1));
  EXPECT_THAT(c, IsOk());
  if (!c.ok()) return "";
  EXPECT_THAT(writer_.challenges->Put(*c, absl::Now()), IsOk());
  return c->id;
}

ReleaseRecords ReleaseReadsComparison::ReadBothWays(const std::string& key,
                                                    const std::string& machine, uint32_t version,
                                                    const std::string& ak) {
  SeparateReleaseReads separate(
      {reader_.challenges, reader_.aks, reader_.keys, reader_.denylist, reader_.revocations});
  const std::string c1 = Issue(key), c2 = Issue(key);
  auto one = reader_.release_reads->Read({c1, key, version, machine, ak});
  auto each = separate.Read({c2, key, version, machine, ak});
  EXPECT_THAT(one, IsOk());
  EXPECT_THAT(each, IsOk());
  if (!one.ok() || !each.ok()) return ReleaseRecords();
  EXPECT_TRUE(one->challenge.has_value() && each->challenge.has_value());
  if (!one->challenge || !each->challenge) return *std::move(one);
  EXPECT_EQ(one->challenge->key_id, key);
  EXPECT_EQ(HexEncode(one->challenge->nonce), c1);
  EXPECT_EQ(HexEncode(each->challenge->nonce), c2);
  EXPECT_EQ(one->machine, each->machine);
  const std::string where = absl::StrCat(key, "/", machine, "/v", version);
  EXPECT_EQ(one->denied.has_value(), each->denied.has_value()) << where;
  if (one->denied && each->denied) {
    EXPECT_EQ(one->denied->reason, each->denied->reason);
  }
  EXPECT_EQ(one->key.has_value(), each->key.has_value()) << where;
  if (!one->key || !each->key) return *std::move(one);
  ExpectSameKey(*one, *each, where);
  auto r1 = one->revocation();
  auto r2 = each->revocation();
  EXPECT_THAT(r1, IsOk());
  EXPECT_THAT(r2, IsOk());
  if (r1.ok() && r2.ok()) {
    EXPECT_EQ(r1->has_value(), r2->has_value()) << where;
    if (r1->has_value() && r2->has_value()) {
      EXPECT_EQ((*r1)->machine, (*r2)->machine) << where;
    }
  }
  return *std::move(one);
}

void ReleaseReadsComparison::ExpectSameKey(ReleaseRecords& one, ReleaseRecords& each,
                                           const std::string& where) {
  EXPECT_EQ(one.key->disabled, each.key->disabled) << where;
  EXPECT_EQ(one.key->policy_version, each.key->policy_version) << where;
  EXPECT_EQ(one.key->policy_json, each.key->policy_json) << where;
  EXPECT_EQ(one.key->active_version, each.key->active_version) << where;
  EXPECT_EQ(one.key->latest_version, each.key->latest_version) << where;
  EXPECT_EQ(one.version.has_value(), each.version.has_value()) << where;
  if (!one.version || !each.version) return;
  EXPECT_EQ(one.version->version, each.version->version) << where;
  EXPECT_EQ(one.version->retired, each.version->retired) << where;
  auto m1 = one.material();
  auto m2 = each.material();
  EXPECT_THAT(m1, IsOk());
  EXPECT_THAT(m2, IsOk());
  if (m1.ok() && m2.ok()) {
    EXPECT_TRUE(ConstantTimeEquals(*m1, *m2)) << where;
  }
}

void ReleaseReadsComparison::ExpectEveryCaseReadAlike() {
  EXPECT_FALSE(ReadBothWays("disk", "vm-1", 0).key.has_value());  // no such key
  ASSERT_THAT(writer_.keys->CreateKey(Key("disk"), *RandomSecret(32)), IsOk());
  ReleaseRecords fresh = ReadBothWays("disk", "vm-1", 0);
  ASSERT_TRUE(fresh.key.has_value());
  EXPECT_EQ(fresh.key->policy_version, 0u);
  ASSERT_TRUE(fresh.version.has_value());
  EXPECT_EQ(fresh.version->version, 1u);
  EXPECT_FALSE(ReadBothWays("disk", "vm-1", 2).version.has_value());  // no version 2 yet

  ASSERT_THAT(writer_.keys->SetPolicy("disk", R"({"allow":[]})", std::nullopt), IsOk());
  ASSERT_THAT(writer_.keys->AddVersion("disk", 2, *RandomSecret(32), absl::Now()), IsOk());
  ASSERT_THAT(writer_.keys->RetireVersion("disk", 1), IsOk());
  EXPECT_EQ(ReadBothWays("disk", "vm-1", 0).version->version, 2u);
  EXPECT_TRUE(ReadBothWays("disk", "vm-1", 1).version->retired);
  EXPECT_EQ(ReadBothWays("disk", "vm-1", 0).key->policy_json, R"({"allow":[]})");

  // Revocations: every machine's, then the machine's own (which wins).
  ASSERT_THAT(writer_.revocations->Revoke({"disk", "", "incident", "op", absl::Now()}), IsOk());
  EXPECT_EQ((*ReadBothWays("disk", "vm-1", 0).revocation())->machine, "");
  ASSERT_THAT(writer_.revocations->Revoke({"disk", "vm-1", "lost", "op", absl::Now()}), IsOk());
  EXPECT_EQ((*ReadBothWays("disk", "vm-1", 0).revocation())->machine, "vm-1");
  EXPECT_EQ((*ReadBothWays("disk", "vm-2", 0).revocation())->machine, "");

  // Whether the machine may hold an offline grant (the separate reads cannot tell: always).
  EXPECT_FALSE(ReadBothWays("disk", "vm-1", 0).may_hold_offline_grant);
  ASSERT_THAT(writer_.grants->RecordRelease({"disk", "vm-1", 2, 3, absl::Now()}), IsOk());
  EXPECT_TRUE(ReadBothWays("disk", "vm-1", 0).may_hold_offline_grant);
  EXPECT_FALSE(ReadBothWays("disk", "vm-2", 0).may_hold_offline_grant);
  ASSERT_THAT(writer_.grants->RecordRelease({"disk", "vm-1", 2, 0, absl::Now()}), IsOk());
  EXPECT_FALSE(ReadBothWays("disk", "vm-1", 0).may_hold_offline_grant);

  ASSERT_THAT(writer_.keys->SetDisabled("disk", true), IsOk());
  EXPECT_TRUE(ReadBothWays("disk", "vm-1", 0).key->disabled);

  // A denied machine is refused before anything about the key matters.
  ASSERT_THAT(writer_.denylist->Deny({"vm-1", "stolen", "op", absl::Now()}), IsOk());
  EXPECT_TRUE(ReadBothWays("disk", "vm-1", 0).denied.has_value());
  EXPECT_TRUE(ReadBothWays("missing", "vm-1", 0).denied.has_value());
  EXPECT_FALSE(ReadBothWays("disk", "vm-2", 0).denied.has_value());
  ASSERT_THAT(writer_.denylist->Allow("vm-1"), IsOk());
  EXPECT_FALSE(ReadBothWays("disk", "vm-1", 0).denied.has_value());

  // Every version retired: no version to wrap.
  ASSERT_THAT(writer_.keys->RetireVersion("disk", 2), IsOk());
  EXPECT_EQ(ReadBothWays("disk", "vm-1", 0).key->active_version, 0u);
  EXPECT_FALSE(ReadBothWays("disk", "vm-1", 0).version.has_value());
}

void ReleaseReadsComparison::ExpectTheMachineOfTheRegistration() {
  ASSERT_THAT(writer_.keys->CreateKey(Key("disk"), *RandomSecret(32)), IsOk());
  const std::string ak =
      std::string("\x00\x0b", 2) + *RandomBytes(32);  // a TPM name: nameAlg, digest
  // Not registered: no machine, whatever the question says.
  EXPECT_EQ(ReadBothWays("disk", "", 0, ak).machine, "");
  EXPECT_EQ(ReadBothWays("disk", "vm-9", 0, ak).machine, "");
  EXPECT_FALSE(ReadBothWays("disk", "", 0, ak).key.has_value());
  ASSERT_THAT(writer_.aks->Register({ak, "vm-ak", "public area", absl::Now()}), IsOk());
  ReleaseRecords registered = ReadBothWays("disk", "", 0, ak);
  EXPECT_EQ(registered.machine, "vm-ak");
  EXPECT_TRUE(registered.key.has_value());
  // The deny list and the grants are those of the registration's machine.
  ASSERT_THAT(writer_.denylist->Deny({"vm-ak", "stolen", "op", absl::Now()}), IsOk());
  EXPECT_TRUE(ReadBothWays("disk", "", 0, ak).denied.has_value());
  ASSERT_THAT(writer_.denylist->Allow("vm-ak"), IsOk());
  ASSERT_THAT(writer_.grants->RecordRelease({"disk", "vm-ak", 1, 3, absl::Now()}), IsOk());
  EXPECT_TRUE(ReadBothWays("disk", "", 0, ak).may_hold_offline_grant);
  // Removed through the writer: the reader's next read finds no machine.
  ASSERT_THAT(writer_.aks->Remove(ak), IsOk());
  EXPECT_EQ(ReadBothWays("disk", "", 0, ak).machine, "");
}

}  // namespace kb
