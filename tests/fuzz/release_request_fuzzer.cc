// libFuzzer target for what a guest sends the release service: the ReleaseKeyRequest bytes as
// the broker parses them, then the TPM quote verifier over the parsed evidence and transfer key
// (with an attestation-key registry that trusts the AK the request carries, so that the
// signature, binding, PCR and certification checks are reached). See tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include "common/tpm/tpm_structures.h"
#include "kb/v1/release.pb.h"
#include "keybroker/verifiers/tpm/tpm_quote_verifier.h"

namespace {

class TrustingRegistry : public kb::AttestationKeyRegistry {
 public:
  explicit TrustingRegistry(std::string ak_public) : ak_public_(std::move(ak_public)) {}
  absl::Status Register(const kb::RegisteredAk&) override { return absl::OkStatus(); }
  absl::StatusOr<kb::RegisteredAk> Lookup(absl::string_view name) override {
    return kb::RegisteredAk{std::string(name), "fuzz-vm", ak_public_, absl::UnixEpoch()};
  }
  absl::StatusOr<std::vector<kb::RegisteredAk>> List() override {
    return std::vector<kb::RegisteredAk>();
  }
  absl::StatusOr<kb::RegisteredAk> Remove(absl::string_view) override {
    return absl::NotFoundError("the fuzz registry removes nothing");
  }

 private:
  std::string ak_public_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kb::v1::ReleaseKeyRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  TrustingRegistry registry(request.evidence().tpm_quote().ak_public());
  kb::TpmQuoteVerifier verifier(&registry);
  (void)verifier.Verify(request.evidence(), request.transfer_key(), request.challenge_id());
  (void)verifier.VerifyUnbound(request.evidence(), request.transfer_key());
  return 0;
}
