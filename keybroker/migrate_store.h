#ifndef KB_KEYBROKER_MIGRATE_STORE_H_
#define KB_KEYBROKER_MIGRATE_STORE_H_

namespace kb {

// `keybrokerd migrate-store --from sqlite:PATH --to postgres:DSN`: copies a SQLite broker
// database into an empty PostgreSQL one (CopySqliteToPostgres). Returns the exit status:
// 0 copied, 1 refused or failed, 2 usage.
int MigrateStoreMain(int argc, char** argv);

}  // namespace kb

#endif  // KB_KEYBROKER_MIGRATE_STORE_H_
