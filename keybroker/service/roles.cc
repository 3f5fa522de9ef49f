#include "keybroker/service/roles.h"

#include "absl/strings/str_cat.h"

namespace kb {
namespace {

struct RoleName {
  Role role;
  const char* name;
};
constexpr RoleName kRoleNames[] = {
    {kRoleAdmin, "admin"}, {kRoleOperator, "operator"}, {kRoleAuditor, "auditor"}};

// The roles that grant `p`, and how to name them in a denial.
unsigned Granting(Permission p) {
  switch (p) {
    case Permission::kManage:
      return kRoleAdmin;
    case Permission::kOperate:
      return kRoleAdmin | kRoleOperator;
    case Permission::kReadMetadata:
      return kRoleAdmin | kRoleOperator | kRoleAuditor;
    case Permission::kReadAudit:
      return kRoleAdmin | kRoleAuditor;
  }
  return 0;
}

const char* Needed(Permission p) {
  switch (p) {
    case Permission::kManage:
      return "role 'admin'";
    case Permission::kOperate:
      return "role 'operator' (or 'admin')";
    case Permission::kReadMetadata:
      return "a role ('admin', 'operator' or 'auditor')";
    case Permission::kReadAudit:
      return "role 'auditor' (or 'admin')";
  }
  return "a role";
}

}  // namespace

absl::StatusOr<RoleMap> RoleMap::Create(
    const google::protobuf::RepeatedPtrField<v1::OperatorRole>& entries) {
  RoleMap map;
  for (int i = 0; i < entries.size(); ++i) {
    const v1::OperatorRole& e = entries[i];
    if (e.identity().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("operator_roles[", i, "]: identity is required"));
    }
    if (e.roles().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("operator_roles[", i, "] (", e.identity(), "): roles is empty"));
    }
    for (const std::string& name : e.roles()) {
      unsigned bit = 0;
      for (const RoleName& r : kRoleNames) {
        if (name == r.name) bit = r.role;
      }
      if (bit == 0) {
        return absl::InvalidArgumentError(absl::StrCat("operator_roles[", i, "] (", e.identity(),
                                                       "): unknown role '", name,
                                                       "' (roles: admin, operator, auditor)"));
      }
      map.Grant(e.identity(), bit);
    }
  }
  return map;
}

unsigned RoleMap::RolesOf(const AdminCaller& caller) const {
  unsigned roles = 0;
  if (auto it = roles_.find(caller.subject); it != roles_.end()) roles |= it->second;
  if (!caller.common_name.empty()) {
    if (auto it = roles_.find(caller.common_name); it != roles_.end()) roles |= it->second;
  }
  return roles;
}

absl::Status RoleMap::Check(const AdminCaller& caller, Permission needed,
                            absl::string_view action) const {
  const unsigned roles = RolesOf(caller);
  if ((roles & Granting(needed)) != 0) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      action, " requires ", Needed(needed), "; '", caller.subject, "' has roles: ",
      RoleNames(roles), roles_.empty() ? " (the broker config has no operator_roles)" : ""));
}

std::string RoleNames(unsigned roles) {
  std::string out;
  for (const RoleName& r : kRoleNames) {
    if ((roles & r.role) != 0) absl::StrAppend(&out, out.empty() ? "" : ", ", r.name);
  }
  return out.empty() ? "none" : out;
}

}  // namespace kb
