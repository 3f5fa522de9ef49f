#ifndef KB_TESTS_INTEGRATION_POSTGRES_STORE_FIXTURE_H_
#define KB_TESTS_INTEGRATION_POSTGRES_STORE_FIXTURE_H_

// A real PostgreSQL server for the test suite (initdb/pg_ctl as the postgres user), an empty
// database for each test, and "replicas": every store over its own connection pool.
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "common/crypto.h"
#include "gtest/gtest.h"
#include "keybroker/store/postgres/pg_stores.h"
#include "tests/support/postgres_server.h"
#include "tests/support/status_matchers.h"

namespace kb {

// An audit record of an allowed release of key "disk" to `actor`, now.
inline AuditRecord AllowedRelease(std::string actor, std::string reason = "") {
  AuditRecord r;
  r.time = absl::Now();
  r.actor = std::move(actor);
  r.action = "release";
  r.key_id = "disk";
  r.decision = "allow";
  r.reason = std::move(reason);
  return r;
}

class PostgresStoreFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = PostgresServer::Start();
    ASSERT_THAT(server, IsOk());
    server_ = server->release();
    kek_bytes_ = new SecretBytes(*RandomSecret(32));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete kek_bytes_;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    // Each test starts from an empty database.
    CommandResult r = server_->Psql(
        "DROP SCHEMA public CASCADE; CREATE SCHEMA public; GRANT ALL ON SCHEMA public TO public");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  static KekSet Keks(const SecretBytes& bytes) {
    KekSet keks;
    keks.current = *AesKek::Create(bytes.Clone(), "kek_file test");
    return keks;
  }
  static void SetSynchronousStandby(const std::string& names) {
    ASSERT_THAT(server_->SetSynchronousStandby(names), IsOk());
  }
  static PgPool::Options Options() { return {.dsn = server_->Dsn(), .size = 4}; }
  // One "replica": every store over its own connection pool.
  static BrokerStores Replica() {
    auto stores = OpenPostgresStores(Options(), Keks(*kek_bytes_));
    EXPECT_THAT(stores, IsOk());
    return stores.ok() ? *std::move(stores) : BrokerStores();
  }
  static KeyRecord Key(const std::string& id) {
    KeyRecord r;
    r.key_id = id;
    r.size_bytes = 32;
    r.created_at = absl::Now();
    return r;
  }

  static inline PostgresServer* server_ = nullptr;
  static inline SecretBytes* kek_bytes_ = nullptr;
};

}  // namespace kb

#endif  // KB_TESTS_INTEGRATION_POSTGRES_STORE_FIXTURE_H_
