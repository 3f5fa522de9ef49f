#include "keybroker/server/connection_table.h"

#include <map>

#include "gtest/gtest.h"

namespace kb {
namespace {

ConnectionLimits Limits(size_t total, size_t per_source) {
  ConnectionLimits l;
  l.max_connections = total;
  l.max_per_source = per_source;
  return l;
}

// Idle times by id; ids missing from the map are gone.
ConnectionTable::IdleProbe Probe(const std::map<int64_t, int>& idle_ms) {
  return [idle_ms](int64_t id) -> std::optional<absl::Duration> {
    auto it = idle_ms.find(id);
    if (it == idle_ms.end()) return std::nullopt;
    return absl::Milliseconds(it->second);
  };
}

TEST(ConnectionTableTest, AdmitsBelowTheCaps) {
  ConnectionTable t(Limits(3, 2));
  EXPECT_EQ(t.Admit("10.0.0.1", Probe({})).verdict, ConnectionTable::Admission::kAdmit);
  t.Add(1, "10.0.0.1");
  t.Add(2, "10.0.0.2");
  auto a = t.Admit("10.0.0.1", Probe({}));
  EXPECT_EQ(a.verdict, ConnectionTable::Admission::kAdmit);
  EXPECT_FALSE(a.evict.has_value());
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.from("10.0.0.1"), 1u);
}

TEST(ConnectionTableTest, RefusesASourceAtItsCapEvenWithRoomLeft) {
  ConnectionTable t(Limits(10, 2));
  t.Add(1, "10.0.0.1");
  t.Add(2, "10.0.0.1");
  EXPECT_EQ(t.Admit("10.0.0.1", Probe({{1, 5000}, {2, 5000}})).verdict,
            ConnectionTable::Admission::kRefuseSourceFull);
  EXPECT_EQ(t.Admit("10.0.0.2", Probe({})).verdict, ConnectionTable::Admission::kAdmit);
  t.Remove(1);
  EXPECT_EQ(t.Admit("10.0.0.1", Probe({})).verdict, ConnectionTable::Admission::kAdmit);
}

TEST(ConnectionTableTest, AtTheTotalCapEvictsTheConnectionIdleTheLongest) {
  ConnectionTable t(Limits(3, 3));
  t.Add(1, "10.0.0.1");  // oldest, but busy
  t.Add(2, "10.0.0.2");  // idle the longest
  t.Add(3, "10.0.0.3");
  auto a = t.Admit("10.0.0.9", Probe({{1, 10}, {2, 9000}, {3, 500}}));
  EXPECT_EQ(a.verdict, ConnectionTable::Admission::kAdmit);
  ASSERT_TRUE(a.evict.has_value());
  EXPECT_EQ(*a.evict, 2);
}

TEST(ConnectionTableTest, AGoneConnectionIsEvictedFirst) {
  ConnectionTable t(Limits(2, 2));
  t.Add(1, "a");
  t.Add(2, "b");
  auto a = t.Admit("c", Probe({{1, 9000}}));  // 2 is gone
  ASSERT_TRUE(a.evict.has_value());
  EXPECT_EQ(*a.evict, 2);
}

TEST(ConnectionTableTest, RemoveForgetsAndKeepsCounts) {
  ConnectionTable t(Limits(4, 4));
  t.Add(1, "a");
  t.Add(2, "a");
  t.Add(3, "b");
  t.Remove(2);
  t.Remove(2);  // no-op
  t.Remove(42);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.from("a"), 1u);
  EXPECT_EQ(t.Ids(), (std::vector<int64_t>{1, 3}));
}

TEST(ConnectionTableTest, ThePeakCountsConnectionsThatAlreadyLeft) {
  ConnectionTable t(Limits(8, 8));
  EXPECT_EQ(t.TakePeak(), 0u);
  for (int64_t id = 1; id <= 5; ++id) t.Add(id, "a");
  for (int64_t id = 1; id <= 4; ++id) t.Remove(id);
  EXPECT_EQ(t.TakePeak(), 5u);  // five at once, though one is left
  EXPECT_EQ(t.TakePeak(), 1u);  // starts over from what is held
  t.Add(6, "a");
  t.Remove(6);
  EXPECT_EQ(t.TakePeak(), 2u);
}

}  // namespace
}  // namespace kb
