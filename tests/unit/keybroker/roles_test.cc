#include "keybroker/service/roles.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

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

TEST(RoleMapTest, MatchesSubjectOrCommonName) {
  auto map = RoleMap::Create(Config({{"CN=operator-alice", {"admin"}},
                                     {"bob", {"operator", "auditor"}},
                                     {"CN=carol,O=Example", {"auditor"}}})
                                 .operator_roles());
  ASSERT_TRUE(map.ok()) << map.status();
  EXPECT_EQ(map->RolesOf({"CN=operator-alice", "operator-alice"}), kRoleAdmin);
  EXPECT_EQ(map->RolesOf({"CN=bob,O=Example", "bob"}), kRoleOperator | kRoleAuditor);
  EXPECT_EQ(map->RolesOf({"CN=carol,O=Example", "carol"}), kRoleAuditor);
  EXPECT_EQ(map->RolesOf({"CN=carol", "carol"}), 0u);
  EXPECT_EQ(map->RolesOf({"CN=mallory", "mallory"}), 0u);
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
  map.Grant("admin", kRoleAdmin);
  map.Grant("operator", kRoleOperator);
  map.Grant("auditor", kRoleAuditor);
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
    absl::Status s = map.Check({c.who, ""}, c.p, "act");
    EXPECT_EQ(s.ok(), c.allowed) << c.who << " " << static_cast<int>(c.p);
    if (!c.allowed) EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  }
}

TEST(RoleMapTest, DenialNamesTheRoleNeeded) {
  RoleMap map;
  map.Grant("CN=olivia", kRoleOperator);
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
