#include "keybroker/service/roles.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

v1::BrokerConfig Config(const std::vector<std::pair<std::string, std::vector<std::string>>>& e) {
  v1::BrokerConfig c;
  for (const auto& [identity, roles] : e) {
    v1::OperatorRole* r = c.add_operator_roles();
    r->set_identity(identity);
    for (const std::string& role : roles) r->add_roles(role);
  }
  return c;
}

TEST(RoleMapTest, DnIdentitiesMatchTheSubjectAndNamesTheCommonName) {
  auto map = RoleMap::Create(Config({{"CN=operator-alice", {"admin"}},
                                     {"bob", {"operator", "auditor"}},
                                     {"CN=carol,O=Example", {"auditor"}}})
                                 .operator_roles());
  ASSERT_THAT(map, IsOk());
  EXPECT_EQ(map->RolesOf({"CN=operator-alice", "operator-alice"}), kRoleAdmin);
  EXPECT_EQ(map->RolesOf({"CN=bob,O=Example", "bob"}), kRoleOperator | kRoleAuditor);
  EXPECT_EQ(map->RolesOf({"CN=carol,O=Example", "carol"}), kRoleAuditor);
  EXPECT_EQ(map->RolesOf({"CN=carol", "carol"}), 0u);
  EXPECT_EQ(map->RolesOf({"CN=mallory", "mallory"}), 0u);
}

TEST(RoleMapTest, ACommonNameThatSpellsADnGetsNothing) {
  auto map = RoleMap::Create(Config({{"CN=operator-alice", {"admin"}}}).operator_roles());
  ASSERT_THAT(map, IsOk());
  // gRPC reports such a certificate's subject with the '=' escaped (RFC 4514).
  EXPECT_EQ(map->RolesOf({"CN=CN\\=operator-alice", "CN=operator-alice"}), 0u);
  EXPECT_EQ(map->RolesOf({"", "CN=operator-alice"}), 0u);
  EXPECT_EQ(map->RolesOf({"CN=operator-alice,O=Evil", "operator-alice"}), 0u);
}

TEST(RoleMapTest, DnsCompareAsDns) {
  auto map = RoleMap::Create(Config({{"cn=Bob, o=Example\\, Inc.", {"admin"}}}).operator_roles());
  ASSERT_THAT(map, IsOk());
  EXPECT_EQ(map->RolesOf({"CN=Bob,O=Example\\, Inc.", "Bob"}), kRoleAdmin);
  EXPECT_EQ(map->RolesOf({"CN=Bob,O=Example\\2C Inc.", "Bob"}), kRoleAdmin);
  EXPECT_EQ(map->RolesOf({"CN=bob,O=Example\\, Inc.", "bob"}), 0u);  // values are exact
  EXPECT_EQ(map->RolesOf({"O=Example\\, Inc.,CN=Bob", "Bob"}), 0u);  // order matters
}

TEST(RoleMapTest, SanIdentities) {
  auto map = RoleMap::Create(Config({{"uri:spiffe://example.org/op/alice", {"admin"}},
                                     {"email:ann@example.org", {"auditor"}},
                                     {"cn:CN=weird", {"operator"}}})
                                 .operator_roles());
  ASSERT_THAT(map, IsOk());
  AdminCaller alice{"CN=alice", "alice", {"spiffe://example.org/op/alice"}, {}};
  EXPECT_EQ(map->RolesOf(alice), kRoleAdmin);
  AdminCaller ann{"CN=ann", "ann", {}, {"ann@example.org"}};
  EXPECT_EQ(map->RolesOf(ann), kRoleAuditor);
  // A URI in the CN is not a SAN URI.
  EXPECT_EQ(map->RolesOf({"CN=x", "spiffe://example.org/op/alice"}), 0u);
  // An explicit cn: identity may hold '='.
  EXPECT_EQ(map->RolesOf({"CN=CN\\=weird", "CN=weird"}), kRoleOperator);
}

TEST(RoleMapTest, RefusesAmbiguousIdentities) {
  auto twice = RoleMap::Create(
      Config({{"CN=alice,O=Ex", {"admin"}}, {"cn=alice, o=Ex", {"auditor"}}}).operator_roles());
  EXPECT_THAT(std::string(twice.status().message()), HasSubstr("the same identity as entry 0"));
  auto not_dn = RoleMap::Create(Config({{"alice=", {"admin"}}}).operator_roles());
  EXPECT_THAT(std::string(not_dn.status().message()), HasSubstr("not a distinguished name"));
  auto junk = RoleMap::Create(Config({{"CN=a,,O=b", {"admin"}}}).operator_roles());
  EXPECT_THAT(std::string(junk.status().message()), HasSubstr("not a distinguished name"));
  auto empty_uri = RoleMap::Create(Config({{"uri:", {"admin"}}}).operator_roles());
  EXPECT_FALSE(empty_uri.ok());
}

TEST(RoleMapTest, RejectsBadEntries) {
  EXPECT_THAT(
      std::string(RoleMap::Create(Config({{"", {"admin"}}}).operator_roles()).status().message()),
      HasSubstr("identity is required"));
  EXPECT_THAT(
      std::string(
          RoleMap::Create(Config({{"CN=a", {"root"}}}).operator_roles()).status().message()),
      HasSubstr("unknown role 'root'"));
  EXPECT_THAT(
      std::string(RoleMap::Create(Config({{"CN=a", {}}}).operator_roles()).status().message()),
      HasSubstr("roles is empty"));
}

TEST(RoleMapTest, PermissionTable) {
  RoleMap map;
  ASSERT_THAT(map.Grant("admin", kRoleAdmin), IsOk());
  ASSERT_THAT(map.Grant("operator", kRoleOperator), IsOk());
  ASSERT_THAT(map.Grant("auditor", kRoleAuditor), IsOk());
  struct Case {
    const char* who;
    Permission p;
    bool allowed;
  };
  const Case cases[] = {
      {"admin", Permission::kManage, true},         {"admin", Permission::kOperate, true},
      {"admin", Permission::kReadAudit, true},      {"admin", Permission::kReadMetadata, true},
      {"operator", Permission::kManage, false},     {"operator", Permission::kOperate, true},
      {"operator", Permission::kReadAudit, false},  {"operator", Permission::kReadMetadata, true},
      {"auditor", Permission::kManage, false},      {"auditor", Permission::kOperate, false},
      {"auditor", Permission::kReadAudit, true},    {"auditor", Permission::kReadMetadata, true},
      {"nobody", Permission::kReadMetadata, false},
  };
  for (const Case& c : cases) {
    absl::Status s = map.Check({std::string("CN=") + c.who, c.who}, c.p, "act");
    EXPECT_EQ(s.ok(), c.allowed) << c.who << " " << static_cast<int>(c.p);
    if (!c.allowed) {
      EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
    }
  }
}

TEST(RoleMapTest, DenialNamesTheRoleNeeded) {
  RoleMap map;
  ASSERT_THAT(map.Grant("CN=olivia", kRoleOperator), IsOk());
  absl::Status s = map.Check({"CN=olivia", "olivia"}, Permission::kManage, "create_key");
  EXPECT_EQ(s.message(), "create_key requires role 'admin'; 'CN=olivia' has roles: operator");
  s = map.Check({"CN=olivia", "olivia"}, Permission::kReadAudit, "list_audit");
  EXPECT_THAT(std::string(s.message()), HasSubstr("requires role 'auditor' (or 'admin')"));
  EXPECT_THAT(
      std::string(RoleMap().Check({"CN=x", "x"}, Permission::kReadMetadata, "get_key").message()),
      HasSubstr("no operator_roles"));
}

}  // namespace
}  // namespace kb
