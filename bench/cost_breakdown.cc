#include "bench/cost_breakdown.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/load.h"
#include "common/binding.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/tpm/tpm_structures.h"
#include "keybroker/service/release_service.h"
#include "keybroker/store/sqlite_stores.h"
#include "keybroker/verifiers/tpm/tpm_quote_verifier.h"

namespace kb {
namespace {

double ThreadCpuMicros() { return ThreadCpuSeconds() * 1e6; }

template <typename T>
T Must(absl::StatusOr<T> v) {
  if (!v.ok()) {
    std::fprintf(stderr, "cost breakdown setup failed: %s\n", v.status().ToString().c_str());
    std::abort();
  }
  return std::move(*v);
}

void Must(const absl::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "cost breakdown setup failed: %s\n", s.ToString().c_str());
    std::abort();
  }
}

// The broker core over its real stores in the database `path`, wired as keybrokerd wires it
// (OpenSqliteStores; the verifier leaves the AK's registration to the store read), with one key
// ("bench") whose policy allows `tpm`'s AK. With `reads_one_by_one`, the release reads through the
// role stores one call each (SeparateReleaseReads) instead of the store's ReleaseReads.
struct Core {
  BrokerStores stores;
  std::unique_ptr<TpmQuoteVerifier> verifier;
  RealClock clock;
  std::unique_ptr<ReleaseService> release;

  Core(const std::string& path, SoftwareTpm& tpm, bool reads_one_by_one) {
    KekSet keks;
    keks.current = Must(AesKek::Create(Must(RandomSecret(32)), "bench KEK"));
    stores = Must(OpenSqliteStores(path, std::move(keks)));
    verifier = std::make_unique<TpmQuoteVerifier>(nullptr);
    release = std::make_unique<ReleaseService>(
        ReleaseService::Deps{.keys = stores.keys,
                             .challenges = stores.challenges,
                             .audit = stores.audit,
                             .denylist = stores.denylist,
                             .verifier = verifier.get(),
                             .clock = &clock,
                             .revocations = stores.revocations,
                             .grants = stores.grants,
                             .aks = stores.aks,
                             .reads = reads_one_by_one ? nullptr : stores.release_reads},
        absl::Seconds(60));
    const std::string ak = Must(tpm.AttestationKeyPublic());
    const TPMT_PUBLIC ak_pub = Must(ParseTpmtPublic(ak, "ak"));
    Must(stores.aks->Register({Must(TpmName(ak_pub.nameAlg, ak)), "bench-0", ak, absl::Now()}));
    KeyRecord record;
    record.key_id = "bench";
    record.size_bytes = 32;
    record.latest_version = 1;
    record.created_at = absl::Now();
    Must(stores.keys->CreateKey(record, Must(RandomSecret(32))));
    Must(stores.keys
             ->SetPolicy("bench",
                         absl::StrCat(R"({"allow":[{"machines":["bench-0"],)",
                                      R"("pcrs":[{"index":7,"allowed":[")", std::string(64, '0'),
                                      R"("]}]}]})"),
                         std::nullopt)
             .status());
  }
};

v1::ReleaseKeyRequest Request(SoftwareTpm& tpm, const v1::GetChallengeResponse& c) {
  const std::string pub = Must(tpm.CreateTransferKey(TransferKeyType::kEccP256));
  const std::string binding = ComputeBinding(c.nonce(), "bench", pub);
  v1::ReleaseKeyRequest r;
  r.set_challenge_id(c.challenge_id());
  r.set_key_id("bench");
  *r.mutable_transfer_key()->mutable_tpm() = Must(tpm.CertifyTransferKey(binding));
  *r.mutable_evidence()->mutable_tpm_quote() = Must(tpm.Quote(binding, {0, 1, 2, 3, 4, 5, 6, 7}));
  return r;
}

// Thread CPU per GetChallenge + ReleaseKey through `core`, the mean of 100.
double CoreBatchMicros(Core& core, SoftwareTpm& tpm) {
  v1::GetChallengeRequest cr;
  cr.set_key_id("bench");
  const int n = 100;
  double spent = 0;
  for (int i = 0; i < n; ++i) {
    const double t0 = ThreadCpuMicros();
    v1::GetChallengeResponse c = Must(core.release->GetChallenge(cr));
    spent += ThreadCpuMicros() - t0;
    v1::ReleaseKeyRequest r = Request(tpm, c);  // the guest's work: not timed
    const double t1 = ThreadCpuMicros();
    Must(core.release->ReleaseKey(r, "bench"));
    spent += ThreadCpuMicros() - t1;
  }
  return spent / n;
}

}  // namespace

ServiceCoreFigures ServiceCoreMicros(SoftwareTpm& tpm) {
  char tmpl[] = "/tmp/kb-bench-core-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) std::abort();
  const std::string dir = tmpl;
  ServiceCoreFigures best{1e18, 1e18};
  {
    // Two cores over two databases, batches alternating between them: A B B A A B B A A B.
    Core one_read(dir + "/one-read.db", tpm, false);
    Core each_read(dir + "/each-read.db", tpm, true);
    for (int batch = 0; batch < 10; ++batch) {  // 5 each, which goes first alternating
      const bool one = (batch % 4 == 0 || batch % 4 == 3);
      double& best_of = one ? best.one_read : best.reads_one_by_one;
      best_of = std::min(best_of, CoreBatchMicros(one ? one_read : each_read, tpm));
    }
  }
  if (std::system(absl::StrCat("rm -rf ", dir).c_str()) != 0) {
    std::fprintf(stderr, "could not remove %s\n", dir.c_str());
  }
  return best;
}

namespace {

struct SslDeleter {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(SSL* p) const { SSL_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
template <typename T>
using SslPtr = std::unique_ptr<T, SslDeleter>;

SslPtr<BIO> MemBio(const std::string& pem) {
  return SslPtr<BIO>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

SslPtr<SSL_CTX> ServerContext(const std::string& cert_pem, const std::string& key_pem) {
  SslPtr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()));
  SslPtr<X509> cert(PEM_read_bio_X509(MemBio(cert_pem).get(), nullptr, nullptr, nullptr));
  SslPtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(MemBio(key_pem).get(), nullptr, nullptr, nullptr));
  if (!ctx || !cert || !key || SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) != 1 ||
      SSL_CTX_use_certificate(ctx.get(), cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1) {
    std::abort();
  }
  return ctx;
}

SslPtr<SSL_CTX> ClientContext(const std::string& ca_pem) {
  SslPtr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()));
  SslPtr<X509> ca(PEM_read_bio_X509(MemBio(ca_pem).get(), nullptr, nullptr, nullptr));
  if (!ctx || !ca || X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca.get()) != 1) {
    std::abort();
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

// One handshake over a BIO pair; returns the server side's CPU microseconds.
double OneHandshake(SSL_CTX* server_ctx, SSL_CTX* client_ctx) {
  SslPtr<SSL> server(SSL_new(server_ctx)), client(SSL_new(client_ctx));
  BIO *client_bio = nullptr, *server_bio = nullptr;
  if (!server || !client || BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) != 1) std::abort();
  SSL_set_bio(client.get(), client_bio, client_bio);
  SSL_set_bio(server.get(), server_bio, server_bio);
  SSL_set1_host(client.get(), "localhost");
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());
  double server_us = 0;
  bool client_done = false, server_done = false;
  for (int round = 0; round < 16 && !(client_done && server_done); ++round) {
    if (!client_done) client_done = SSL_do_handshake(client.get()) == 1;
    const double t0 = ThreadCpuMicros();
    if (!server_done) server_done = SSL_do_handshake(server.get()) == 1;
    server_us += ThreadCpuMicros() - t0;
  }
  if (!client_done || !server_done) {
    std::fprintf(stderr, "in-memory TLS handshake failed\n");
    ERR_print_errors_fp(stderr);
    std::abort();
  }
  return server_us;
}

}  // namespace

double TlsServerHandshakeMicros(const std::string& cert_pem, const std::string& key_pem,
                                const std::string& ca_pem) {
  SslPtr<SSL_CTX> server = ServerContext(cert_pem, key_pem);
  SslPtr<SSL_CTX> client = ClientContext(ca_pem);
  double best = 1e18;
  for (int batch = 0; batch < 5; ++batch) {
    const int n = 100;
    double spent = 0;
    for (int i = 0; i < n; ++i) spent += OneHandshake(server.get(), client.get());
    best = std::min(best, spent / n);
  }
  return best;
}

}  // namespace kb
