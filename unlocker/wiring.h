#ifndef KB_UNLOCKER_WIRING_H_
#define KB_UNLOCKER_WIRING_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "unlocker/attesting/attesting_tpm.h"
#include "unlocker/cli/args.h"
#include "unlocker/esys/esys_tpm.h"
#include "unlocker/evidence/snp_report_source.h"
#include "unlocker/flow/ak_activation_flow.h"
#include "unlocker/flow/key_retrieval.h"
#include "unlocker/tpm/tpm.h"
#include "unlocker/volume/volume.h"

namespace kb::kbunlock {

// kbunlock's composition root: the real components (ESYS TPM, libcryptsetup volume, gRPC
// clients over TLS) built from the command line's flags, and the process-wide deadline.
// Flag errors are usage errors (exit code kUsage); components that fail to open carry their
// exit code (exit_codes.h).

// One line to stderr, prefixed "kbunlock: ".
void Say(const std::string& line);

// INVALID_ARGUMENT with exit code kUsage.
absl::Status Usage(absl::string_view why);

// --deadline SECONDS: a hard bound on the whole command. When it passes the process says so
// and exits with the "broker unreachable" code; nothing was activated (activation is the last,
// local step). Connections and retries below respect it.
absl::Status ArmDeadline(const ParsedArgs& a);

// The value of `flag`; a usage error naming the command when it is missing.
absl::StatusOr<std::string> Required(const ParsedArgs& a, const std::string& flag);

// The TPM of --tcti with the AK at --ak-handle (exit code kTpmUnavailable when it cannot open).
absl::StatusOr<std::unique_ptr<Tpm>> OpenTpm(const ParsedArgs& a);

// The TPM opened with the AK of the evidence kind `--evidence` names (or auto-detection finds),
// and the evidence sources over it; no TPM on a bare SEV-SNP/TDX guest (attesting_tpm.h).
// `tokens_decide`: an unlock without --evidence, where each volume's token names its kind;
// `tokens` are those tokens when known (KindToOpenFor).
absl::StatusOr<AttestingTpm> OpenAttestingTpm(const ParsedArgs& a, bool tokens_decide,
                                              const std::vector<KeybrokerToken>& tokens = {});

// The SEV-SNP guest device at `path` (--sev-guest): the sev-guest driver's in kbunlock
// (sev_guest_device.cc); a test binary links a software SEV-SNP firmware in its place
// (tests/fakes/software_sev_guest.h), so the whole of kbunlock runs where no SEV-SNP exists.
absl::StatusOr<std::unique_ptr<SevGuestDevice>> OpenSevGuestDevice(const std::string& path);

// The LUKS2 volume of --device (exit code kVolumeError when it cannot open).
absl::StatusOr<std::unique_ptr<Volume>> OpenVolume(const ParsedArgs& a);
absl::StatusOr<std::unique_ptr<Volume>> OpenVolume(const std::string& device);

// Connections to the release service that time out after --timeout seconds (default 10), or
// earlier when the --deadline is closer, so a black-holed broker cannot eat the time the
// offline copy needs.
absl::StatusOr<BrokerConnector> Connector(const ParsedArgs& a, const std::string& ca_pem);

// With --deadline, keep retrying the brokers until the time left is what the offline copy and
// the activation need (a quarter of the deadline, at most 10 s).
RetryPolicy BootRetry();

// --network-ready-file FILE: the first attempt to reach a broker waits until FILE exists (the
// boot script creates it once its network bring-up has ended), at most until `retry` would give
// up, or 60 s without a --deadline. Everything before that (the volume, the TPM or TEE) is done
// meanwhile, and --offline-after counts from then. Without the flag `retry` is unchanged.
void WaitForNetworkReadyFile(const ParsedArgs& a, RetryPolicy& retry);

// The initramfs script's handshake (docs/boot.md), in two steps around the flag and CA checks,
// both before the TPM is opened; neither does anything without --attester-wait or
// --network-request-file.
// 1. The tokens of `volumes` (empty without those flags). With none: the first error of a
//    volume that could not be read (exit code kVolumeError), else NOT_FOUND or the "not LUKS2"
//    error, tagged kNoToken (exit 6, silent with --quiet-if-no-token).
absl::StatusOr<std::vector<KeybrokerToken>> BootTokens(
    const ParsedArgs& a, const std::vector<absl::StatusOr<std::unique_ptr<Volume>>>& volumes);
// 2. Waits for the attesters `tokens` need, at most --attester-wait SECONDS (default 10) and
//    never past --deadline (WaitForAttesters), then writes to --network-request-file FILE.
absl::Status AwaitAttestersAndAskForNetwork(const ParsedArgs& a,
                                            const std::vector<KeybrokerToken>& tokens);

// The EK activation (--ak-trust ek) over the attesting TPM, with the release client's timeouts.
absl::StatusOr<AkActivator> EkActivator(const ParsedArgs& a, const std::string& ca_pem,
                                        EsysTpm& tpm);

// The broker CA file of --ca (default /etc/keybroker/ca.pem), and its contents (a usage error
// when unreadable).
std::string CaFile(const ParsedArgs& a);
absl::StatusOr<std::string> ReadCa(const ParsedArgs& a);

}  // namespace kb::kbunlock

#endif  // KB_UNLOCKER_WIRING_H_
