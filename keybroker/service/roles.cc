#include "keybroker/service/roles.h"

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "keybroker/service/distinguished_name.h"

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

// The key an identity is stored under: its kind and its canonical value.
absl::StatusOr<std::string> IdentityKey(absl::string_view identity) {
  struct Prefix {
    const char* prefix;
    const char* kind;
  };
  constexpr Prefix kPrefixes[] = {{"uri:", "uri"}, {"email:", "email"}, {"cn:", "cn"}};
  for (const Prefix& p : kPrefixes) {
    if (absl::StartsWithIgnoreCase(identity, p.prefix)) {
      absl::string_view value = identity.substr(strlen(p.prefix));
      if (value.empty()) return absl::InvalidArgumentError("nothing after the prefix");
      return absl::StrCat(p.kind, "\n", value);
    }
  }
  if (identity.find('=') != absl::string_view::npos) {
    auto dn = ParseDistinguishedName(identity);
    if (!dn.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("contains '=' but is not a distinguished name (", dn.status().message(),
                       "); write a common name as cn:NAME"));
    }
    return absl::StrCat("dn\n", CanonicalDn(*dn));
  }
  return absl::StrCat("cn\n", identity);
}

}  // namespace

absl::Status RoleMap::Grant(const std::string& identity, unsigned roles) {
  ASSIGN_OR_RETURN(std::string key, IdentityKey(identity));
  roles_[key] |= roles;
  return absl::OkStatus();
}

absl::StatusOr<RoleMap> RoleMap::Create(
    const google::protobuf::RepeatedPtrField<v1::OperatorRole>& entries) {
  RoleMap map;
  std::map<std::string, int> first_entry;  // identity key -> index
  for (int i = 0; i < entries.size(); ++i) {
    const v1::OperatorRole& e = entries[i];
    if (e.identity().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("operator_roles[", i, "]: identity is required"));
    }
    auto key = IdentityKey(e.identity());
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("operator_roles[", i, "] (", e.identity(), "): ", key.status().message()));
    }
    if (auto [it, fresh] = first_entry.emplace(*key, i); !fresh) {
      return absl::InvalidArgumentError(
          absl::StrCat("operator_roles[", i, "] (", e.identity(), "): the same identity as entry ",
                       it->second, "; list each identity once with all its roles"));
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
      map.roles_[*key] |= bit;
    }
  }
  return map;
}

unsigned RoleMap::RolesOf(const AdminCaller& caller) const {
  unsigned roles = 0;
  auto add = [&](absl::string_view kind, absl::string_view value) {
    if (value.empty()) return;
    if (auto it = roles_.find(absl::StrCat(kind, "\n", value)); it != roles_.end()) {
      roles |= it->second;
    }
  };
  if (auto dn = ParseDistinguishedName(caller.subject); dn.ok()) add("dn", CanonicalDn(*dn));
  add("cn", caller.common_name);
  for (const std::string& uri : caller.uris) add("uri", uri);
  for (const std::string& email : caller.emails) add("email", email);
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
