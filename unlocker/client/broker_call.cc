#include "unlocker/client/broker_call.h"

#include <openssl/x509_vfy.h>

#include <algorithm>

#include "unlocker/client/key_release_client.h"
#include "unlocker/client/tls_diagnosis.h"
#include "unlocker/unary_grpc/tls_connection.h"

namespace kb {
namespace {

std::string WhyCertificateRejected(const BrokerEndpoint& broker, const absl::Status& s,
                                   int verify_error) {
  if (verify_error == X509_V_ERR_HOSTNAME_MISMATCH ||
      verify_error == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    return absl::StrCat("the broker's certificate does not list the name or address ",
                        broker.address.substr(0, broker.address.rfind(':')),
                        " that this guest dials (its subjectAltName must)");
  }
  std::string chain;
  if (const auto payload = s.GetPayload(unary_grpc::kPeerChainPayload); payload.has_value()) {
    chain = std::string(*payload);
  }
  std::string why =
      chain.empty() ? ""
                    : ExplainCertificateFailure(chain, broker.ca_pem, broker.ca_file, absl::Now());
  return why.empty() ? std::string(s.message()) : why;
}

}  // namespace

absl::Status BrokerCallError(const BrokerEndpoint& broker, const absl::Status& s) {
  if (std::optional<int> verify_error = unary_grpc::CertificateVerifyError(s)) {
    return BrokerCertificateError(broker.address, WhyCertificateRejected(broker, s, *verify_error));
  }
  const bool unreachable = IsTransportFailure(s);
  return absl::Status(s.code(), absl::StrCat("broker ", broker.address,
                                             unreachable ? " unreachable: " : ": ", s.message()));
}

absl::StatusOr<std::unique_ptr<unary_grpc::UnaryChannel>> BrokerChannel(
    const BrokerEndpoint& broker) {
  auto channel = unary_grpc::UnaryChannel::Create(broker.address, broker.ca_pem);
  if (!channel.ok()) {
    return BrokerCallError(broker, absl::Status(channel.status().code(),
                                                absl::StrCat("no channel (CA file ", broker.ca_file,
                                                             "): ", channel.status().message())));
  }
  return channel;
}

}  // namespace kb
