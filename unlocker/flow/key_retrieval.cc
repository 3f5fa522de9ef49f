#include "unlocker/flow/key_retrieval.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/binding.h"
#include "common/status_macros.h"
#include "unlocker/flow/exit_codes.h"

namespace kb {
namespace {

absl::Status TpmError(absl::Status s) {
  return WithExitCode(absl::Status(s.code(), absl::StrCat("TPM: ", s.message())),
                      ExitCode::kTpmUnavailable);
}

absl::Status BrokerError(absl::Status s) {
  const bool unreachable = absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s);
  return WithExitCode(std::move(s), unreachable ? ExitCode::kBrokerUnreachable : ExitCode::kDenied);
}

// Runs `expr`; on error returns it passed through `wrap`.
#define KB_TRY(lhs, expr, wrap)                                                       \
  auto KB_CONCAT_(r_, __LINE__) = (expr);                                             \
  if (!KB_CONCAT_(r_, __LINE__).ok()) return wrap(KB_CONCAT_(r_, __LINE__).status()); \
  lhs = *std::move(KB_CONCAT_(r_, __LINE__))

}  // namespace

absl::StatusOr<TransferKeyType> ParseTransferKeyType(const std::string& name) {
  if (name == "ecc-p256") return TransferKeyType::kEccP256;
  if (name == "rsa-2048") return TransferKeyType::kRsa2048;
  if (name == "rsa-3072") return TransferKeyType::kRsa3072;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown transfer key type '", name, "' (ecc-p256, rsa-2048, rsa-3072)"));
}

namespace {

// The attestation and release after a challenge was obtained from `client`.
absl::StatusOr<ReleasedKey> CompleteRelease(Tpm& tpm, KeyReleaseClient& client,
                                            const v1::GetChallengeResponse& challenge,
                                            const ReleaseTarget& target) {
  KB_TRY(std::string transfer_public, tpm.CreateTransferKey(target.transfer_key), TpmError);
  const std::string binding = ComputeBinding(challenge.nonce(), target.key_id, transfer_public);
  v1::ReleaseKeyRequest request;
  request.set_challenge_id(challenge.challenge_id());
  request.set_key_id(target.key_id);
  request.set_key_version(target.key_version);
  KB_TRY(*request.mutable_transfer_key()->mutable_tpm(), tpm.CertifyTransferKey(binding), TpmError);
  KB_TRY(*request.mutable_evidence()->mutable_tpm_quote(), tpm.Quote(binding, target.pcrs),
         TpmError);
  KB_TRY(v1::ReleaseKeyResponse response, client.ReleaseKey(request), BrokerError);
  if (target.key_version != 0 && response.version() != target.key_version) {
    return WithExitCode(
        absl::InternalError(absl::StrCat("broker returned key version ", response.version(),
                                         " instead of ", target.key_version)),
        ExitCode::kDenied);
  }
  ReleasedKey out;
  KB_TRY(out.key, tpm.Unwrap(response.wrapped_key()), TpmError);
  out.version = response.version();
  out.latest_version = response.latest_version();
  out.offline_boots = response.offline_boots();
  return out;
}

struct Contact {
  std::unique_ptr<KeyReleaseClient> client;
  absl::StatusOr<v1::GetChallengeResponse> challenge = absl::UnknownError("not tried");
};

// Connects to every endpoint and asks for a challenge, all in parallel.
std::vector<Contact> ChallengeAll(const BrokerConnector& connect,
                                  const std::vector<std::string>& endpoints,
                                  const std::string& key_id) {
  std::vector<Contact> contacts(endpoints.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < endpoints.size(); ++i) {
    threads.emplace_back([&, i] {
      auto client = connect(endpoints[i]);
      if (!client.ok()) {
        contacts[i].challenge = client.status();
        return;
      }
      contacts[i].client = std::move(*client);
      v1::GetChallengeRequest request;
      request.set_key_id(key_id);
      contacts[i].challenge = contacts[i].client->GetChallenge(request);
    });
  }
  for (std::thread& t : threads) t.join();
  return contacts;
}

// One round over all endpoints. Returns the release, a refusal, or an unreachable error that
// lists every endpoint's reason.
absl::StatusOr<ReleasedKey> TryRound(Tpm& tpm, const BrokerConnector& connect,
                                     const std::vector<std::string>& endpoints,
                                     const ReleaseTarget& target) {
  std::vector<Contact> contacts = ChallengeAll(connect, endpoints, target.key_id);
  std::vector<std::string> unreachable;
  for (size_t i = 0; i < contacts.size(); ++i) {
    absl::StatusOr<ReleasedKey> released =
        contacts[i].challenge.ok()
            ? CompleteRelease(tpm, *contacts[i].client, *contacts[i].challenge, target)
            : absl::StatusOr<ReleasedKey>(BrokerError(contacts[i].challenge.status()));
    if (released.ok()) {
      released->endpoint = endpoints[i];
      return released;
    }
    if (ExitCodeOf(released.status()) != ExitCode::kBrokerUnreachable) return released.status();
    unreachable.push_back(std::string(released.status().message()));
  }
  return WithExitCode(absl::UnavailableError(absl::StrJoin(unreachable, "; ")),
                      ExitCode::kBrokerUnreachable);
}

}  // namespace

absl::StatusOr<ReleasedKey> ObtainKey(Tpm& tpm, KeyReleaseClient& client,
                                      const ReleaseTarget& target) {
  v1::GetChallengeRequest challenge_request;
  challenge_request.set_key_id(target.key_id);
  KB_TRY(v1::GetChallengeResponse challenge, client.GetChallenge(challenge_request), BrokerError);
  return CompleteRelease(tpm, client, challenge, target);
}

absl::StatusOr<ReleasedKey> ObtainKeyFromAny(Tpm& tpm, const BrokerConnector& connect,
                                             const std::vector<std::string>& endpoints,
                                             const ReleaseTarget& target, const Progress& progress,
                                             const RetryPolicy& retry) {
  if (endpoints.empty()) {
    return WithExitCode(absl::UnavailableError("no broker endpoints configured"),
                        ExitCode::kBrokerUnreachable);
  }
  progress(absl::StrCat("attesting to broker ", absl::StrJoin(endpoints, ", "), " for key '",
                        target.key_id, "'"));
  absl::Duration backoff = retry.first_backoff;
  for (int round = 1;; ++round) {
    auto released = TryRound(tpm, connect, endpoints, target);
    if (released.ok() || ExitCodeOf(released.status()) != ExitCode::kBrokerUnreachable) {
      return released;
    }
    if (retry.now() + backoff >= retry.give_up_at) {
      if (round == 1) return released;
      return WithExitCode(absl::UnavailableError(absl::StrCat(
                              "gave up after ", round, " rounds: ", released.status().message())),
                          ExitCode::kBrokerUnreachable);
    }
    progress(absl::StrCat("round ", round, ": ", released.status().message(), "; retrying in ",
                          absl::FormatDuration(backoff)));
    retry.sleep(backoff);
    backoff = std::min(backoff * 2, retry.max_backoff);
  }
}

}  // namespace kb
