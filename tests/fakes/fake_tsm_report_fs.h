#ifndef KB_TESTS_FAKES_FAKE_TSM_REPORT_FS_H_
#define KB_TESTS_FAKES_FAKE_TSM_REPORT_FS_H_

#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "unlocker/evidence/tdx_quote_source.h"

namespace kb {

// Models configfs-tsm: an entry appears on mkdir with provider and generation attributes;
// writing inblob bumps the generation; outblob is `quote_prefix` + inblob (empty when the prefix
// is). Not thread-safe.
class FakeTsm final : public TsmReportFs {
 public:
  explicit FakeTsm(std::string root) : root_(std::move(root)) {}
  absl::Status MakeDir(const std::string& path) override {
    if (path.rfind(root_ + "/", 0) != 0) return absl::NotFoundError("no such directory");
    if (!dirs.insert(path).second) return absl::AlreadyExistsError(path);
    files[path + "/provider"] = provider + "\n";
    files[path + "/generation"] = "0\n";
    return absl::OkStatus();
  }
  absl::Status RemoveDir(const std::string& path) override {
    dirs.erase(path);
    ++removed;
    return absl::OkStatus();
  }
  absl::Status WriteFile(const std::string& path, absl::string_view data) override {
    files[path] = std::string(data);
    const std::string dir = path.substr(0, path.rfind('/'));
    files[dir + "/generation"] = absl::StrCat(++generation, "\n");
    files[dir + "/outblob"] = quote_prefix.empty() ? "" : quote_prefix + std::string(data);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> ReadFile(const std::string& path) override {
    auto it = files.find(path);
    if (it == files.end()) return absl::NotFoundError(path);
    std::string out = it->second;
    if (path.size() > 7 && path.substr(path.size() - 7) == "outblob" && race) {
      files[path.substr(0, path.size() - 7) + "generation"] = "99\n";
    }
    return out;
  }

  std::string root_;
  std::set<std::string> dirs;
  std::map<std::string, std::string> files;
  std::string provider = "tdx_guest";
  std::string quote_prefix = "QUOTE:";
  int generation = 0;
  int removed = 0;
  bool race = false;
};

}  // namespace kb

#endif  // KB_TESTS_FAKES_FAKE_TSM_REPORT_FS_H_
