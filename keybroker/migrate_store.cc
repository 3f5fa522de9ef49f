#include "keybroker/migrate_store.h"

#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "common/logging.h"
#include "keybroker/store/postgres/pg_import.h"

namespace kb {
namespace {

constexpr char kMigrateUsage[] =
    "usage: keybrokerd migrate-store --from sqlite:PATH --to postgres:DSN\n"
    "  Copies the broker database at PATH (keybrokerd may be serving it) into the empty\n"
    "  PostgreSQL database of DSN (a libpq connection string, no password in it). Keys stay\n"
    "  sealed under the KEK; the audit chain is verified before and after.\n";

}  // namespace

int MigrateStoreMain(int argc, char** argv) {
  std::string from, to;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kMigrateUsage, stdout);
      return 0;
    }
    if ((arg == "--from" || arg == "--to") && i + 1 < argc) {
      (arg == "--from" ? from : to) = argv[++i];
      continue;
    }
    std::fprintf(stderr, "keybrokerd migrate-store: unknown argument '%s'\n%s", arg.c_str(),
                 kMigrateUsage);
    return 2;
  }
  absl::string_view path = from, dsn = to;
  if (!absl::ConsumePrefix(&path, "sqlite:") || path.empty() ||
      !absl::ConsumePrefix(&dsn, "postgres:") || dsn.empty()) {
    std::fputs(kMigrateUsage, stderr);
    return 2;
  }
  auto report = CopySqliteToPostgres(std::string(path), {.dsn = std::string(dsn)});
  if (!report.ok()) {
    LogError("keybrokerd migrate-store: %s", report.status().message());
    return 1;
  }
  for (const auto& [table, rows] : report->rows)
    std::printf("%-24s %lld rows\n", table.c_str(), static_cast<long long>(rows));
  std::printf("audit chain ok on the target: %llu records, head %s\n",
              static_cast<unsigned long long>(report->audit.records),
              report->audit.head_hash.c_str());
  return 0;
}

}  // namespace kb
