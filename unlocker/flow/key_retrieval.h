#ifndef KB_UNLOCKER_FLOW_KEY_RETRIEVAL_H_
#define KB_UNLOCKER_FLOW_KEY_RETRIEVAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/secret_bytes.h"
#include "unlocker/client/key_release_client.h"
#include "unlocker/evidence/evidence_source.h"
#include "unlocker/tpm/tpm.h"

namespace kb {

// Opens a KeyReleaseClient to one endpoint (injected so tests can use an in-process broker).
using BrokerConnector =
    std::function<absl::StatusOr<std::unique_ptr<KeyReleaseClient>>(const std::string& endpoint)>;

// Reports one line per phase ("attesting to 10.0.2.2:8443", ...). Never given key material.
using Progress = std::function<void(const std::string& line)>;

struct ReleaseTarget {
  std::string key_id;
  uint32_t key_version = 0;  // 0: the newest; else the version the volume is enrolled with
  std::vector<uint32_t> pcrs;
  TransferKeyType transfer_key = TransferKeyType::kEccP256;
  bool dry_run = false;  // a check (kbunlock unlock --test): audited as such by the broker
};

struct ReleasedKey {
  SecretBytes key;
  uint32_t version = 0;
  uint32_t latest_version = 0;
  uint32_t offline_boots = 0;  // offline grace the release policy granted
  std::string endpoint;        // the broker that released it
};

// How long to keep trying when no broker answers. The default is a single round.
struct RetryPolicy {
  absl::Time give_up_at = absl::InfinitePast();  // no new round starts at or after this time
  // Give up earlier, once this long has passed since the first round while no broker ever
  // answered at all (every endpoint refused or never connected): for a volume with an offline
  // copy. A broker that answered slowly or said it is busy keeps the whole bound.
  absl::Duration unreachable_for = absl::InfiniteDuration();
  absl::Duration first_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(4);
  // Called once before the first round, e.g. to wait until the network is up; the unreachable
  // window starts when it returns. Null: none.
  std::function<void()> before_first_round;
  std::function<absl::Time()> now = [] { return absl::Now(); };
  std::function<void(absl::Duration)> sleep = [](absl::Duration d) { absl::SleepFor(d); };
};

// One attested release from one broker: challenge, transfer key, evidence, release, unwrap
// (in the TPM or TEE memory). Errors are tagged with kbunlock exit codes (TPM, unreachable,
// denied).
absl::StatusOr<ReleasedKey> ObtainKey(EvidenceSource& source, KeyReleaseClient& client,
                                      const ReleaseTarget& target);
// The same with TPM quote evidence from `tpm` (TpmQuoteSource).
absl::StatusOr<ReleasedKey> ObtainKey(Tpm& tpm, KeyReleaseClient& client,
                                      const ReleaseTarget& target);

// Asks every endpoint for a challenge in parallel, then attests to the first one (in the
// configured order) that answered. A refusal (attestation or policy) stops, since every broker
// shares one policy; when no broker is reachable the round is repeated with exponential backoff
// until `retry.give_up_at`.
absl::StatusOr<ReleasedKey> ObtainKeyFromAny(EvidenceSource& source, const BrokerConnector& connect,
                                             const std::vector<std::string>& endpoints,
                                             const ReleaseTarget& target, const Progress& progress,
                                             const RetryPolicy& retry = RetryPolicy());
// The same with TPM quote evidence from `tpm` (TpmQuoteSource).
absl::StatusOr<ReleasedKey> ObtainKeyFromAny(Tpm& tpm, const BrokerConnector& connect,
                                             const std::vector<std::string>& endpoints,
                                             const ReleaseTarget& target, const Progress& progress,
                                             const RetryPolicy& retry = RetryPolicy());

// The source for evidence `kind`: `source_for(kind)` when set; else TPM quotes from `tpm`, held
// in `fallback`, for kind "tpm" (INVALID_ARGUMENT for any other kind). INVALID_ARGUMENT carries
// exit code kUsage, other errors (device or AK missing) kTpmUnavailable.
absl::StatusOr<EvidenceSource*> ResolveEvidenceSource(const EvidenceSourceFor& source_for,
                                                      const std::string& kind, Tpm& tpm,
                                                      std::unique_ptr<EvidenceSource>& fallback);

// Parses "ecc-p256" / "rsa-2048" / "rsa-3072".
absl::StatusOr<TransferKeyType> ParseTransferKeyType(const std::string& name);

}  // namespace kb

#endif  // KB_UNLOCKER_FLOW_KEY_RETRIEVAL_H_
