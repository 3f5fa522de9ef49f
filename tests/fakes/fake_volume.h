#ifndef KB_TESTS_FAKES_FAKE_VOLUME_H_
#define KB_TESTS_FAKES_FAKE_VOLUME_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/secret_bytes.h"
#include "unlocker/volume/volume.h"

namespace kb {

// An in-memory LUKS2 header: keyslots hold their key bytes, tokens are kept as structs.
// Activation records the mapping name. Not thread-safe.
class FakeVolume final : public Volume {
 public:
  explicit FakeVolume(absl::string_view passphrase) { slots_[0] = std::string(passphrase); }

  absl::StatusOr<std::vector<KeybrokerToken>> ListTokens() override {
    std::vector<KeybrokerToken> out;
    for (const auto& [id, token] : tokens_) out.push_back(token);
    return out;
  }
  absl::StatusOr<std::vector<KeyslotInfo>> ListKeyslots() override {
    std::vector<KeyslotInfo> out;
    for (const auto& [slot, key] : slots_) out.push_back({slot, "active"});
    return out;
  }
  absl::StatusOr<int> AddKeyslot(const SecretBytes& existing, const SecretBytes& key) override {
    if (Fault("AddKeyslot")) return absl::InternalError("injected fault: AddKeyslot");
    if (!Opens(existing))
      return absl::PermissionDeniedError("existing passphrase opens no keyslot");
    const int slot = slots_.rbegin()->first + 1;
    slots_[slot] = std::string(key.view());
    return slot;
  }
  absl::StatusOr<int> WriteToken(const KeybrokerToken& token) override {
    if (Fault("WriteToken")) return absl::InternalError("injected fault: WriteToken");
    KeybrokerToken t = token;
    if (t.token_id < 0) t.token_id = tokens_.empty() ? 0 : tokens_.rbegin()->first + 1;
    tokens_[t.token_id] = t;
    ++token_writes_;
    return t.token_id;
  }
  absl::Status RemoveToken(int id) override {
    if (Fault("RemoveToken")) return absl::InternalError("injected fault: RemoveToken");
    return tokens_.erase(id) ? absl::OkStatus() : absl::NotFoundError("no token");
  }
  absl::Status RemoveKeyslot(int slot) override {
    if (Fault("RemoveKeyslot")) return absl::InternalError("injected fault: RemoveKeyslot");
    return slots_.erase(slot) ? absl::OkStatus() : absl::NotFoundError("no keyslot");
  }
  absl::Status VerifyKey(int slot, const SecretBytes& key) override {
    auto it = slots_.find(slot);
    if (it == slots_.end()) return absl::NotFoundError("no keyslot");
    if (it->second != key.view()) {
      return absl::PermissionDeniedError(absl::StrCat("key does not open keyslot ", slot));
    }
    return absl::OkStatus();
  }
  absl::Status VerifyPassphrase(const SecretBytes& passphrase) override {
    if (!Opens(passphrase)) return absl::PermissionDeniedError("the passphrase opens no keyslot");
    return absl::OkStatus();
  }
  absl::Status Activate(const std::string& name, int slot, const SecretBytes& key) override {
    absl::Status s = VerifyKey(slot, key);
    if (s.ok()) activated_ = name;
    return s;
  }

  // Makes the next call of `op` fail, as a crash or power loss at that step would.
  void FailNext(const std::string& op) { faults_.insert(op); }

  const std::string& activated() const { return activated_; }
  int token_writes() const { return token_writes_; }
  std::map<int, KeybrokerToken>& tokens() { return tokens_; }

 private:
  bool Fault(const std::string& op) { return faults_.erase(op) > 0; }
  bool Opens(const SecretBytes& key) const {
    for (const auto& [slot, k] : slots_) {
      if (k == key.view()) return true;
    }
    return false;
  }
  std::map<int, std::string> slots_;
  std::map<int, KeybrokerToken> tokens_;
  std::string activated_;
  int token_writes_ = 0;
  std::set<std::string> faults_;
};

}  // namespace kb

#endif  // KB_TESTS_FAKES_FAKE_VOLUME_H_
