#include "keybroker/config/broker_config.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/json/json_config.h"
#include "common/status_macros.h"
#include "keybroker/service/roles.h"

namespace kb {
namespace {

absl::Status ValidateListen(absl::string_view field, const std::string& value) {
  const size_t colon = value.rfind(':');
  uint32_t port = 0;
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(value.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": '", value, "' is not host:port (e.g. 0.0.0.0:8443)"));
  }
  return absl::OkStatus();
}

absl::Status ResolvePath(absl::string_view field, std::string* path, const std::string& base) {
  if (path->empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  if (!base.empty()) *path = ResolveAgainst(base, *path);
  return absl::OkStatus();
}

// An optional TEE trust-anchor path: resolved like the others, and it must exist. The
// content is checked when the verifiers load it (keybroker/verifiers/tee_verifiers.cc).
absl::Status ResolveOptionalPath(absl::string_view field, std::string* path,
                                 const std::string& base) {
  if (path->empty()) return absl::OkStatus();
  RETURN_IF_ERROR(ResolvePath(field, path, base));
  if (access(path->c_str(), R_OK) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": cannot read '", *path, "'"));
  }
  return absl::OkStatus();
}

absl::Status ValidateConnectionLimits(const v1::ConnectionLimits& l) {
  if (l.max_connections() > 1000000) {
    return absl::InvalidArgumentError("connection_limits.max_connections: must be at most 1000000");
  }
  if (l.max_connections() != 0 && l.max_connections_per_source() > l.max_connections()) {
    return absl::InvalidArgumentError(
        "connection_limits.max_connections_per_source: must not exceed max_connections");
  }
  if (l.handshake_timeout_seconds() > 600 || l.idle_timeout_seconds() > 86400) {
    return absl::InvalidArgumentError(
        "connection_limits: handshake_timeout_seconds must be at most 600 and "
        "idle_timeout_seconds at most 86400");
  }
  return absl::OkStatus();
}

// Fills unset request limits with their defaults and bounds the set ones.
absl::Status NormaliseRequestLimits(v1::RequestLimits& l) {
  if (l.max_outstanding_challenges() == 0) l.set_max_outstanding_challenges(100000);
  if (l.max_outstanding_challenges_per_source() == 0) {
    l.set_max_outstanding_challenges_per_source(std::min(4096u, l.max_outstanding_challenges()));
  }
  if (l.unverified_refusal_audit_seconds() == 0) l.set_unverified_refusal_audit_seconds(60);
  if (l.max_outstanding_challenges() > 10000000) {
    return absl::InvalidArgumentError(
        "request_limits.max_outstanding_challenges: must be at most 10000000");
  }
  if (l.max_outstanding_challenges_per_source() > l.max_outstanding_challenges()) {
    return absl::InvalidArgumentError(
        "request_limits.max_outstanding_challenges_per_source: must not exceed "
        "max_outstanding_challenges");
  }
  if (l.unverified_refusal_audit_seconds() > 86400) {
    return absl::InvalidArgumentError(
        "request_limits.unverified_refusal_audit_seconds: must be at most 86400");
  }
  return absl::OkStatus();
}

// Checks one KEK's fields (`field` names it in messages) and resolves its paths.
absl::Status NormaliseKekSource(v1::KekConfig& kek, absl::string_view field,
                                const std::string& base) {
  switch (kek.source_case()) {
    case v1::KekConfig::kFile:
      return ResolvePath(absl::StrCat(field, ".file"), kek.mutable_file(), base);
    case v1::KekConfig::kPkcs11: {
      v1::Pkcs11Kek& p = *kek.mutable_pkcs11();
      auto missing = [&](absl::string_view name) {
        return absl::InvalidArgumentError(absl::StrCat(field, ".pkcs11.", name, " is required"));
      };
      if (p.module().empty()) return missing("module");
      // A bare file name is p11-kit's to find; anything with a '/' is a path.
      if (absl::StrContains(p.module(), '/')) p.set_module(ResolveAgainst(base, p.module()));
      if (p.token_label().empty()) return missing("token_label");
      if (p.key_label().empty()) return missing("key_label");
      return ResolvePath(absl::StrCat(field, ".pkcs11.pin_file"), p.mutable_pin_file(), base);
    }
    case v1::KekConfig::SOURCE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(field, " is required: kek_file (a file) or kek: {pkcs11: {...}} (an HSM)"));
}

// Moves the short form database_path into store.sqlite.path and checks the store's fields.
absl::Status NormaliseStore(v1::BrokerConfig& c, const std::string& base) {
  if (!c.database_path().empty()) {
    if (c.store().backend_case() != v1::StoreConfig::BACKEND_NOT_SET) {
      return absl::InvalidArgumentError("set store or database_path, not both");
    }
    c.mutable_store()->mutable_sqlite()->set_path(c.database_path());
    c.clear_database_path();
  }
  switch (c.store().backend_case()) {
    case v1::StoreConfig::kSqlite:
      return ResolvePath("store.sqlite.path", c.mutable_store()->mutable_sqlite()->mutable_path(),
                         base);
    case v1::StoreConfig::kPostgres: {
      v1::PostgresStore& pg = *c.mutable_store()->mutable_postgres();
      if (pg.dsn().empty()) return absl::InvalidArgumentError("store.postgres.dsn is required");
      if (pg.pool_size() == 0) pg.set_pool_size(8);
      if (pg.pool_size() > 256) {
        return absl::InvalidArgumentError("store.postgres.pool_size: must be at most 256");
      }
      if (pg.acquire_timeout_ms() == 0) pg.set_acquire_timeout_ms(5000);
      if (pg.reply_timeout_ms() == 0) pg.set_reply_timeout_ms(20000);
      return absl::OkStatus();
    }
    case v1::StoreConfig::BACKEND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "store is required: database_path (a SQLite file) or store: {postgres: {dsn: ...}}");
}

// Moves the short form kek_file into kek.file and checks every KEK.
absl::Status NormaliseKeks(v1::BrokerConfig& c, const std::string& base) {
  if (!c.kek_file().empty()) {
    if (c.kek().source_case() != v1::KekConfig::SOURCE_NOT_SET) {
      return absl::InvalidArgumentError("set kek or kek_file, not both");
    }
    c.mutable_kek()->set_file(c.kek_file());
    c.clear_kek_file();
  }
  RETURN_IF_ERROR(NormaliseKekSource(*c.mutable_kek(), "kek", base));
  for (int i = 0; i < c.previous_keks_size(); ++i) {
    RETURN_IF_ERROR(NormaliseKekSource(*c.mutable_previous_keks(i),
                                       absl::StrCat("previous_keks[", i, "]"), base));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::BrokerConfig> ValidateBrokerConfig(v1::BrokerConfig c,
                                                      const std::string& base_dir) {
  RETURN_IF_ERROR(ValidateListen("release_listen", c.release_listen()));
  RETURN_IF_ERROR(ValidateListen("admin_listen", c.admin_listen()));
  if (c.release_listen() == c.admin_listen() && !absl::EndsWith(c.release_listen(), ":0")) {
    return absl::InvalidArgumentError("admin_listen must differ from release_listen");
  }
  if (!c.metrics_listen().empty()) {
    RETURN_IF_ERROR(ValidateListen("metrics_listen", c.metrics_listen()));
    // One address: the metrics listener (civetweb) would read a list from a comma.
    if (c.metrics_listen().find_first_of(", \t") != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("metrics_listen: '", c.metrics_listen(), "' is not one host:port"));
    }
    if (!absl::EndsWith(c.metrics_listen(), ":0") &&
        (c.metrics_listen() == c.release_listen() || c.metrics_listen() == c.admin_listen())) {
      return absl::InvalidArgumentError(
          "metrics_listen must differ from release_listen and admin_listen");
    }
  }
  RETURN_IF_ERROR(ResolvePath("tls_cert_file", c.mutable_tls_cert_file(), base_dir));
  RETURN_IF_ERROR(ResolvePath("tls_key_file", c.mutable_tls_key_file(), base_dir));
  RETURN_IF_ERROR(ResolvePath("operator_ca_file", c.mutable_operator_ca_file(), base_dir));
  RETURN_IF_ERROR(NormaliseStore(c, base_dir));
  RETURN_IF_ERROR(NormaliseKeks(c, base_dir));
  if (c.challenge_ttl_seconds() == 0) c.set_challenge_ttl_seconds(60);
  if (c.challenge_ttl_seconds() > 3600) {
    return absl::InvalidArgumentError("challenge_ttl_seconds: must be at most 3600");
  }
  RETURN_IF_ERROR(RoleMap::Create(c.operator_roles()).status());
  RETURN_IF_ERROR(ValidateConnectionLimits(c.connection_limits()));
  RETURN_IF_ERROR(NormaliseRequestLimits(*c.mutable_request_limits()));
  RETURN_IF_ERROR(ResolveOptionalPath("amd_chain_file", c.mutable_amd_chain_file(), base_dir));
  RETURN_IF_ERROR(ResolveOptionalPath("intel_root_file", c.mutable_intel_root_file(), base_dir));
  RETURN_IF_ERROR(ResolveOptionalPath("intel_pinned_tcb_signing_file",
                                      c.mutable_intel_pinned_tcb_signing_file(), base_dir));
  RETURN_IF_ERROR(
      ResolveOptionalPath("tdx_collateral_dir", c.mutable_tdx_collateral_dir(), base_dir));
  for (std::string& ek_ca : *c.mutable_ek_ca_files()) {
    if (ek_ca.empty()) return absl::InvalidArgumentError("ek_ca_files: empty path");
    RETURN_IF_ERROR(ResolveOptionalPath("ek_ca_files", &ek_ca, base_dir));
  }
  return c;
}

absl::StatusOr<v1::BrokerConfig> LoadBrokerConfig(const std::string& path) {
  v1::BrokerConfig config;
  ASSIGN_OR_RETURN(const std::string base, LoadJsonConfig(path, &config));
  auto validated = ValidateBrokerConfig(std::move(config), base);
  if (!validated.ok()) {
    return absl::Status(validated.status().code(),
                        absl::StrCat(path, ": ", validated.status().message()));
  }
  return validated;
}

}  // namespace kb
