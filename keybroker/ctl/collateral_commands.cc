#include "keybroker/ctl/collateral_commands.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "keybroker/ctl/output.h"

namespace kb {
namespace {

using Stub = AdminClient::Stub;

std::string Window(const v1::CollateralEntry& e) {
  return absl::StrCat(FormatTimestamp(e.not_before()), " .. ", FormatTimestamp(e.not_after()));
}

// Imports one file; the refusal (unreadable file or broker error) as a Status.
absl::StatusOr<v1::ImportCollateralResponse> ImportFile(const std::string& path,
                                                        AdminClient& client) {
  ASSIGN_OR_RETURN(std::string content, ReadFile(path));
  if (content.empty()) return absl::InvalidArgumentError("the file is empty");
  v1::ImportCollateralRequest request;
  request.set_content(std::move(content));
  request.set_name(path);
  return client.Call(&Stub::ImportCollateral, request);
}

absl::StatusOr<CtlOutput> RunImport(const CtlCommand& cmd, AdminClient& client) {
  std::vector<std::string> files = {cmd.collateral_file};
  files.insert(files.end(), cmd.more_args.begin(), cmd.more_args.end());
  CtlOutput out;
  std::vector<std::string> refused;
  for (const std::string& path : files) {
    auto response = ImportFile(path, client);
    if (!response.ok()) {
      refused.push_back(path);
      absl::StrAppend(&out.text, path, ": refused (",
                      absl::StatusCodeToString(response.status().code()),
                      "): ", response.status().message(), "\n");
      continue;
    }
    if (cmd.json) {
      ASSIGN_OR_RETURN(std::string json, FormatJson(*response));
      absl::StrAppend(&out.text, json);
    } else {
      absl::StrAppend(&out.text, FormatImportedCollateral(path, *response));
    }
  }
  if (!refused.empty()) {
    out.failure = absl::FailedPreconditionError(
        absl::StrCat("collateral import: refused ", refused.size(), " of ", files.size(),
                     " file(s): ", absl::StrJoin(refused, ", ")));
  }
  return out;
}

absl::StatusOr<std::string> RunList(const CtlCommand& cmd, AdminClient& client) {
  ASSIGN_OR_RETURN(v1::ListCollateralResponse response,
                   client.Call(&Stub::ListCollateral, v1::ListCollateralRequest()));
  if (cmd.json) return FormatJson(response);
  return FormatCollateralTable(response);
}

absl::StatusOr<std::string> RunDelete(const CtlCommand& cmd, AdminClient& client) {
  v1::DeleteCollateralRequest request;
  request.set_id(cmd.collateral_id);
  ASSIGN_OR_RETURN(v1::DeleteCollateralResponse response,
                   client.Call(&Stub::DeleteCollateral, request));
  if (cmd.json) return FormatJson(response);
  return absl::StrCat("deleted ", response.deleted().kind(), " ", response.deleted().id(), " (",
                      response.deleted().identity(), ")\n");
}

}  // namespace

bool IsCollateralCommand(CtlCommandKind kind) {
  return kind == CtlCommandKind::kCollateralImport || kind == CtlCommandKind::kCollateralList ||
         kind == CtlCommandKind::kCollateralDelete;
}

absl::StatusOr<CtlOutput> RunCollateralCommand(const CtlCommand& cmd, AdminClient& client) {
  if (cmd.kind == CtlCommandKind::kCollateralImport) return RunImport(cmd, client);
  ASSIGN_OR_RETURN(std::string text, cmd.kind == CtlCommandKind::kCollateralList
                                         ? RunList(cmd, client)
                                         : RunDelete(cmd, client));
  return CtlOutput{std::move(text), absl::OkStatus()};
}

std::string FormatImportedCollateral(absl::string_view file,
                                     const v1::ImportCollateralResponse& response) {
  const v1::CollateralEntry& e = response.entry();
  return absl::StrCat(
      file, ": imported ", e.kind(), " ", e.id(), ": ", e.identity(), "; valid ", Window(e),
      response.replaced_id().empty() ? "" : absl::StrCat("; replaced ", response.replaced_id()),
      "\n");
}

std::string FormatCollateralTable(const v1::ListCollateralResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::CollateralEntry& e : response.entries()) {
    rows.push_back({e.id(), e.kind(), e.identity(), FormatTimestamp(e.not_before()),
                    FormatTimestamp(e.not_after()), e.name()});
  }
  return RenderTable({"ID", "KIND", "IDENTITY", "NOT-BEFORE", "NOT-AFTER", "NAME"}, rows);
}

}  // namespace kb
