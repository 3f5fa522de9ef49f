#include "unlocker/unary_grpc/unary_channel.h"

#include "absl/strings/str_cat.h"

namespace kb::unary_grpc {

absl::StatusOr<std::unique_ptr<UnaryChannel>> UnaryChannel::Create(std::string endpoint,
                                                                   absl::string_view ca_pem) {
  if (absl::StatusOr<HostPort> hp = SplitHostPort(endpoint); !hp.ok()) return hp.status();
  absl::StatusOr<SslCtxPtr> ctx = NewClientContext(ca_pem);
  if (!ctx.ok()) return ctx.status();
  return std::unique_ptr<UnaryChannel>(new UnaryChannel(std::move(endpoint), *std::move(ctx)));
}

absl::StatusOr<std::string> UnaryChannel::Call(absl::string_view path, absl::string_view request,
                                               absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (int attempt = 0;; ++attempt) {
    if (absl::Status s = EnsureConnected(deadline, timeout); !s.ok()) return s;
    absl::StatusOr<std::string> response = connection_->Call(path, request, deadline);
    const bool retry = !response.ok() && connection_->LastCallUnprocessed() && attempt == 0;
    if (retry || connection_->failed()) connection_.reset();
    if (!retry) return response;
  }
}

absl::Status UnaryChannel::EnsureConnected(absl::Time deadline, absl::Duration timeout) {
  if (connection_ != nullptr && connection_->ReadyForCall(deadline)) return absl::OkStatus();
  connection_.reset();
  absl::StatusOr<std::unique_ptr<TlsConnection>> tls =
      TlsConnection::Connect(ctx_.get(), endpoint_, deadline);
  if (!tls.ok() && absl::IsDeadlineExceeded(tls.status())) {
    return absl::UnavailableError(
        absl::StrCat("no connection within ", absl::FormatDuration(timeout)));
  }
  if (!tls.ok()) return tls.status();
  ++connections_;
  absl::StatusOr<std::unique_ptr<Http2Connection>> h2 =
      Http2Connection::Start(*std::move(tls), endpoint_);
  if (!h2.ok()) return h2.status();
  connection_ = *std::move(h2);
  return absl::OkStatus();
}

}  // namespace kb::unary_grpc
