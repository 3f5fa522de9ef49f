#ifndef KB_UNLOCKER_FLOW_VOLUME_FLOWS_H_
#define KB_UNLOCKER_FLOW_VOLUME_FLOWS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "unlocker/flow/ak_activation_flow.h"
#include "unlocker/flow/key_retrieval.h"
#include "unlocker/volume/volume.h"

namespace kb {

struct EnrollOptions {
  std::vector<std::string> endpoints;        // where to reach the broker now
  std::vector<std::string> token_endpoints;  // what the token records (default: endpoints), for
                                             // enrolling from a host that reaches the broker
                                             // by another address than the guest will
  std::string ca_pem;                        // the broker CA; its fingerprint goes into the token
  ReleaseTarget target;
  std::string evidence = "tpm";    // evidence kind to attest with; recorded in the token
  EvidenceSourceFor evidence_for;  // null: TPM quotes from the flow's Tpm ("tpm" only)
  // "ek": before the release, prove the AK through the TPM's EK certificate with `activate_ak`
  // (the broker then trusts it without operator registration), and record that in the token.
  // "": an operator registered the AK.
  std::string ak_trust;
  // The volume already has keybroker tokens: refused (FAILED_PRECONDITION, exit 2) unless
  // `replace`, which removes them and their keyslots once the new ones verify.
  bool replace = false;
  AkActivator activate_ak;
};

// Attests, receives the key, adds a keyslot for it (authorised by `existing`), writes the
// keybroker token and verifies the slot opens. On any failure after the keyslot was added, the
// slot and token are removed again: a failed enrol leaves the header as it was. Then confirms
// the enrolment to the broker; a failure to confirm is a warning through `progress` (the token
// stays marked unconfirmed and the next unlock confirms it).
absl::StatusOr<KeybrokerToken> Enroll(Volume& volume, Tpm& tpm, const BrokerConnector& connect,
                                      const SecretBytes& existing, const EnrollOptions& options,
                                      const Progress& progress);

struct UnlockOptions {
  std::string ca_pem;    // must match the token's ca_sha256 (fails closed otherwise)
  std::string map_name;  // activate as /dev/mapper/<map_name>; empty: verify only
  // kbunlock unlock --test: verify only and change nothing (no token, keyslot, offline copy,
  // TPM NV counter; the broker audits the release as a test). Without it, a verify-only run
  // (kbunlock rekey) still re-enrols, confirms and refreshes the offline copy.
  bool dry_run = false;
  RetryPolicy retry;  // how long to keep trying the brokers before the offline copy
  // For a token with an offline copy: stop trying once no broker has answered at all for this
  // long (RetryPolicy::unreachable_for) and use the copy; a broker that answers slowly still
  // gets the whole bound.
  absl::Duration offline_after = absl::Seconds(10);
  // The evidence source for a token's "evidence" kind; null: TPM quotes from the flow's Tpm
  // (tokens of another kind then fail).
  EvidenceSourceFor evidence_for;
  // For tokens with ak_trust "ek": when the broker refuses the release because it does not
  // trust the AK (check "ak_trusted"), the activation runs and the release is retried once.
  // Null: no re-activation.
  AkActivator activate_ak;
};

struct UnlockResult {
  int keyslot = -1;
  std::string key_id;
  uint32_t version = 0;
  uint32_t latest_version = 0;
  std::string endpoint;             // the broker, or "vTPM-sealed copy" for an offline unlock
  bool offline = false;             // opened from the sealed copy
  uint64_t offline_boots_left = 0;  // after an offline unlock, or granted by an online one
};

// FAILED_PRECONDITION (exit code kUsage) unless `ca_sha256` (the broker CA's certificate
// SHA-256, hex) is the CA `token` was enrolled with: a volume fails closed with another CA.
absl::Status CheckEnrolledCa(absl::string_view ca_sha256, const KeybrokerToken& token);

// The offline half, after ReleaseTokenKey failed with `online_error` (no broker answered):
// says so through `progress` and unseals the token's vTPM-sealed copy (UnsealOfflineCopy),
// setting `remaining` to the offline boots left. Why the copy did not serve is appended to
// `online_error` (exit code kBrokerUnreachable).
absl::StatusOr<SecretBytes> UnsealAfterOnlineFailure(Tpm& tpm, const KeybrokerToken& token,
                                                     const absl::Status& online_error,
                                                     const Progress& progress, uint64_t* remaining);

// The online half of an unlock through `token`, for whoever opens the volume with the key (the
// unlock below, the libcryptsetup token plugin): attests with `source` and receives the key
// from the first of the token's brokers that answers, retrying as `options` say (with an offline
// copy in the token, only until no broker has answered for options.offline_after); for an
// "ek" token whose AK the broker no longer trusts, proves it again once. Says so through
// `progress` when this vTPM is not the one that wrote the token. Errors carry exit codes.
absl::StatusOr<ReleasedKey> ReleaseTokenKey(EvidenceSource& source, Tpm& tpm,
                                            const BrokerConnector& connect,
                                            const UnlockOptions& options,
                                            const KeybrokerToken& token, const Progress& progress);

// Reads the volume's keybroker tokens and, for each until one works: attests, receives the key,
// and activates the volume (or verifies the key against its keyslot). After an online release
// it reseals the offline copy in the token as the policy grants (or drops it when it grants
// none); when no broker answers it opens the volume from that sealed copy if one is left. A
// token still awaiting its enrolment confirmation is confirmed after an online unlock (a
// failure is a warning).
// Errors carry exit codes.
absl::StatusOr<UnlockResult> Unlock(Volume& volume, Tpm& tpm, const BrokerConnector& connect,
                                    const UnlockOptions& options, const Progress& progress);

}  // namespace kb

#endif  // KB_UNLOCKER_FLOW_VOLUME_FLOWS_H_
