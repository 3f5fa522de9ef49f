// The KEK part of the broker config: kek_file is the short form of kek.file, exactly one KEK is
// configured, and a PKCS#11 KEK names every field it needs; the PostgreSQL store's defaults.
#include "keybroker/config/broker_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::HasSubstr;

v1::BrokerConfig Minimal() {
  v1::BrokerConfig c;
  c.set_release_listen("127.0.0.1:8443");
  c.set_admin_listen("127.0.0.1:8444");
  c.set_tls_cert_file("server.pem");
  c.set_tls_key_file("server.key");
  c.set_operator_ca_file("operator-ca.pem");
  c.set_database_path("broker.db");
  return c;
}

v1::Pkcs11Kek* Hsm(v1::BrokerConfig& c) {
  v1::Pkcs11Kek* p = c.mutable_kek()->mutable_pkcs11();
  p->set_module("libsofthsm2.so");
  p->set_token_label("kb");
  p->set_key_label("kek");
  p->set_pin_file("pin");
  return p;
}

TEST(BrokerConfigKekTest, KekFileIsTheShortFormOfKekFile) {
  v1::BrokerConfig c = Minimal();
  c.set_kek_file("kek");
  auto v = ValidateBrokerConfig(c, "/etc/keybroker");
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->kek().file(), "/etc/keybroker/kek");
  EXPECT_TRUE(v->kek_file().empty());
}

TEST(BrokerConfigKekTest, ExactlyOneKek) {
  v1::BrokerConfig none = Minimal();
  EXPECT_THAT(ValidateBrokerConfig(none, "/etc"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("kek is required")));
  v1::BrokerConfig both = Minimal();
  both.set_kek_file("kek");
  Hsm(both);
  EXPECT_THAT(ValidateBrokerConfig(both, "/etc"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not both")));
}

TEST(BrokerConfigKekTest, Pkcs11PathsResolveAndModuleNamesStay) {
  v1::BrokerConfig c = Minimal();
  Hsm(c);
  auto v = ValidateBrokerConfig(c, "/etc/keybroker");
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->kek().pkcs11().module(), "libsofthsm2.so");  // p11-kit's module directory
  EXPECT_EQ(v->kek().pkcs11().pin_file(), "/etc/keybroker/pin");
  Hsm(c)->set_module("lib/hsm.so");
  EXPECT_EQ(ValidateBrokerConfig(c, "/etc/keybroker")->kek().pkcs11().module(),
            "/etc/keybroker/lib/hsm.so");
}

TEST(BrokerConfigKekTest, Pkcs11NamesTheMissingField) {
  for (const char* field : {"module", "token_label", "key_label", "pin_file"}) {
    v1::BrokerConfig c = Minimal();
    v1::Pkcs11Kek* p = Hsm(c);
    p->GetReflection()->ClearField(p, p->GetDescriptor()->FindFieldByName(field));
    EXPECT_THAT(ValidateBrokerConfig(c, "/etc"),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(std::string("kek.pkcs11.") + field + " is required")))
        << field;
  }
}

TEST(BrokerConfigStoreTest, PostgresDefaultsAndBounds) {
  v1::BrokerConfig c = Minimal();
  c.set_kek_file("kek");
  c.clear_database_path();
  c.mutable_store()->mutable_postgres()->set_dsn("host=db dbname=kb");
  auto v = ValidateBrokerConfig(c, "/etc");
  ASSERT_THAT(v, IsOk());
  const v1::PostgresStore& pg = v->store().postgres();
  EXPECT_EQ(pg.pool_size(), 8u);
  EXPECT_EQ(pg.acquire_timeout_ms(), 5000u);
  EXPECT_EQ(pg.reply_timeout_ms(), 20000u);  // above the server's statement_timeout (15 s)
  c.mutable_store()->mutable_postgres()->set_reply_timeout_ms(3000);
  EXPECT_EQ(ValidateBrokerConfig(c, "/etc")->store().postgres().reply_timeout_ms(), 3000u);
  c.mutable_store()->mutable_postgres()->set_pool_size(257);
  EXPECT_THAT(ValidateBrokerConfig(c, "/etc"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 256")));
}

}  // namespace
}  // namespace kb
