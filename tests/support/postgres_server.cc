#include "tests/support/postgres_server.h"

#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/files.h"

namespace kb {
namespace {

// Where Debian installs the server's programs (pg_config --bindir of postgresql-15).
std::string BinDir() {
  CommandResult r = RunCommand({"/usr/bin/pg_config", "--bindir"});
  return r.exit_code == 0 ? std::string(absl::StripAsciiWhitespace(r.output))
                          : std::string("/usr/lib/postgresql/15/bin");
}

}  // namespace

CommandResult PostgresServer::AsPostgres(std::vector<std::string> argv) const {
  argv[0] = absl::StrCat(BinDir(), "/", argv[0]);
  argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
  return RunCommand(argv);
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::MakeDir() {
  struct passwd* pw = getpwnam("postgres");
  if (pw == nullptr) {
    return absl::FailedPreconditionError(
        "no user postgres: install PostgreSQL (scripts/install-deps.sh)");
  }
  char tmpl[] = "/tmp/kb-pg-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp failed");
  std::unique_ptr<PostgresServer> server(new PostgresServer(tmpl));
  if (chown(tmpl, pw->pw_uid, pw->pw_gid) != 0) return absl::InternalError("chown failed");
  return server;
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::StartStandbyOf(
    PostgresServer& primary) {
  auto server = MakeDir();
  if (!server.ok()) return server.status();
  CommandResult base =
      (*server)->AsPostgres({"pg_basebackup", "-h", primary.dir_, "-D", (*server)->dir_ + "/data",
                             "-R", "-X", "stream", "-c", "fast", "--no-sync"});
  if (base.exit_code != 0) return absl::InternalError("pg_basebackup: " + base.output);
  if (absl::Status s = (*server)->Restart(); !s.ok()) return s;
  CommandResult sync = primary.AsPostgres({"psql", "-h", primary.dir_, "-d", "postgres", "-c",
                                           "ALTER SYSTEM SET synchronous_standby_names = '*'", "-c",
                                           "SELECT pg_reload_conf()"});
  if (sync.exit_code != 0) return absl::InternalError("synchronous_standby_names: " + sync.output);
  return server;
}

absl::Status PostgresServer::Promote() {
  CommandResult r = AsPostgres({"pg_ctl", "-D", dir_ + "/data", "-w", "promote"});
  if (r.exit_code != 0) return absl::InternalError("pg_ctl promote: " + r.output);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  auto made = MakeDir();
  if (!made.ok()) return made.status();
  std::unique_ptr<PostgresServer> server = *std::move(made);
  CommandResult init =
      server->AsPostgres({"initdb", "-D", server->dir_ + "/data", "-A", "trust", "-U", "postgres",
                          "--no-sync", "-E", "UTF8", "--locale", "C"});
  if (init.exit_code != 0) return absl::InternalError("initdb: " + init.output);
  if (absl::Status s = server->Restart(); !s.ok()) return s;
  CommandResult db = server->AsPostgres(
      {"psql", "-h", server->dir_, "-d", "postgres", "-c", "CREATE DATABASE keybroker"});
  if (db.exit_code != 0) return absl::InternalError("CREATE DATABASE: " + db.output);
  return server;
}

absl::Status PostgresServer::Restart() {
  CommandResult r = AsPostgres(
      {"pg_ctl", "-D", dir_ + "/data", "-l", dir_ + "/log", "-w", "-t", "30", "-o",
       absl::StrCat("-k ", dir_, " -c listen_addresses='' -c max_connections=200"), "start"});
  if (r.exit_code != 0) return absl::InternalError("pg_ctl start: " + r.output);
  running_ = true;
  return absl::OkStatus();
}

absl::Status PostgresServer::Stop(bool immediate) {
  CommandResult r = AsPostgres(
      {"pg_ctl", "-D", dir_ + "/data", "-w", "-m", immediate ? "immediate" : "fast", "stop"});
  running_ = false;
  if (r.exit_code != 0) return absl::InternalError("pg_ctl stop: " + r.output);
  return absl::OkStatus();
}

pid_t PostgresServer::postmaster_pid() const {
  auto pid_file = ReadFile(dir_ + "/data/postmaster.pid");
  if (!running_ || !pid_file.ok()) return -1;
  return std::atoi(pid_file->c_str());
}

std::string PostgresServer::Dsn() const {
  return absl::StrCat("host=", dir_, " dbname=keybroker user=postgres");
}

std::string PostgresServer::StoreConfigJson() const {
  return absl::StrCat(R"("store":{"postgres":{"dsn":")", Dsn(), R"("}})");
}

CommandResult PostgresServer::Psql(const std::string& sql) const {
  return AsPostgres(
      {"psql", "-h", dir_, "-d", "keybroker", "-v", "ON_ERROR_STOP=1", "-tA", "-c", sql});
}

absl::Status PostgresServer::SetSynchronousStandby(const std::string& names) const {
  for (const std::string& sql :
       {absl::StrCat("ALTER SYSTEM SET synchronous_standby_names = '", names, "'"),
        std::string("SELECT pg_reload_conf()")}) {
    if (CommandResult r = Psql(sql); r.exit_code != 0) {
      return absl::InternalError(absl::StrCat(sql, ": ", r.output));
    }
  }
  for (int i = 0; i < 100; ++i) {
    if (Psql("SHOW synchronous_standby_names").output == absl::StrCat(names, "\n")) {
      // New sessions see it, so the postmaster has signalled every process. Commits wait for
      // the standby once the checkpointer has applied it, which it does before it runs a
      // checkpoint: CHECKPOINT returns after that.
      if (CommandResult r = Psql("CHECKPOINT"); r.exit_code != 0) {
        return absl::InternalError(absl::StrCat("CHECKPOINT: ", r.output));
      }
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError("synchronous_standby_names not in use after 5 s");
}

PostgresServer::~PostgresServer() {
  if (running_) Stop(/*immediate=*/true).IgnoreError();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace kb
