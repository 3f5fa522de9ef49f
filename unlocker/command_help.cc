#include "unlocker/command_help.h"

#include <iterator>
#include <string>

namespace kb::kbunlock {
namespace {

constexpr char kTpmOptions[] = R"(TPM options:
  --tcti TCTI              TPM access (default device:/dev/tpmrm0)
  --ak-handle HANDLE       persistent attestation key (default 0x81000100)
)";

struct Help {
  absl::string_view command;
  const char* text;
};

constexpr Help kHelp[] = {
    {"enroll", R"(usage: kbunlock enroll --device DEV --broker HOST:PORT[,HOST:PORT...] --key-id ID
                       --passphrase-file FILE|- [options] [TPM options]
Adds a keyslot for the broker's key ID to the LUKS2 volume DEV (the passphrase authorises it)
and a keybroker token that records how to get the key again.
  --broker LIST            brokers to enrol through (first that answers)
  --token-broker LIST      brokers recorded in the token (default: --broker)
  --ca FILE                the brokers' CA (default /etc/keybroker/ca.pem)
  --pcrs LIST              SHA-256 PCRs the guest quotes (default 0,7)
  --transfer-key KIND      ecc-p256 (default), rsa-2048, rsa-3072
  --evidence KIND          auto (default), tpm, azure, snp, tdx; recorded in the token
  --ak-trust registered|ek how the broker trusts the AK (default registered)
  --replace                enrol again over an existing keybroker token
  --sev-guest PATH  --tsm-report-dir DIR  --azure-ak-handle HANDLE  --azure-vcek FILE
  --timeout SECONDS per broker call (default 10); --deadline SECONDS for the whole command
)"},
    {"unlock",
     R"(usage: kbunlock unlock (--device DEV (--name NAME | --test) | --crypttab NAME | --all [--test])
                       [options] [TPM options]
Attests, receives the key from the first broker that releases it (or uses the vTPM-sealed
offline copy when none answers) and opens the volume as /dev/mapper/NAME; --test only checks
that the key opens a keyslot. --crypttab NAME takes the volume from /etc/crypttab; --all
opens every locked volume with a keybroker token.
  --ca FILE                the brokers' CA (default /etc/keybroker/ca.pem)
  --deadline SECONDS       hard bound on the whole command
  --offline-after SECONDS  use the offline copy once no broker answered this long (default 10)
  --network-ready-file F   open the volume and the TPM or TEE first, then wait until F exists
                           (the boot script's network is up) before reaching a broker;
                           --offline-after counts from then
  --attester-wait SECONDS  before the TPM or TEE is opened, wait up to SECONDS (default 10)
                           for the devices the tokens attest with; exit 5 when none came
  --network-request-file F write "network" to F (the boot script's FIFO) once a token and a
                           device to attest with are there; exit 6 with no token
  --crypttab-file FILE     instead of /etc/crypttab
  --evidence KIND          override the token's evidence kind
  --quiet-if-no-token      exit 6 silently when the volume has no keybroker token
  --timeout SECONDS per broker call (default 10)
)"},
    {"rekey", R"(usage: kbunlock rekey --device DEV [--ca FILE] [TPM options]
Re-enrols the volume to the broker's newest key version (as unlock does when it learns of
one) without opening it.
)"},
    {"status",
     R"(usage: kbunlock status --device DEV [--json | --quiet-if-no-token [--evidence-kinds]]
Lists the volume's keyslots and keybroker tokens (no secrets).
  --json                   one JSON object for scripts (docs/kbunlock.md)
  --quiet-if-no-token      print nothing; exit 6 when there is no keybroker token, else 0
  --evidence-kinds         with --quiet-if-no-token: each token's evidence kind, one per line
)"},
    {"attestation-key", R"(usage: kbunlock attestation-key --out FILE [TPM options]
Writes the attestation key's public area (created on first use) for
`keybrokerctl ak register`.
)"},
};

// Each text above ends with the TPM options where the command takes them.
const char* const kWithTpmOptions[] = {"enroll", "unlock", "rekey", "attestation-key"};

}  // namespace

const char* CommandHelp(absl::string_view command) {
  static const std::string* texts = [] {
    auto* out = new std::string[std::size(kHelp)];
    for (size_t i = 0; i < std::size(kHelp); ++i) {
      out[i] = kHelp[i].text;
      for (const char* c : kWithTpmOptions) {
        if (kHelp[i].command == c) out[i] += kTpmOptions;
      }
    }
    return out;
  }();
  for (size_t i = 0; i < std::size(kHelp); ++i) {
    if (kHelp[i].command == command) return texts[i].c_str();
  }
  return nullptr;
}

}  // namespace kb::kbunlock
