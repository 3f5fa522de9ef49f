#include "unlocker/flow/key_retrieval.h"

#include "absl/strings/str_cat.h"
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

absl::StatusOr<ReleasedKey> ObtainKey(Tpm& tpm, KeyReleaseClient& client,
                                      const ReleaseTarget& target) {
  v1::GetChallengeRequest challenge_request;
  challenge_request.set_key_id(target.key_id);
  KB_TRY(v1::GetChallengeResponse challenge, client.GetChallenge(challenge_request), BrokerError);
  KB_TRY(std::string transfer_public, tpm.CreateTransferKey(target.transfer_key), TpmError);
  const std::string binding = ComputeBinding(challenge.nonce(), target.key_id, transfer_public);
  v1::ReleaseKeyRequest request;
  request.set_challenge_id(challenge.challenge_id());
  request.set_key_id(target.key_id);
  KB_TRY(*request.mutable_transfer_key()->mutable_tpm(), tpm.CertifyTransferKey(binding), TpmError);
  KB_TRY(*request.mutable_evidence()->mutable_tpm_quote(), tpm.Quote(binding, target.pcrs),
         TpmError);
  KB_TRY(v1::ReleaseKeyResponse response, client.ReleaseKey(request), BrokerError);
  ReleasedKey out;
  KB_TRY(out.key, tpm.Unwrap(response.wrapped_key()), TpmError);
  out.version = response.version();
  out.latest_version = response.latest_version();
  out.offline_boots = response.offline_boots();
  return out;
}

absl::StatusOr<ReleasedKey> ObtainKeyFromAny(Tpm& tpm, const BrokerConnector& connect,
                                             const std::vector<std::string>& endpoints,
                                             const ReleaseTarget& target,
                                             const Progress& progress) {
  absl::Status last = WithExitCode(absl::UnavailableError("no broker endpoints configured"),
                                   ExitCode::kBrokerUnreachable);
  for (size_t i = 0; i < endpoints.size(); ++i) {
    const std::string& endpoint = endpoints[i];
    progress(absl::StrCat("attesting to broker ", endpoint, " for key '", target.key_id, "'"));
    auto client = connect(endpoint);
    if (!client.ok()) {
      last = BrokerError(client.status());
      continue;
    }
    auto released = ObtainKey(tpm, **client, target);
    if (released.ok()) {
      released->endpoint = endpoint;
      return released;
    }
    last = released.status();
    if (ExitCodeOf(last) != ExitCode::kBrokerUnreachable) return last;
    if (i + 1 < endpoints.size()) progress(absl::StrCat(last.message(), "; trying the next"));
  }
  return last;
}

}  // namespace kb
