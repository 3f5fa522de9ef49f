// keybrokerd: the composition root of the broker.
#include <signal.h>

#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/files.h"
#include "common/grpc/library_logs.h"
#include "common/hardening.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "keybroker/ak_activation/activation_service.h"
#include "keybroker/collateral/verifying_collateral_cache.h"
#include "keybroker/config/broker_config.h"
#include "keybroker/server/broker_server.h"
#include "keybroker/store/sqlite_collateral_store.h"
#include "keybroker/store/sqlite_stores.h"
#include "keybroker/verifiers/api/verifier_set.h"
#include "keybroker/verifiers/evidence_kinds.h"
#include "keybroker/verifiers/verifier_trust.h"

namespace kb {
namespace {

constexpr char kUsage[] =
    "usage: keybrokerd --config FILE [--check-config]\n"
    "  Serves attested key release (KeyRelease) and administration (KeyAdmin, mutual TLS).\n"
    "  --check-config  validate the config, KEK and database, then exit\n";

absl::StatusOr<SecretBytes> LoadKek(const std::string& path) {
  ASSIGN_OR_RETURN(SecretBytes kek, ReadPrivateSecretFile(path));
  if (kek.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("kek_file ", path, ": must hold exactly 32 bytes, has ", kek.size()));
  }
  return kek;
}

// The EK certificate verifier over ek_ca_files; null when none are configured (EK path off).
absl::StatusOr<std::unique_ptr<EkCertificateVerifier>> LoadEkVerifier(
    const v1::BrokerConfig& config) {
  if (config.ek_ca_files().empty()) return std::unique_ptr<EkCertificateVerifier>();
  return EkCertificateVerifier::FromPemFiles(
      std::vector<std::string>(config.ek_ca_files().begin(), config.ek_ca_files().end()));
}

// Blocks SIGINT/SIGTERM in every thread and shuts the server down when one arrives.
void ShutdownOnSignal(BrokerServer& server) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  LogInfo("signal %d: shutting down", sig);
  server.Shutdown();
}

absl::Status Run(const std::string& config_path, bool check_only) {
  ASSIGN_OR_RETURN(v1::BrokerConfig config, LoadBrokerConfig(config_path));
  ASSIGN_OR_RETURN(SecretBytes kek, LoadKek(config.kek_file()));
  ASSIGN_OR_RETURN(std::shared_ptr<SqliteDb> db, OpenBrokerDatabase(config.database_path()));
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteKeyStore> keys,
                   SqliteKeyStore::Create(db, std::move(kek)));
  ASSIGN_OR_RETURN(const VerifierTrust trust, LoadVerifierTrust(config));
  if (check_only) {
    RETURN_IF_ERROR(LoadEkVerifier(config).status());
    std::printf("config OK: %s\n", config_path.c_str());
    return absl::OkStatus();
  }
  SqliteChallengeStore challenges(db);
  SqliteAttestationKeyRegistry aks(db);
  SqliteAuditLog audit(db);
  SqliteMachineDenyList denylist(db);
  SqliteOfflineRevocations revocations(db);
  SqliteMachineKeyState machine_keys(db);
  ASSIGN_OR_RETURN(RoleMap roles, RoleMap::Create(config.operator_roles()));
  if (roles.empty()) {
    LogError("warning: no operator_roles in %s: every admin call will be denied", config_path);
  }
  RealClock clock;
  // The operator-managed collateral cache: imports verified against the config's trust anchors.
  SqliteCollateralStore collateral_store(db);
  ASSIGN_OR_RETURN(CollateralTrust collateral_trust, CollateralTrustOf(trust));
  VerifyingCollateralCache collateral(&collateral_store, std::move(collateral_trust), &clock);
  VerifierSet verifiers;  // one verifier per row of the table of evidence kinds
  RETURN_IF_ERROR(AddVerifiers(
      {.trust = &trust, .clock = &clock, .aks = &aks, .cache = &collateral_store}, verifiers));
  const v1::RequestLimits& limits = config.request_limits();
  ChallengeQuota challenge_quota(limits.max_outstanding_challenges(),
                                 limits.max_outstanding_challenges_per_source());
  RefusalTally refusals(&audit, &clock, absl::Seconds(limits.unverified_refusal_audit_seconds()));
  ReleaseService release({keys.get(), &challenges, &audit, &denylist, &verifiers, &clock,
                          &revocations, &machine_keys, &machine_keys, &challenge_quota, &refusals},
                         absl::Seconds(config.challenge_ttl_seconds()));
  AdminService admin({keys.get(), &aks, &audit, &denylist, &roles, &clock, &verifiers, &revocations,
                      &machine_keys, &machine_keys, &collateral});
  ASSIGN_OR_RETURN(std::unique_ptr<EkCertificateVerifier> ek_verifier, LoadEkVerifier(config));
  AkActivationService activation({ek_verifier.get(), &aks, &audit, &denylist, &clock},
                                 absl::Seconds(config.challenge_ttl_seconds()));
  if (ek_verifier)
    LogInfo("EK-based AK activation on: %d manufacturer root(s)", ek_verifier->roots());
  ASSIGN_OR_RETURN(auto server, BrokerServer::Start(config, &release, &admin, &activation));
  LogInfo("keybrokerd serving: release on %s (port %d), admin on %s (port %d, mutual TLS)",
          config.release_listen(), server->release_port(), config.admin_listen(),
          server->admin_port());
  std::thread signals([&server] { ShutdownOnSignal(*server); });
  server->Wait();
  signals.join();
  return absl::OkStatus();
}

}  // namespace
}  // namespace kb

int main(int argc, char** argv) {
  // gRPC's absl::Mutex would otherwise track lock graphs on every acquisition.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  kb::RouteLibraryLogs();
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::string config;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config = argv[++i];
    } else if (arg == "--check-config") {
      check = true;
    } else {
      std::fputs(kb::kUsage, stderr);
      return 2;
    }
  }
  if (config.empty()) {
    std::fputs(kb::kUsage, stderr);
    return 2;
  }
  if (absl::Status s = kb::DisableCoreDumps(); !s.ok()) {
    kb::LogError("%s", s.message());
    return 1;
  }
  absl::Status s = kb::Run(config, check);
  if (!s.ok()) {
    kb::LogError("keybrokerd: %s", s.message());
    return 1;
  }
  return 0;
}
