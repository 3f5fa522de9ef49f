#ifndef KB_UNLOCKER_EVIDENCE_AZURE_IMDS_H_
#define KB_UNLOCKER_EVIDENCE_AZURE_IMDS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kb {

// Azure Instance Metadata Service, where an Azure confidential VM gets its VCEK (THIM).
inline constexpr char kAzureImdsAddress[] = "169.254.169.254:80";
inline constexpr char kAzureThimPath[] = "/metadata/THIM/amd/certification";
// Where an Azure TDX confidential VM turns its TDREPORT into a TD quote (azure-cvm-tooling
// az-tdx-vtpm imds.rs): POST {"report": base64url(TDREPORT)} -> {"quote": base64url(quote)}.
inline constexpr char kAzureTdQuotePath[] = "/acc/tdquote";
inline constexpr size_t kTdReportBytes = 1024;

// The body of a plain-HTTP GET of `path` from `ipv4_port` ("a.b.c.d:port") with header
// "Metadata: true", every socket operation bounded by `timeout`. UNAVAILABLE when the service
// cannot be reached or times out; INTERNAL for a malformed response; FAILED_PRECONDITION for a
// status other than 200.
absl::StatusOr<std::string> ImdsGet(const std::string& ipv4_port, const std::string& path,
                                    absl::Duration timeout);

// The body of a plain-HTTP POST of `json_body` (Content-Type: application/json) to `path`,
// with ImdsGet()'s bounds and error codes.
absl::StatusOr<std::string> ImdsPostJson(const std::string& ipv4_port, const std::string& path,
                                         absl::string_view json_body, absl::Duration timeout);

// The /acc/tdquote request body for a 1024-byte TDREPORT: {"report":"<unpadded base64url>"}.
// INVALID_ARGUMENT for another size.
absl::StatusOr<std::string> TdQuoteRequestJson(absl::string_view td_report);

// The TD quote in an /acc/tdquote response ({"quote": "<base64url, padded or not>"}).
// INVALID_ARGUMENT if it is not that or the quote is empty.
absl::StatusOr<std::string> TdQuoteFromImdsJson(absl::string_view json);

// TdQuoteRequestJson, ImdsPostJson of the TD quote path, then TdQuoteFromImdsJson. A quote is
// made by the platform's quoting enclave, hence the longer default bound.
absl::StatusOr<std::string> FetchAzureTdQuote(absl::string_view td_report,
                                              const std::string& ipv4_port = kAzureImdsAddress,
                                              absl::Duration timeout = absl::Seconds(30));

// The VCEK PEM followed by the ASK+ARK chain from a THIM certification response
// ({"vcekCert": PEM, "certificateChain": PEM, ...}). INVALID_ARGUMENT if it is not that.
absl::StatusOr<std::string> VcekFromThimJson(absl::string_view json);

// ImdsGet of the THIM path, then VcekFromThimJson.
absl::StatusOr<std::string> FetchAzureVcek(const std::string& ipv4_port = kAzureImdsAddress,
                                           absl::Duration timeout = absl::Seconds(5));

}  // namespace kb

#endif  // KB_UNLOCKER_EVIDENCE_AZURE_IMDS_H_
