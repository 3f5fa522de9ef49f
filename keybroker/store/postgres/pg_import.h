#ifndef KB_KEYBROKER_STORE_POSTGRES_PG_IMPORT_H_
#define KB_KEYBROKER_STORE_POSTGRES_PG_IMPORT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "keybroker/store/audit_log.h"
#include "keybroker/store/postgres/pg_pool.h"

namespace kb {

struct StoreCopyReport {
  std::vector<std::pair<std::string, int64_t>> rows;  // table, rows copied
  AuditChainReport audit;                             // the chain as verified on the target
};

// Copies the state of the SQLite broker database at `sqlite_path` (which a keybrokerd may be
// serving: one read snapshot) into the PostgreSQL database of `to`, which must hold no
// keybroker data: FAILED_PRECONDITION otherwise, changing nothing. Key versions stay sealed
// under the KEK and the KEK check values come along, so replicas on the copy need the same
// KEK. Challenges are not copied (a guest retries). The audit chain is verified before the
// copy (a broken chain is refused) and after it on the target, which must have the same
// records and head hash; the copy is one transaction on the target.
absl::StatusOr<StoreCopyReport> CopySqliteToPostgres(const std::string& sqlite_path,
                                                     PgPool::Options to);

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_POSTGRES_PG_IMPORT_H_
