#include "unlocker/flow/key_retrieval.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/binding.h"
#include "common/status_macros.h"
#include "unlocker/client/tls_diagnosis.h"
#include "unlocker/evidence/tpm_quote_source.h"
#include "unlocker/exit/exit_codes.h"

namespace kb {
namespace {

absl::Status BrokerError(absl::Status s) {
  // A certificate the guest does not accept (wrong CA, wrong clock): configuration, exit 2.
  if (IsBrokerCertificateError(s)) return WithExitCode(std::move(s), ExitCode::kUsage);
  // RESOURCE_EXHAUSTED: the broker is at a bound (challenge quota); retried like a busy broker.
  const bool unreachable =
      absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) || absl::IsResourceExhausted(s);
  return WithExitCode(std::move(s), unreachable ? ExitCode::kBrokerUnreachable : ExitCode::kDenied);
}

// Runs `expr`; on error returns it passed through `wrap`.
#define KB_TRY(lhs, expr, wrap)                                                       \
  auto KB_CONCAT_(r_, __LINE__) = (expr);                                             \
  if (!KB_CONCAT_(r_, __LINE__).ok()) return wrap(KB_CONCAT_(r_, __LINE__).status()); \
  lhs = *std::move(KB_CONCAT_(r_, __LINE__))

}  // namespace

absl::StatusOr<EvidenceSource*> ResolveEvidenceSource(const EvidenceSourceFor& source_for,
                                                      const std::string& kind, Tpm& tpm,
                                                      std::unique_ptr<EvidenceSource>& fallback) {
  if (source_for) {
    auto source = source_for(kind);
    if (!source.ok()) {
      // An unknown kind is a configuration error; a missing device or AK is like a missing TPM.
      return WithExitCode(source.status(), absl::IsInvalidArgument(source.status())
                                               ? ExitCode::kUsage
                                               : ExitCode::kTpmUnavailable);
    }
    return *source;
  }
  if (kind != "tpm") {
    return WithExitCode(
        absl::InvalidArgumentError(absl::StrCat("evidence kind '", kind, "' is not available")),
        ExitCode::kUsage);
  }
  if (!fallback) fallback = std::make_unique<TpmQuoteSource>(tpm);
  return fallback.get();
}

absl::StatusOr<TransferKeyType> ParseTransferKeyType(const std::string& name) {
  if (name == "ecc-p256") return TransferKeyType::kEccP256;
  if (name == "rsa-2048") return TransferKeyType::kRsa2048;
  if (name == "rsa-3072") return TransferKeyType::kRsa3072;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown transfer key type '", name, "' (ecc-p256, rsa-2048, rsa-3072)"));
}

namespace {

absl::Status SourceError(const EvidenceSource& source, absl::Status s) {
  return WithExitCode(absl::Status(s.code(), absl::StrCat(source.Name(), ": ", s.message())),
                      ExitCode::kTpmUnavailable);
}

// The attestation and release after a challenge was obtained from `client`.
absl::StatusOr<ReleasedKey> CompleteRelease(EvidenceSource& source, KeyReleaseClient& client,
                                            const v1::GetChallengeResponse& challenge,
                                            const ReleaseTarget& target) {
  auto error = [&source](absl::Status s) { return SourceError(source, std::move(s)); };
  KB_TRY(std::string transfer_public, source.NewTransferKey(target.transfer_key), error);
  const std::string binding = ComputeBinding(challenge.nonce(), target.key_id, transfer_public);
  v1::ReleaseKeyRequest request;
  request.set_challenge_id(challenge.challenge_id());
  request.set_key_id(target.key_id);
  request.set_key_version(target.key_version);
  request.set_dry_run(target.dry_run);
  KB_TRY(AttestedTransferKey attested, source.Attest(binding, target.pcrs), error);
  *request.mutable_transfer_key() = std::move(attested.transfer_key);
  *request.mutable_evidence() = std::move(attested.evidence);
  KB_TRY(v1::ReleaseKeyResponse response, client.ReleaseKey(request), BrokerError);
  if (target.key_version != 0 && response.version() != target.key_version) {
    return WithExitCode(
        absl::InternalError(absl::StrCat("broker returned key version ", response.version(),
                                         " instead of ", target.key_version)),
        ExitCode::kDenied);
  }
  ReleasedKey out;
  KB_TRY(out.key, source.Unwrap(response.wrapped_key()), error);
  out.version = response.version();
  out.latest_version = response.latest_version();
  out.offline_boots = response.offline_boots();
  return out;
}

// CompleteRelease, then once more with a fresh challenge from the same broker when it refused
// the first as unknown, spent or expired (ABORTED): a challenge can outlive its broker's
// restart or upgrade (a broker that verifies against the nonce its challenge id carries
// refuses the ids of older ones), or a TPM slower than the challenge's lifetime.
absl::StatusOr<ReleasedKey> CompleteReleaseOrRetry(EvidenceSource& source, KeyReleaseClient& client,
                                                   const v1::GetChallengeResponse& challenge,
                                                   const ReleaseTarget& target) {
  absl::StatusOr<ReleasedKey> released = CompleteRelease(source, client, challenge, target);
  if (!absl::IsAborted(released.status())) return released;
  v1::GetChallengeRequest request;
  request.set_key_id(target.key_id);
  KB_TRY(v1::GetChallengeResponse fresh, client.GetChallenge(request), BrokerError);
  return CompleteRelease(source, client, fresh, target);
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

// One round over all endpoints. Returns the release, a refusal, or an error that lists every
// endpoint's reason: unreachable (retried) when any endpoint could not be reached, a
// certificate error (exit 2, not retried: a wrong CA or clock does not heal) when every
// endpoint presented a certificate this guest does not accept.
absl::StatusOr<ReleasedKey> TryRound(EvidenceSource& source, const BrokerConnector& connect,
                                     const std::vector<std::string>& endpoints,
                                     const ReleaseTarget& target, bool* answered) {
  std::vector<Contact> contacts = ChallengeAll(connect, endpoints, target.key_id);
  std::vector<std::string> unreachable, refused_certificate;
  for (size_t i = 0; i < contacts.size(); ++i) {
    absl::StatusOr<ReleasedKey> released =
        contacts[i].challenge.ok()
            ? CompleteReleaseOrRetry(source, *contacts[i].client, *contacts[i].challenge, target)
            : absl::StatusOr<ReleasedKey>(BrokerError(contacts[i].challenge.status()));
    if (released.ok()) {
      released->endpoint = endpoints[i];
      return released;
    }
    if (IsBrokerCertificateError(released.status())) {
      refused_certificate.push_back(std::string(released.status().message()));
      continue;
    }
    if (ExitCodeOf(released.status()) != ExitCode::kBrokerUnreachable) return released.status();
    // Slow (deadline exceeded on a connection) or busy: a broker that is there.
    if (!absl::IsUnavailable(released.status())) *answered = true;
    unreachable.push_back(std::string(released.status().message()));
  }
  if (unreachable.empty()) {
    return WithExitCode(absl::FailedPreconditionError(absl::StrJoin(refused_certificate, "; ")),
                        ExitCode::kUsage);
  }
  unreachable.insert(unreachable.end(), refused_certificate.begin(), refused_certificate.end());
  return WithExitCode(absl::UnavailableError(absl::StrJoin(unreachable, "; ")),
                      ExitCode::kBrokerUnreachable);
}

}  // namespace

absl::StatusOr<ReleasedKey> ObtainKey(Tpm& tpm, KeyReleaseClient& client,
                                      const ReleaseTarget& target) {
  TpmQuoteSource source(tpm);
  return ObtainKey(source, client, target);
}

absl::StatusOr<ReleasedKey> ObtainKey(EvidenceSource& source, KeyReleaseClient& client,
                                      const ReleaseTarget& target) {
  v1::GetChallengeRequest challenge_request;
  challenge_request.set_key_id(target.key_id);
  KB_TRY(v1::GetChallengeResponse challenge, client.GetChallenge(challenge_request), BrokerError);
  return CompleteReleaseOrRetry(source, client, challenge, target);
}

absl::StatusOr<ReleasedKey> ObtainKeyFromAny(Tpm& tpm, const BrokerConnector& connect,
                                             const std::vector<std::string>& endpoints,
                                             const ReleaseTarget& target, const Progress& progress,
                                             const RetryPolicy& retry) {
  TpmQuoteSource source(tpm);
  return ObtainKeyFromAny(source, connect, endpoints, target, progress, retry);
}

absl::StatusOr<ReleasedKey> ObtainKeyFromAny(EvidenceSource& source, const BrokerConnector& connect,
                                             const std::vector<std::string>& endpoints,
                                             const ReleaseTarget& target, const Progress& progress,
                                             const RetryPolicy& retry) {
  if (endpoints.empty()) {
    return WithExitCode(absl::UnavailableError("no broker endpoints configured"),
                        ExitCode::kBrokerUnreachable);
  }
  progress(absl::StrCat("attesting to broker ", absl::StrJoin(endpoints, ", "), " for key '",
                        target.key_id, "'"));
  if (retry.before_first_round) retry.before_first_round();
  absl::Duration backoff = retry.first_backoff;
  const absl::Time first_round = retry.now();
  bool ever_answered = false;
  for (int round = 1;; ++round) {
    auto released = TryRound(source, connect, endpoints, target, &ever_answered);
    if (released.ok() || ExitCodeOf(released.status()) != ExitCode::kBrokerUnreachable) {
      return released;
    }
    const bool never_there = !ever_answered && retry.now() - first_round >= retry.unreachable_for;
    if (never_there || retry.now() + backoff >= retry.give_up_at) {
      if (round == 1) return released;
      return WithExitCode(
          absl::UnavailableError(absl::StrCat(
              "gave up after ", round, " rounds",
              never_there ? absl::StrCat(" (no broker answered for ",
                                         absl::FormatDuration(retry.unreachable_for), ")")
                          : "",
              ": ", released.status().message())),
          ExitCode::kBrokerUnreachable);
    }
    // The last round of an unreachable window starts when the window ends.
    const absl::Duration wait =
        ever_answered ? backoff
                      : std::min(backoff, first_round + retry.unreachable_for - retry.now());
    progress(absl::StrCat("round ", round, ": ", released.status().message(), "; retrying in ",
                          absl::FormatDuration(wait)));
    retry.sleep(wait);
    backoff = std::min(backoff * 2, retry.max_backoff);
  }
}

}  // namespace kb
