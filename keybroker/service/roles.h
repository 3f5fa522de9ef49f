#ifndef KB_KEYBROKER_SERVICE_ROLES_H_
#define KB_KEYBROKER_SERVICE_ROLES_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "kb/v1/config.pb.h"

namespace kb {

// The authenticated client of an admin call, from its verified client certificate.
struct AdminCaller {
  std::string subject;      // subject DN as gRPC reports it ("CN=operator-alice"); audit actor
  std::string common_name;  // the certificate's CN; may be empty
  std::vector<std::string> uris;    // subjectAltName URIs ("spiffe://example.org/op/alice")
  std::vector<std::string> emails;  // subjectAltName e-mail addresses
};

// Roles, as bits. admin may do everything; operator runs the key lifecycle and revocation;
// auditor reads the audit trail. Every role reads metadata.
enum Role : unsigned {
  kRoleAdmin = 1u << 0,
  kRoleOperator = 1u << 1,
  kRoleAuditor = 1u << 2,
};

// What an admin RPC needs.
enum class Permission {
  kManage,        // keys, policies, AK registration: admin
  kOperate,       // rotate, retire, disable, deny/allow machines: operator or admin
  kReadMetadata,  // any role
  kReadAudit,     // auditor or admin
};

// Maps caller identities to roles (BrokerConfig.operator_roles). The form of an identity says
// what it is matched against, and only that:
//   "CN=bob,O=Example"      contains '=': the full subject DN, compared as a DN (attribute by
//                           attribute, escapes undone, types case-insensitive), never the CN;
//   "uri:spiffe://..."      a subjectAltName URI;  "email:bob@example.org"  a SAN e-mail;
//   "cn:bob" or "bob"       the common name alone.
// So a certificate whose CN is the text "CN=operator-alice" matches neither the DN
// "CN=operator-alice" nor anything else of that operator's. Callers matching nothing have no
// role and are denied everything. Immutable, so thread-safe.
class RoleMap {
 public:
  // INVALID_ARGUMENT naming the entry for an empty identity, an unknown role, a DN-shaped
  // identity that does not parse as a DN, or an identity listed twice (in any spelling).
  static absl::StatusOr<RoleMap> Create(
      const google::protobuf::RepeatedPtrField<v1::OperatorRole>& entries);
  RoleMap() = default;

  // Grants `roles` (Role bits) to `identity` (a form above); for tests and Create().
  // INVALID_ARGUMENT if the identity does not parse.
  absl::Status Grant(const std::string& identity, unsigned roles);
  unsigned RolesOf(const AdminCaller& caller) const;
  bool empty() const { return roles_.empty(); }

  // OK if the caller may do `action`; PERMISSION_DENIED naming the role it needs otherwise.
  absl::Status Check(const AdminCaller& caller, Permission needed, absl::string_view action) const;

 private:
  std::map<std::string, unsigned, std::less<>> roles_;
};

// "admin, auditor" for a set of Role bits, "none" for 0.
std::string RoleNames(unsigned roles);

}  // namespace kb

#endif  // KB_KEYBROKER_SERVICE_ROLES_H_
