#include "keybroker/ctl/admin_client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <openssl/crypto.h>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"

namespace kb {
namespace {

// Reads a PEM file and requires a block labelled `label` (a BEGIN line ending in "CERTIFICATE"
// or "PRIVATE KEY"), so a swapped --ca/--key is reported here instead of as a TLS failure.
absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view flag,
                                    absl::string_view label) {
  absl::StatusOr<std::string> read = ReadFile(path);
  if (!read.ok()) {
    return absl::Status(read.status().code(), absl::StrCat(flag, ": ", read.status().message()));
  }
  std::string pem = std::move(read).value();
  if (pem.find("-----BEGIN ") == std::string::npos ||
      pem.find(absl::StrCat(label, "-----")) == std::string::npos) {
    OPENSSL_cleanse(pem.data(), pem.size());
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " ", path, ": not a PEM file holding a ", label));
  }
  return pem;
}

// FAILED_PRECONDITION unless the private key of `key_pem` is the one of the first certificate
// of `cert_pem` (a TLS handshake would otherwise fail with a message that names neither file).
absl::Status CheckKeyMatchesCertificate(const CtlConnection& conn, const std::string& cert_pem,
                                        const SecretBytes& key_pem) {
  auto cert = ParseCertificate(cert_pem);
  if (!cert.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--cert ", conn.cert_file, ": the certificate does not parse"));
  }
  auto key = ParsePemPrivateKey(key_pem.view());
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--key ", conn.key_file, ": the private key does not parse"));
  }
  if (!PrivateKeyMatches(cert->get(), key->get())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--key ", conn.key_file, " is not the private key of the certificate in --cert ",
        conn.cert_file, " (check that both files belong to the same operator certificate)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CtlTlsMaterial> LoadCtlTlsMaterial(const CtlConnection& conn) {
  CtlTlsMaterial tls;
  ASSIGN_OR_RETURN(tls.ca_pem, ReadPem(conn.ca_file, "--ca", "CERTIFICATE"));
  ASSIGN_OR_RETURN(tls.cert_pem, ReadPem(conn.cert_file, "--cert", "CERTIFICATE"));
  ASSIGN_OR_RETURN(std::string key, ReadPem(conn.key_file, "--key", "PRIVATE KEY"));
  tls.key_pem = SecretBytes::FromString(key);
  OPENSSL_cleanse(key.data(), key.size());
  RETURN_IF_ERROR(CheckKeyMatchesCertificate(conn, tls.cert_pem, tls.key_pem));
  return tls;
}

std::unique_ptr<AdminClient> AdminClient::Connect(const CtlConnection& conn,
                                                  const CtlTlsMaterial& tls) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls.ca_pem;
  options.pem_cert_chain = tls.cert_pem;
  options.pem_private_key = std::string(tls.key_pem.view());
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::SslCredentials(options);
  OPENSSL_cleanse(options.pem_private_key.data(), options.pem_private_key.size());

  grpc::ChannelArguments args;
  if (!conn.server_name.empty()) args.SetSslTargetNameOverride(conn.server_name);
  std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(conn.addr, creds, args);
  return std::make_unique<AdminClient>(v1::KeyAdmin::NewStub(channel), channel, conn.addr,
                                       conn.timeout);
}

absl::Status AdminClient::Explain(const grpc::Status& status) const {
  absl::Status s = FromGrpcStatus(status);
  // A status from the broker itself arrives over a READY channel; anything else means the
  // connection (TCP or TLS handshake) never came up.
  const bool connected =
      channel_ == nullptr || channel_->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY;
  if (s.code() == absl::StatusCode::kUnavailable && !connected) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach broker at ", addr_, ": ", s.message()));
  }
  if (s.code() == absl::StatusCode::kUnimplemented && s.message().empty()) {
    return absl::UnimplementedError(absl::StrCat(
        "the server at ", addr_,
        " does not serve the admin API (kb.v1.KeyAdmin): is this the broker's release port? "
        "keybrokerctl talks to the broker's admin_listen address"));
  }
  if (s.code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::DeadlineExceededError(absl::StrCat("no answer from broker at ", addr_, " within ",
                                                    absl::FormatDuration(timeout_), ": ",
                                                    s.message()));
  }
  return s;
}

}  // namespace kb
