#include "unlocker/flow/enrolment_confirmation.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/binding.h"
#include "common/status_macros.h"
#include "unlocker/client/key_release_client.h"

namespace kb {
namespace {

// One confirmation through one broker.
absl::Status ConfirmWith(EvidenceSource& source, KeyReleaseClient& client,
                         const KeybrokerToken& token) {
  v1::GetChallengeRequest challenge_request;
  challenge_request.set_key_id(token.key_id);
  ASSIGN_OR_RETURN(v1::GetChallengeResponse challenge, client.GetChallenge(challenge_request));
  ASSIGN_OR_RETURN(TransferKeyType type, ParseTransferKeyType(token.transfer_key));
  ASSIGN_OR_RETURN(std::string transfer_public, source.NewTransferKey(type));
  const std::string binding = ComputeConfirmationBinding(challenge.nonce(), token.key_id,
                                                         token.key_version, transfer_public);
  ASSIGN_OR_RETURN(AttestedTransferKey attested, source.Attest(binding, token.pcrs));
  v1::ConfirmEnrolmentRequest request;
  request.set_challenge_id(challenge.challenge_id());
  request.set_key_id(token.key_id);
  request.set_version(token.key_version);
  *request.mutable_evidence() = std::move(attested.evidence);
  *request.mutable_transfer_key() = std::move(attested.transfer_key);
  return client.ConfirmEnrolment(request).status();
}

}  // namespace

absl::Status ConfirmEnrolment(EvidenceSource& source, const BrokerConnector& connect,
                              const std::vector<std::string>& endpoints,
                              const KeybrokerToken& token) {
  std::vector<std::string> unreachable;
  for (const std::string& endpoint : endpoints) {
    auto client = connect(endpoint);
    absl::Status s = client.ok() ? ConfirmWith(source, **client, token) : client.status();
    if (s.ok()) return s;
    // A refusal is the same from every broker (one store); only unreachability moves on.
    if (!IsTransportFailure(s)) return s;
    unreachable.push_back(std::string(s.message()));
  }
  return absl::UnavailableError(unreachable.empty() ? std::string("no broker endpoints")
                                                    : absl::StrJoin(unreachable, "; "));
}

void ConfirmPendingEnrolment(Volume& volume, EvidenceSource& source, const BrokerConnector& connect,
                             const std::vector<std::string>& endpoints, KeybrokerToken& token,
                             const Progress& progress) {
  if (token.confirmed != false) return;  // confirmed, or a token from before confirmations
  absl::Status s = ConfirmEnrolment(source, connect, endpoints, token);
  if (!s.ok()) {
    progress(absl::StrCat("warning: could not confirm the enrolment of key '", token.key_id,
                          "' version ", token.key_version, " to the broker (retried at the next ",
                          "unlock; the volume is fine): ", s.message()));
    return;
  }
  token.confirmed = true;
  auto written = volume.WriteToken(token);
  if (!written.ok()) {
    progress(absl::StrCat("warning: the broker recorded the enrolment of version ",
                          token.key_version,
                          " but the token could not be updated: ", written.status().message()));
    return;
  }
  token.token_id = *written;
  progress(absl::StrCat("confirmed to the broker: enrolled with key '", token.key_id, "' version ",
                        token.key_version));
}

}  // namespace kb
