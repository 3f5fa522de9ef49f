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

// The body of a plain-HTTP GET of `path` from `ipv4_port` ("a.b.c.d:port") with header
// "Metadata: true", every socket operation bounded by `timeout`. UNAVAILABLE when the service
// cannot be reached or times out; INTERNAL for a malformed response; FAILED_PRECONDITION for a
// status other than 200.
absl::StatusOr<std::string> ImdsGet(const std::string& ipv4_port, const std::string& path,
                                    absl::Duration timeout);

// The VCEK PEM followed by the ASK+ARK chain from a THIM certification response
// ({"vcekCert": PEM, "certificateChain": PEM, ...}). INVALID_ARGUMENT if it is not that.
absl::StatusOr<std::string> VcekFromThimJson(absl::string_view json);

// ImdsGet of the THIM path, then VcekFromThimJson.
absl::StatusOr<std::string> FetchAzureVcek(const std::string& ipv4_port = kAzureImdsAddress,
                                           absl::Duration timeout = absl::Seconds(5));

}  // namespace kb

#endif  // KB_UNLOCKER_EVIDENCE_AZURE_IMDS_H_
