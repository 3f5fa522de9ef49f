// A broker certificate the guest does not accept is a configuration error that kbunlock names
// and does not retry (exit 2): a certificate from another CA (the issuer it got and the CA file
// it used), or one that is not valid yet at the guest's clock (check the clock). The volume is
// enrolled through a real keybrokerd; its token's broker is a real TLS server that presents the
// certificate under test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/openssl_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/guest_volume_fixture.h"

namespace kb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A certificate for 127.0.0.1 signed by `ca` (PEM cert + key files), valid from `not_before`
// seconds from now for a year; the PEM of the certificate and of its new key.
std::pair<std::string, std::string> IssueServerCert(const std::string& ca_cert,
                                                    const std::string& ca_key, long not_before) {
  X509Ptr ca = *ParseCertificate(*ReadFile(ca_cert));
  EvpPkeyPtr ca_pkey = std::move(*ParsePemPrivateKey(*ReadFile(ca_key)));
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 4242);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), not_before);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), not_before + 365 * 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("keybroker"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get()));
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.get(), cert.get(), nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
  X509_add_ext(cert.get(), san, -1);
  X509_EXTENSION_free(san);
  X509_sign(cert.get(), ca_pkey.get(), EVP_sha256());
  BioPtr k(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(k.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(k.get(), &data);
  return {CertificatePem(cert.get()), std::string(data, len)};
}

// A TLS 1.3 server on 127.0.0.1 that presents `cert_pem` and closes each connection after the
// handshake (which the guest aborts).
class TlsServer {
 public:
  TlsServer(const std::string& cert_pem, const std::string& key_pem) {
    signal(SIGPIPE, SIG_IGN);  // the guest aborts the handshake while this side writes
    ctx_ = SSL_CTX_new(TLS_server_method());
    BioPtr c(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
    BioPtr k(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
    X509Ptr cert(PEM_read_bio_X509(c.get(), nullptr, nullptr, nullptr));
    EvpPkeyPtr key(PEM_read_bio_PrivateKey(k.get(), nullptr, nullptr, nullptr));
    SSL_CTX_use_certificate(ctx_, cert.get());
    SSL_CTX_use_PrivateKey(ctx_, key.get());
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), len);
    listen(fd_, 16);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TlsServer() {
    done_ = true;
    thread_.join();
    close(fd_);
    SSL_CTX_free(ctx_);
  }
  std::string endpoint() const { return absl::StrCat("127.0.0.1:", port_); }
  int handshakes() const { return handshakes_; }

 private:
  void Serve() {
    while (!done_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, c);
      SSL_accept(ssl);
      ++handshakes_;
      SSL_free(ssl);
      close(c);
    }
  }
  SSL_CTX* ctx_;
  int fd_ = -1, port_ = 0;
  std::atomic<bool> done_{false};
  std::atomic<int> handshakes_{0};
  std::thread thread_;
};

class BrokerCertificateTest : public GuestVolumeTest {
 protected:
  void SetUp() override {
    SetUpGuest("vm-t", "t-disk", R"({"allow":[{"name":"boot","machines":["vm-t"]}]})");
  }

  // Enrols through the real broker with `token_broker` as the token's only broker, then runs
  // unlock --test against it with a 20 s deadline.
  CommandResult UnlockThrough(const std::string& token_broker) {
    CommandResult enrolled =
        Kbunlock({"enroll", "--device", image_, "--broker", broker_->release_endpoint(),
                  "--token-broker", token_broker, "--ca", broker_->Path("ca.pem"), "--key-id",
                  "t-disk", "--passphrase-file", pass_, "--tcti", swtpm_->tcti()});
    EXPECT_EQ(enrolled.exit_code, 0) << enrolled.output;
    return Kbunlock({"unlock", "--device", image_, "--test", "--ca", broker_->Path("ca.pem"),
                     "--tcti", swtpm_->tcti(), "--timeout", "5", "--deadline", "20"});
  }
};

TEST_F(BrokerCertificateTest, ACertificateFromAnotherCaNamesTheIssuerAndTheCaFile) {
  auto [cert, key] =
      IssueServerCert(broker_->Path("other-ca.pem"), broker_->Path("other-ca.key"), -60);
  TlsServer server(cert, key);
  const auto start = std::chrono::steady_clock::now();
  CommandResult r = UnlockThrough(server.endpoint());
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("was issued by 'CN=some other CA'"));
  EXPECT_THAT(r.output, HasSubstr(absl::StrCat("the CA file ", broker_->Path("ca.pem"),
                                               " holds 'CN=keybroker test broker CA'")));
  EXPECT_THAT(r.output, Not(HasSubstr("retrying")));
  EXPECT_LT(took, std::chrono::seconds(15)) << "retried until the deadline: " << r.output;
}

// Another CA's certificate is the wrong CA whatever its dates: the clock is not blamed.
TEST_F(BrokerCertificateTest, AnotherCasCertificateNotYetValidNamesTheIssuerNotTheClock) {
  auto [cert, key] =
      IssueServerCert(broker_->Path("other-ca.pem"), broker_->Path("other-ca.key"), 2 * 86400);
  TlsServer server(cert, key);
  CommandResult r = UnlockThrough(server.endpoint());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("was issued by 'CN=some other CA'"));
  EXPECT_THAT(r.output, Not(HasSubstr("check the clock")));
}

TEST_F(BrokerCertificateTest, ACertificateNotYetValidSaysToCheckTheClock) {
  auto [cert, key] = IssueServerCert(broker_->Path("ca.pem"), broker_->Path("ca.key"), 2 * 86400);
  TlsServer server(cert, key);
  CommandResult r = UnlockThrough(server.endpoint());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("is not valid before"));
  EXPECT_THAT(r.output, HasSubstr("this guest's clock reads"));
  EXPECT_THAT(r.output, HasSubstr("check the clock"));
  EXPECT_THAT(r.output, Not(HasSubstr("retrying")));
}

}  // namespace
}  // namespace kb
