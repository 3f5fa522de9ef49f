// keybrokerctl collateral command lines, and the text the collateral commands print.
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keybroker/ctl/collateral_commands.h"
#include "keybroker/ctl/ctl_args.h"
#include "tests/support/status_matchers.h"

namespace kb {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<CtlCommand> Parse(std::vector<std::string> rest) {
  std::vector<std::string> args = {"--addr", "127.0.0.1:9443", "--ca",  "ca.pem",
                                   "--cert", "op.pem",         "--key", "op.key"};
  args.insert(args.end(), rest.begin(), rest.end());
  return ParseCtlArgs(args, [](const std::string&) { return std::optional<std::string>(); });
}

TEST(CollateralArgsTest, ImportTakesOneOrMoreFiles) {
  auto one = Parse({"collateral", "import", "vcek.der"});
  ASSERT_THAT(one, IsOk());
  EXPECT_EQ(one->kind, CtlCommandKind::kCollateralImport);
  EXPECT_EQ(one->collateral_file, "vcek.der");
  EXPECT_TRUE(one->more_args.empty());
  auto many = Parse({"collateral", "import", "a.der", "--json", "b.json", "c.crl"});
  ASSERT_THAT(many, IsOk());
  EXPECT_EQ(many->collateral_file, "a.der");
  EXPECT_THAT(many->more_args, ElementsAre("b.json", "c.crl"));
  EXPECT_TRUE(many->json);
  auto missing = Parse({"collateral", "import"});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("missing FILE..."));
}

TEST(CollateralArgsTest, ListAndDelete) {
  auto list = Parse({"collateral", "list"});
  ASSERT_THAT(list, IsOk());
  EXPECT_EQ(list->kind, CtlCommandKind::kCollateralList);
  EXPECT_FALSE(Parse({"collateral", "list", "extra"}).ok());
  auto del = Parse({"collateral", "delete", "0123456789abcdef"});
  ASSERT_THAT(del, IsOk());
  EXPECT_EQ(del->kind, CtlCommandKind::kCollateralDelete);
  EXPECT_EQ(del->collateral_id, "0123456789abcdef");
  EXPECT_FALSE(Parse({"collateral", "delete"}).ok());
  EXPECT_FALSE(Parse({"collateral", "delete", "a", "b"}).ok());
  EXPECT_THAT(CtlUsage(), HasSubstr("collateral import FILE..."));
}

TEST(CollateralArgsTest, ImportedEntryLine) {
  v1::ImportCollateralResponse r;
  r.mutable_entry()->set_id("0123456789abcdef");
  r.mutable_entry()->set_kind("tdx_tcb_info");
  r.mutable_entry()->set_identity("FMSPC 00806f050000 tcbEvaluationDataNumber 17");
  r.mutable_entry()->mutable_not_before()->set_seconds(1759169098);
  r.mutable_entry()->mutable_not_after()->set_seconds(1761761098);
  EXPECT_EQ(FormatImportedCollateral("tcb.json", r),
            "tcb.json: imported tdx_tcb_info 0123456789abcdef: FMSPC 00806f050000 "
            "tcbEvaluationDataNumber 17; valid 2025-09-29T18:04:58Z .. "
            "2025-10-29T18:04:58Z\n");
  r.set_replaced_id("fedcba9876543210");
  EXPECT_THAT(FormatImportedCollateral("tcb.json", r), HasSubstr("; replaced fedcba9876543210\n"));
  v1::ListCollateralResponse list;
  *list.add_entries() = r.entry();
  EXPECT_THAT(FormatCollateralTable(list), HasSubstr("ID  "));
  EXPECT_THAT(FormatCollateralTable(list), HasSubstr("0123456789abcdef  tdx_tcb_info  FMSPC"));
}

}  // namespace
}  // namespace kb
