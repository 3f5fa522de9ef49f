// keybrokerd: the composition root of the broker.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/files.h"
#include "common/grpc/library_logs.h"
#include "common/hardening.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/version.h"
#include "keybroker/admin/admin_api.h"
#include "keybroker/ak_activation/activation_service.h"
#include "keybroker/collateral/verifying_collateral_cache.h"
#include "keybroker/config/broker_config.h"
#include "keybroker/kek/deadline_bound_kek.h"
#include "keybroker/kek/kek_provider.h"
#include "keybroker/metrics/broker_metrics.h"
#include "keybroker/metrics/metrics_listener.h"
#include "keybroker/metrics/timed_stores.h"
#include "keybroker/migrate_store.h"
#include "keybroker/server/broker_server.h"
#include "keybroker/server/tls_files.h"
#include "keybroker/store/postgres/pg_stores.h"
#include "keybroker/store/sqlite_stores.h"
#include "keybroker/verifiers/api/verifier_set.h"
#include "keybroker/verifiers/evidence_kinds.h"
#include "keybroker/verifiers/verifier_trust.h"

namespace kb {
namespace {

constexpr char kUsage[] =
    "usage: keybrokerd --config FILE [--check-config | --create-kek]\n"
    "       keybrokerd --version\n"
    "       keybrokerd migrate-store --from sqlite:PATH --to postgres:DSN\n"
    "  Serves attested key release (KeyRelease) and administration (KeyAdmin, mutual TLS).\n"
    "  --check-config  validate the config, KEK and database, then exit\n"
    "  --create-kek    create the KEK the config names (a new kek_file, or a key generated\n"
    "                  inside the PKCS#11 token), then exit; an existing KEK is never replaced\n";

enum class Mode { kServe, kCheckConfig, kCreateKek };

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

PgPool::Options PoolOptions(const v1::PostgresStore& pg) {
  return {.dsn = pg.dsn(),
          .size = static_cast<int>(pg.pool_size()),
          .acquire_timeout = absl::Milliseconds(pg.acquire_timeout_ms()),
          .reply_timeout = absl::Milliseconds(pg.reply_timeout_ms())};
}

// The stores of the configured backend (the config is normalised: one backend is set).
absl::StatusOr<BrokerStores> OpenStores(const v1::StoreConfig& store, KekSet keks) {
  if (store.has_postgres())
    return OpenPostgresStores(PoolOptions(store.postgres()), std::move(keks));
  return OpenSqliteStores(store.sqlite().path(), std::move(keks));
}

// --check-config's view of the store, changing nothing.
absl::StatusOr<std::string> CheckStore(const v1::StoreConfig& store, KekSet keks) {
  if (store.has_postgres())
    return CheckPostgresStore(PoolOptions(store.postgres()), std::move(keks));
  return CheckBrokerDatabase(store.sqlite().path(), std::move(keks));
}

// The admin API: one service per resource over one runner (role check + audit).
struct AdminServices {
  AdminServices(const BrokerStores& s, const RoleMap* roles, const Clock* clock,
                EvidenceVerifier* verifier, CollateralAdmin* collateral_cache,
                AdminObserver* observer)
      : runner(roles, s.audit, clock, observer),
        keys({.run = &runner,
              .keys = s.keys,
              .audit = s.audit,
              .confirmations = s.confirmations,
              .forgotten = s.forgotten}),
        policies({.run = &runner, .keys = s.keys, .verifier = verifier}),
        machines({.run = &runner,
                  .aks = s.aks,
                  .denylist = s.denylist,
                  .keys = s.keys,
                  .revocations = s.revocations,
                  .grants = s.grants,
                  .forgotten = s.forgotten}),
        collateral({.run = &runner, .collateral = collateral_cache}),
        audit({.run = &runner, .audit = s.audit}),
        keks({.run = &runner, .rotation = s.kek_rotation}) {}
  AdminApi api() { return {&keys, &policies, &machines, &collateral, &audit, &keks}; }

  AdminRunner runner;
  KeyAdmin keys;
  PolicyAdmin policies;
  MachineAdmin machines;
  CollateralCacheAdmin collateral;
  AuditAdmin audit;
  KekAdmin keks;
};

// The metrics listener of `config.metrics_listen` over `metrics`; null when none is configured.
absl::StatusOr<std::unique_ptr<MetricsListener>> StartMetrics(const v1::BrokerConfig& config,
                                                              const BrokerMetrics& metrics) {
  if (config.metrics_listen().empty()) return std::unique_ptr<MetricsListener>();
  ASSIGN_OR_RETURN(auto listener,
                   MetricsListener::Start(config.metrics_listen(), metrics.collectables()));
  LogInfo("metrics on %s (port %d): GET /metrics, plain HTTP", config.metrics_listen(),
          listener->port());
  return listener;
}

// What the metrics read of the calls to the KEKs that `tally` counts.
std::function<BrokerMetrics::KekCalls()> KekCallReader(const KekCallTally& tally) {
  return [&tally] {
    return BrokerMetrics::KekCalls{.waiting = static_cast<double>(tally.waiting.load()),
                                   .abandoned = static_cast<double>(tally.abandoned.load()),
                                   .refused = static_cast<double>(tally.refused.load())};
  };
}

// Serves the release, admin and AK activation APIs over `stores` until SIGINT or SIGTERM.
absl::Status Serve(const v1::BrokerConfig& config, const BrokerStores& stores, const RoleMap& roles,
                   const VerifierTrust& trust, const KekCallTally& kek_calls) {
  RealClock clock;
  const v1::RequestLimits& limits = config.request_limits();
  ChallengeQuota challenge_quota(limits.max_outstanding_challenges(),
                                 limits.max_outstanding_challenges_per_source());
  BrokerMetrics metrics([&] { return static_cast<double>(challenge_quota.outstanding()); },
                        KekCallReader(kek_calls));
  // Observed only when the metrics are served.
  BrokerMetrics* observer = config.metrics_listen().empty() ? nullptr : &metrics;
  const BrokerStores s = observer != nullptr ? TimedStores(stores, observer) : stores;
  // The operator-managed collateral cache: imports verified against the config's trust anchors.
  ASSIGN_OR_RETURN(CollateralTrust collateral_trust, CollateralTrustOf(trust));
  VerifyingCollateralCache collateral(s.collateral, std::move(collateral_trust), &clock);
  VerifierSet verifiers;  // one verifier per row of the table of evidence kinds
  RETURN_IF_ERROR(AddVerifiers(
      {.trust = &trust, .clock = &clock, .aks = s.aks, .cache = s.collateral}, verifiers));
  // Releases find a TPM quote's AK registration in the store read that spends the challenge
  // (ReleaseService::Attest), not in a lookup of its own.
  VerifierSet release_verifiers;
  RETURN_IF_ERROR(
      AddVerifiers({.trust = &trust, .clock = &clock, .aks = nullptr, .cache = s.collateral},
                   release_verifiers));
  RefusalTally refusals(s.audit, &clock, absl::Seconds(limits.unverified_refusal_audit_seconds()));
  ReleaseService release({.keys = s.keys,
                          .challenges = s.challenges,
                          .audit = s.audit,
                          .denylist = s.denylist,
                          .verifier = &release_verifiers,
                          .clock = &clock,
                          .revocations = s.revocations,
                          .confirmations = s.confirmations,
                          .grants = s.grants,
                          .challenge_quota = &challenge_quota,
                          .refusals = &refusals,
                          .observer = observer,
                          .aks = s.aks,
                          .reads = s.release_reads},
                         absl::Seconds(config.challenge_ttl_seconds()));
  AdminServices admin(s, &roles, &clock, &verifiers, &collateral, observer);
  ASSIGN_OR_RETURN(std::unique_ptr<EkCertificateVerifier> ek_verifier, LoadEkVerifier(config));
  AkActivationService activation({.ek_verifier = ek_verifier.get(),
                                  .aks = s.aks,
                                  .audit = s.audit,
                                  .denylist = s.denylist,
                                  .clock = &clock},
                                 absl::Seconds(config.challenge_ttl_seconds()));
  if (ek_verifier)
    LogInfo("EK-based AK activation on: %d manufacturer root(s)", ek_verifier->roots());
  ASSIGN_OR_RETURN(std::unique_ptr<MetricsListener> metrics_listener,
                   StartMetrics(config, metrics));
  ASSIGN_OR_RETURN(auto server, BrokerServer::Start(config, &release, admin.api(), &activation));
  LogInfo("keybrokerd serving: release on %s (port %d), admin on %s (port %d, mutual TLS)",
          config.release_listen(), server->release_port(), config.admin_listen(),
          server->admin_port());
  std::thread signals([&server] { ShutdownOnSignal(*server); });
  server->Wait();
  signals.join();
  return absl::OkStatus();
}

// --check-config: every file the config names, read and checked; nothing is created or changed.
absl::Status CheckConfig(const v1::BrokerConfig& config, const std::string& config_path,
                         KekSet keks) {
  ASSIGN_OR_RETURN(std::string database, CheckStore(config.store(), std::move(keks)));
  RETURN_IF_ERROR(LoadEkVerifier(config).status());
  std::printf("%s\nconfig OK: %s\n", database.c_str(), config_path.c_str());
  return absl::OkStatus();
}

absl::Status Run(const std::string& config_path, Mode mode) {
  ASSIGN_OR_RETURN(v1::BrokerConfig config, LoadBrokerConfig(config_path));
  if (mode == Mode::kCreateKek) {
    ASSIGN_OR_RETURN(const std::string created, CreateKek(config.kek()));
    std::printf("created the KEK: %s\n", created.c_str());
    return absl::OkStatus();
  }
  const auto kek_calls = std::make_shared<KekCallTally>();
  ASSIGN_OR_RETURN(KekSet keks, LoadKeks(config, kek_calls));
  RETURN_IF_ERROR(CheckTlsFiles(config, absl::Now()));
  ASSIGN_OR_RETURN(RoleMap roles, RoleMap::Create(config.operator_roles()));
  ASSIGN_OR_RETURN(const VerifierTrust trust, LoadVerifierTrust(config));
  if (mode == Mode::kCheckConfig) return CheckConfig(config, config_path, std::move(keks));
  ASSIGN_OR_RETURN(BrokerStores stores, OpenStores(config.store(), std::move(keks)));
  if (roles.empty()) {
    LogError("warning: no operator_roles in %s: every admin call will be denied", config_path);
  }
  return Serve(config, stores, roles, trust, *kek_calls);
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
  if (argc > 1 && std::string(argv[1]) == "migrate-store") return kb::MigrateStoreMain(argc, argv);
  std::string config;
  kb::Mode mode = kb::Mode::kServe;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config = argv[++i];
    } else if (arg == "--check-config" && mode == kb::Mode::kServe) {
      mode = kb::Mode::kCheckConfig;
    } else if (arg == "--create-kek" && mode == kb::Mode::kServe) {
      mode = kb::Mode::kCreateKek;
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kb::kUsage, stdout);
      return 0;
    } else if (arg == "--version") {
      std::printf("keybrokerd %s\n", kb::kVersion);
      return 0;
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
  umask(077);  // the database, its WAL and every other file keybrokerd creates: owner only
  absl::Status s = kb::Run(config, mode);
  if (!s.ok()) {
    kb::LogError("keybrokerd: %s", s.message());
    return 1;
  }
  return 0;
}
