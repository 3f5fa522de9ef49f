#include "unlocker/client/tls_diagnosis.h"

#include <openssl/x509_vfy.h>

#include <memory>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/openssl_util.h"

namespace kb {
namespace {

constexpr char kCertificateErrorType[] = "kb.unlocker/broker-certificate";

using StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX_free>>;

std::string Utc(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

std::string Subjects(const std::vector<X509Ptr>& certs) {
  std::vector<std::string> names;
  for (const X509Ptr& c : certs)
    names.push_back(absl::StrCat("'", NameText(X509_get_subject_name(c.get())), "'"));
  return absl::StrJoin(names, ", ");
}

// For a certificate whose chain verifies: what is wrong with its dates at `now`, if anything.
std::string DatesAtTheClock(X509* leaf, absl::Time now) {
  const absl::Time not_before = Asn1Time(X509_get0_notBefore(leaf), absl::InfiniteFuture());
  const absl::Time not_after = Asn1Time(X509_get0_notAfter(leaf), absl::InfinitePast());
  if (now >= not_before && now <= not_after) return "";
  return absl::StrCat(
      "the broker's certificate ", now < not_before ? "is not valid before " : "expired at ",
      Utc(now < not_before ? not_before : not_after), " and this guest's clock reads ", Utc(now),
      ": check the clock (confidential VMs can boot with a wrong one)",
      now < not_before ? "" : " or have the broker's certificate renewed");
}

}  // namespace

std::string ExplainCertificateFailure(const std::string& chain_pem, const std::string& ca_pem,
                                      const std::string& ca_file, absl::Time now) {
  auto chain = ReadPemCertificates(chain_pem);
  auto cas = ReadPemCertificates(ca_pem);
  if (!chain.ok() || chain->empty() || !cas.ok()) return "";
  X509* leaf = chain->front().get();
  StorePtr store(X509_STORE_new());
  for (const X509Ptr& ca : *cas) X509_STORE_add_cert(store.get(), ca.get());
  std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> untrusted(
      sk_X509_new_null(), [](STACK_OF(X509) * s) { sk_X509_free(s); });
  for (size_t i = 1; i < chain->size(); ++i) sk_X509_push(untrusted.get(), (*chain)[i].get());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1) return "";
  // The issuer first: a certificate from another CA is the wrong CA whatever its dates say
  // (and the clock is not to blame for it).
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_NO_CHECK_TIME);
  if (X509_verify_cert(ctx.get()) == 1) return DatesAtTheClock(leaf, now);
  const int err = X509_STORE_CTX_get_error(ctx.get());
  return absl::StrCat("the broker's certificate '", NameText(X509_get_subject_name(leaf)),
                      "' was issued by '", NameText(X509_get_issuer_name(leaf)),
                      "', and the CA file ", ca_file, " holds ", Subjects(*cas), " (",
                      X509_verify_cert_error_string(err),
                      "): the broker or this guest is configured with the wrong CA");
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
