#ifndef KB_KEYBROKER_KEK_KEK_PROVIDER_H_
#define KB_KEYBROKER_KEK_KEK_PROVIDER_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kb/v1/config.pb.h"
#include "keybroker/kek/deadline_bound_kek.h"
#include "keybroker/store/kek.h"

namespace kb {

// The KEK that BrokerConfig.kek names (validated: keybroker/config): the kek_file, or the key in
// a PKCS#11 token, logged in with the PIN from pin_file (a private file, like the kek_file). A
// token's KEK is a DeadlineBoundKek whose calls `tally` counts (null: a tally of its own).
absl::StatusOr<std::unique_ptr<Kek>> LoadKek(const v1::KekConfig& config,
                                             std::shared_ptr<KekCallTally> tally = nullptr);

// Every KEK of the config: `kek` and the previous_keks of a rotation; `tally` as for LoadKek.
absl::StatusOr<KekSet> LoadKeks(const v1::BrokerConfig& config,
                                const std::shared_ptr<KekCallTally>& tally = nullptr);

// keybrokerd --create-kek: creates the KEK that `config` names (32 random bytes in a new file of
// mode 0600, or a new key generated inside the token) and returns its description.
// ALREADY_EXISTS when it is there already: a KEK is never replaced.
absl::StatusOr<std::string> CreateKek(const v1::KekConfig& config);

}  // namespace kb

#endif  // KB_KEYBROKER_KEK_KEK_PROVIDER_H_
