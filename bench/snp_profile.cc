#include "bench/snp_profile.h"

#include <stdlib.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "bench/floor_model.h"
#include "bench/floor_work.h"
#include "bench/phase.h"
#include "common/binding.h"
#include "common/crypto.h"
#include "common/files.h"
#include "common/openssl_util.h"
#include "tests/fakes/software_sev_guest.h"
#include "unlocker/evidence/snp_report_source.h"

namespace kb {
namespace {

// A software SEV-SNP platform in a temporary directory (make_fake_snp.sh's files).
struct SnpPlatform {
  std::string root, fw, measurement, chip;
};

// make_fake_snp.sh's files in `root`/fw.
absl::StatusOr<SnpPlatform> MakePlatform(const std::string& root) {
  SnpPlatform p{root, root + "/fw"};
  // The default template report; RSA-4096 ARK and ASK, as AMD's.
  CommandResult made =
      RunCommand({"/bin/sh", SourcePath("tests/fakes/make_fake_snp.sh"), p.fw, "", "4096"});
  if (made.exit_code != 0) return absl::InternalError("make_fake_snp.sh: " + made.output);
  for (auto [file, out] :
       {std::pair{"measurement.hex", &p.measurement}, std::pair{"chip_id.hex", &p.chip}}) {
    auto text = ReadFile(absl::StrCat(p.fw, "/", file));
    if (!text.ok()) return text.status();
    *out = std::string(absl::StripTrailingAsciiWhitespace(*text));
  }
  return p;
}

// Key "bench", released to the platform's chip when its MEASUREMENT is the template's.
bool SetupSnpKey(const BrokerProcess& broker, const SnpPlatform& p) {
  auto admin = broker.AdminStub();
  v1::CreateKeyRequest create;
  create.set_key_id("bench");
  v1::KeyMetadata meta;
  v1::SetPolicyRequest policy;
  policy.set_key_id("bench");
  policy.set_policy_json(absl::StrCat(
      R"({"allow":[{"name":"snp-bench","evidence_types":["snp"],"machines":["snp-chip:)", p.chip,
      R"("],"snp":{"measurements":[")", p.measurement, R"("]}}]})"));
  v1::SetPolicyResponse resp;
  grpc::ClientContext c1, c2;
  return admin->CreateKey(&c1, create, &meta).ok() && admin->SetPolicy(&c2, policy, &resp).ok();
}

// A guest: kbunlock's SEV-SNP evidence source on software firmware.
Guest SnpGuest(std::shared_ptr<SnpReportSource> source) {
  return [source](const v1::GetChallengeResponse& c) {
    auto spki = source->NewTransferKey(TransferKeyType::kEccP256);
    if (!spki.ok()) std::abort();
    auto attested = source->Attest(ComputeBinding(c.nonce(), "bench", *spki), {});
    if (!attested.ok()) std::abort();
    v1::ReleaseKeyRequest r;
    r.set_challenge_id(c.challenge_id());
    r.set_key_id("bench");
    *r.mutable_evidence() = std::move(attested->evidence);
    *r.mutable_transfer_key() = std::move(attested->transfer_key);
    return r;
  };
}

std::vector<Guest> SnpGuests(const std::string& fw, int n) {
  std::vector<Guest> guests;
  for (int i = 0; i < n; ++i) {
    auto device = SoftwareSevGuest::Load(fw);
    if (!device.ok()) std::abort();
    guests.push_back(SnpGuest(std::make_shared<SnpReportSource>(*std::move(device))));
  }
  return guests;
}

// Microseconds of this thread's CPU for the crypto an SEV-SNP release cannot avoid with the
// VCEK already verified: the report's P-384 signature and the ECDH-P256 + HKDF + AES-KWP wrap
// to the transfer key. Best of 5 batches of 200.
double SnpFloorMicros(const Guest& guest, X509* vcek) {
  v1::GetChallengeResponse c;
  c.set_nonce(std::string(32, 'n'));
  const v1::ReleaseKeyRequest r = guest(c);
  const SecretBytes key = *RandomSecret(32);
  double best = 1e18;
  for (int batch = 0; batch < 5; ++batch) {
    const int n = 200;
    const double start = ThreadCpuSeconds();
    for (int i = 0; i < n; ++i) {
      if (!SnpFloorWork(vcek, r, key).ok()) std::abort();
    }
    best = std::min(best, (ThreadCpuSeconds() - start) * 1e6 / n);
  }
  return best;
}

int RunOn(const SnpPlatform& p, const LoadConfig& cfg) {
  BrokerProcess::Options options;
  options.extra_config = absl::StrCat(R"("amd_chain_file":")", p.fw, "/amd_chain.pem\"");
  auto broker = BrokerProcess::Start(options);
  auto vcek = ParseCertificate(ReadFile(p.fw + "/vcek.der").value_or(""));
  if (!broker.ok() || !vcek.ok() || !SetupSnpKey(**broker, p)) {
    std::fprintf(stderr, "SEV-SNP profile: cannot set up keybrokerd and the test VCEK\n");
    return 1;
  }
  const std::vector<Guest> guests = SnpGuests(p.fw, cfg.clients);
  const auto floor = [&] { return SnpFloorMicros(guests[0], vcek->get()); };
  double floor_us = floor();
  std::printf(
      "SEV-SNP profile: %d guests, test VCEK under an RSA-4096 ASK/ARK in the evidence's "
      "certificate table; crypto floor (ECDSA-P384 report verify + ECDH-P256 wrap, thread "
      "CPU): %.1f us per release\n",
      cfg.clients, floor_us);
  const PhaseFigures kept = RunPhase({"keybrokerd SEV-SNP, kept-open connection", (*broker)->pid(),
                                      EndpointOf(**broker), false, true},
                                     guests, cfg, floor, floor_us);
  const FloorModelFigures models =
      RunFloorModels(absl::StrCat("snp:", p.fw, "/vcek.der"), (*broker)->dir(),
                     EndpointOf(**broker).ca_pem, guests, cfg, floor, floor_us);
  std::printf("keybrokerd SEV-SNP peak RSS: %ld KiB\n", PeakRssKb((*broker)->pid()));
  PrintKeptOpenTarget("SEV-SNP", kept);
  PrintFloorModels("SEV-SNP", kept, models);
  return 0;
}

}  // namespace

int RunSnpProfile(const LoadConfig& cfg) {
  char tmpl[] = "/tmp/kb-bench-snp-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    std::perror("SEV-SNP profile: mkdtemp");
    return 1;
  }
  auto platform = MakePlatform(tmpl);
  if (!platform.ok()) {
    std::fprintf(stderr, "SEV-SNP profile: %s\n", std::string(platform.status().message()).c_str());
  }
  const int code = platform.ok() ? RunOn(*platform, cfg) : 1;
  (void)!std::system(absl::StrCat("rm -rf ", tmpl).c_str());
  return code;
}

}  // namespace kb
