#ifndef KB_TESTS_INTEGRATION_SHARED_BROKER_H_
#define KB_TESTS_INTEGRATION_SHARED_BROKER_H_

#include "gtest/gtest.h"
#include "tests/support/broker_process.h"
#include "tests/support/status_matchers.h"

namespace kb {

// One real keybrokerd (default BrokerProcess options) for a whole test suite: `broker_`, started
// before the suite's first test and stopped after its last (null if it could not start).
class SharedBrokerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto broker = BrokerProcess::Start();
    ASSERT_THAT(broker, IsOk());
    broker_ = broker->release();
  }
  static void TearDownTestSuite() {
    delete broker_;
    broker_ = nullptr;
  }

  static inline BrokerProcess* broker_ = nullptr;
};

}  // namespace kb

#endif  // KB_TESTS_INTEGRATION_SHARED_BROKER_H_
