#ifndef KB_TESTS_SUPPORT_RELEASE_READS_COMPARISON_H_
#define KB_TESTS_SUPPORT_RELEASE_READS_COMPARISON_H_

#include <cstdint>
#include <string>

#include "keybroker/store/broker_stores.h"

namespace kb {

// A store's ReleaseReads (one statement on PostgreSQL, one read transaction on SQLite) against
// the same reads made one by one through the role interfaces (SeparateReleaseReads), both
// through `reader`, while the test changes the state through `writer` (another replica over
// the same database, or `reader` itself). Failures are reported through gtest.
class ReleaseReadsComparison {
 public:
  ReleaseReadsComparison(BrokerStores& writer, BrokerStores& reader)
      : writer_(writer), reader_(reader) {}

  // A challenge for `key` issued through the writer; its id.
  std::string Issue(const std::string& key);

  // Asks the reader about (key, machine or AK, version) both ways, each spending a challenge
  // of its own, and expects the same records. Returns the store's own reads' records.
  ReleaseRecords ReadBothWays(const std::string& key, const std::string& machine, uint32_t version,
                              const std::string& ak = "");

  // Every case a release distinguishes (no key, versions asked for and retired, policy,
  // revocations, grants, a disabled key, a denied machine), made through the writer.
  void ExpectEveryCaseReadAlike();
  // The machine of an attestation key is its registration's, and its deny entry and grants
  // are that machine's.
  void ExpectTheMachineOfTheRegistration();

 private:
  void ExpectSameKey(ReleaseRecords& one, ReleaseRecords& each, const std::string& where);

  BrokerStores& writer_;
  BrokerStores& reader_;
};

}  // namespace kb

#endif  // KB_TESTS_SUPPORT_RELEASE_READS_COMPARISON_H_
