#include "unlocker/client/tls_diagnosis.h"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/openssl_util.h"

namespace kb {
namespace {

constexpr char kCertificateErrorType[] = "kb.unlocker/broker-certificate";

using SslCtxPtr = std::unique_ptr<SSL_CTX, OpenSslDeleter<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OpenSslDeleter<SSL_free>>;
using StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX_free>>;

// A TCP connection to `endpoint` within `timeout`; -1 with `why` set otherwise.
int Connect(const std::string& endpoint, absl::Duration timeout, std::string& why) {
  const size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos) {
    why = "no port";
    return -1;
  }
  std::string host = endpoint.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int e = getaddrinfo(host.c_str(), endpoint.c_str() + colon + 1, &hints, &found); e != 0) {
    why = gai_strerror(e);
    return -1;
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> list(found, &freeaddrinfo);
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    why = strerror(errno);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int err = 0;
  socklen_t len = sizeof(err);
  if ((connect(fd, found->ai_addr, found->ai_addrlen) != 0 && errno != EINPROGRESS) ||
      poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) != 1 ||
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    why = err != 0 ? strerror(err) : "no connection";
    close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  timeval tv{static_cast<time_t>(absl::ToInt64Seconds(timeout)), 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return fd;
}

std::string Utc(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

std::string Subjects(const std::vector<X509Ptr>& certs) {
  std::vector<std::string> names;
  for (const X509Ptr& c : certs)
    names.push_back(absl::StrCat("'", NameText(X509_get_subject_name(c.get())), "'"));
  return absl::StrJoin(names, ", ");
}

}  // namespace

std::string ExplainCertificateFailure(const std::string& chain_pem, const std::string& ca_pem,
                                      const std::string& ca_file, absl::Time now) {
  auto chain = ReadPemCertificates(chain_pem);
  auto cas = ReadPemCertificates(ca_pem);
  if (!chain.ok() || chain->empty() || !cas.ok()) return "";
  X509* leaf = chain->front().get();
  const absl::Time not_before = Asn1Time(X509_get0_notBefore(leaf), absl::InfiniteFuture());
  const absl::Time not_after = Asn1Time(X509_get0_notAfter(leaf), absl::InfinitePast());
  if (now < not_before || now > not_after) {
    return absl::StrCat(
        "the broker's certificate ", now < not_before ? "is not valid before " : "expired at ",
        Utc(now < not_before ? not_before : not_after), " and this guest's clock reads ", Utc(now),
        ": check the clock (confidential VMs can boot with a wrong one)",
        now < not_before ? "" : " or have the broker's certificate renewed");
  }
  StorePtr store(X509_STORE_new());
  for (const X509Ptr& ca : *cas) X509_STORE_add_cert(store.get(), ca.get());
  std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> untrusted(
      sk_X509_new_null(), [](STACK_OF(X509) * s) { sk_X509_free(s); });
  for (size_t i = 1; i < chain->size(); ++i) sk_X509_push(untrusted.get(), (*chain)[i].get());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1) return "";
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_NO_CHECK_TIME);
  if (X509_verify_cert(ctx.get()) == 1) return "";
  const int err = X509_STORE_CTX_get_error(ctx.get());
  return absl::StrCat("the broker's certificate '", NameText(X509_get_subject_name(leaf)),
                      "' was issued by '", NameText(X509_get_issuer_name(leaf)),
                      "', and the CA file ", ca_file, " holds ", Subjects(*cas), " (",
                      X509_verify_cert_error_string(err),
                      "): the broker or this guest is configured with the wrong CA");
}

absl::StatusOr<std::string> FetchServerChain(const std::string& endpoint, absl::Duration timeout) {
  std::string why;
  const int fd = Connect(endpoint, timeout, why);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("connect: ", why));
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SslPtr ssl(ctx ? SSL_new(ctx.get()) : nullptr);
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) {
    close(fd);
    return absl::InternalError("SSL_new");
  }
  SSL_set_verify(ssl.get(), SSL_VERIFY_NONE, nullptr);
  SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const unsigned char*>("\x02h2"), 3);
  const int handshake = SSL_connect(ssl.get());
  std::string pem;
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl.get()); chain != nullptr) {
    for (int i = 0; i < sk_X509_num(chain); ++i) pem += CertificatePem(sk_X509_value(chain, i));
  }
  (void)handshake;  // the chain is what is wanted, whatever the handshake's outcome
  ERR_clear_error();
  close(fd);
  if (pem.empty()) return absl::UnavailableError("the server presented no certificate");
  return pem;
}

absl::Status BrokerCertificateError(const std::string& endpoint, const std::string& why) {
  absl::Status s = absl::FailedPreconditionError(
      absl::StrCat("broker ", endpoint, ": TLS certificate not accepted: ", why));
  s.SetPayload(kCertificateErrorType, absl::Cord("1"));
  return s;
}

bool IsBrokerCertificateError(const absl::Status& status) {
  return status.GetPayload(kCertificateErrorType).has_value();
}

}  // namespace kb
