// SetPolicy's compare-and-set (SetPolicyRequest.expected_version).
#include "gmock/gmock.h"
#include "keybroker/admin/admin_api.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/broker_fixture.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

class PolicyVersionTest : public BrokerFixture {
 protected:
  absl::StatusOr<v1::SetPolicyResponse> SetExpecting(uint64_t expected, const std::string& json) {
    v1::SetPolicyRequest r;
    r.set_key_id("disk");
    r.set_policy_json(json);
    r.set_expected_version(expected);
    return admin_.policies->SetPolicy(r, {"CN=op", "op"});
  }
};

TEST_F(PolicyVersionTest, StoresOnlyOverTheExpectedVersion) {
  CreateKey("disk");
  auto first = SetExpecting(0, Pcr7PolicyFor("web-1"));  // 0: the key has no policy yet
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->policy_version(), 1u);
  ASSERT_THAT(SetExpecting(1, Pcr7PolicyFor("web-2")), IsOk());

  // A second editor that read version 1 loses: nothing is stored.
  auto stale = SetExpecting(1, Pcr7PolicyFor("web-3"));
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(stale.status().message()),
              HasSubstr("policy of key 'disk' changed since version 1 (now 2)"));
  v1::GetPolicyRequest g;
  g.set_key_id("disk");
  auto stored = admin_.policies->GetPolicy(g, {"CN=op", "op"});
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->policy_version(), 2u);
  EXPECT_THAT(stored->policy_json(), HasSubstr("web-2"));

  // Without expected_version, SetPolicy stores unconditionally as before.
  EXPECT_THAT(SetPolicy("disk", Pcr7PolicyFor("web-4")), IsOk());
  // The rejection is audited like every SetPolicy.
  v1::ListAuditEventsRequest a;
  a.set_key_id("disk");
  auto events = admin_.audit->ListAuditEvents(a, {"CN=op", "op"});
  ASSERT_THAT(events, IsOk());
  bool audited = false;
  for (const v1::AuditEvent& e : events->events()) {
    audited |= e.action() == "set_policy" && e.decision() == "deny" &&
               e.reason().find("changed since version 1") != std::string::npos;
  }
  EXPECT_TRUE(audited);
  EXPECT_EQ(SetExpecting(0, Pcr7PolicyFor("x")).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // An expected version beyond any stored one (above INT64_MAX) is stale too, not a wildcard.
  EXPECT_THAT(SetExpecting(uint64_t{1} << 63, Pcr7PolicyFor("x")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("changed since version 9223372036854775808 (now 3)")));
  EXPECT_EQ(admin_.policies->GetPolicy(g, {"CN=op", "op"})->policy_version(), 3u);
}

}  // namespace
}  // namespace kb
