#ifndef KB_TESTS_UNIT_UNLOCKER_FLOW_FLOWS_FIXTURE_H_
#define KB_TESTS_UNIT_UNLOCKER_FLOW_FLOWS_FIXTURE_H_

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "common/files.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_volume.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/keybroker/broker_fixture.h"
#include "unlocker/client/key_release_client.h"
#include "unlocker/flow/key_retrieval.h"

namespace kb {

// KeyReleaseClient that calls the broker's ReleaseService directly.
class InProcessClient : public KeyReleaseClient {
 public:
  explicit InProcessClient(ReleaseService* service) : service_(service) {}
  absl::StatusOr<v1::GetChallengeResponse> GetChallenge(const v1::GetChallengeRequest& r) override {
    return service_->GetChallenge(r);
  }
  absl::StatusOr<v1::ReleaseKeyResponse> ReleaseKey(const v1::ReleaseKeyRequest& r) override {
    return service_->ReleaseKey(r, "in-process");
  }
  absl::StatusOr<v1::ConfirmEnrolmentResponse> ConfirmEnrolment(
      const v1::ConfirmEnrolmentRequest& r) override {
    return service_->ConfirmEnrolment(r, "in-process");
  }

 private:
  ReleaseService* service_;
};

// The unlocker's flows against an in-process broker core (BrokerFixture) holding the key
// "disk": `connect_` reaches its ReleaseService from any endpoint but "down:1" (UNAVAILABLE),
// `volume_` is a fake volume with the passphrase "pass", `ca_pem_` the flows' CA and `lines_`
// collects the flows' progress lines.
class FlowsFixture : public BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    CreateKey("disk");
    ca_pem_ = *ReadFile(std::string(std::getenv("KB_SOURCE_DIR")) + "/tests/data/flows/ca.pem");
    connect_ =
        [this](const std::string& endpoint) -> absl::StatusOr<std::unique_ptr<KeyReleaseClient>> {
      if (endpoint == "down:1") return absl::UnavailableError("connection refused");
      return std::unique_ptr<KeyReleaseClient>(new InProcessClient(release_.get()));
    };
  }

  // Registers the software TPM's AK as machine "web-1" and allows it "disk" by PCR 7.
  void AllowWeb1() {
    RegisterAk(*tpm_, "web-1");
    ASSERT_THAT(SetPolicy("disk", Pcr7PolicyFor("web-1")), IsOk());
  }

  FakeVolume volume_{"pass"};
  BrokerConnector connect_;
  std::string ca_pem_;
  std::vector<std::string> lines_;
  Progress progress_ = [this](const std::string& l) { lines_.push_back(l); };
};

}  // namespace kb

#endif  // KB_TESTS_UNIT_UNLOCKER_FLOW_FLOWS_FIXTURE_H_
