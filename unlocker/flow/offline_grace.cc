#include "unlocker/flow/offline_grace.h"

#include "absl/strings/str_cat.h"
#include "common/crypto.h"

namespace kb {

std::string VtpmId(Tpm& tpm) {
  auto ak = tpm.AttestationKeyPublic();
  return ak.ok() ? HexEncode(Sha256(*ak).substr(0, 16)) : std::string();
}

bool IsAnotherVtpm(absl::string_view now, const KeybrokerToken& token) {
  return !token.vtpm.empty() && !now.empty() && now != token.vtpm;
}

void RefreshOfflineCopy(Volume& volume, Tpm& tpm, KeybrokerToken token, const SecretBytes& key,
                        uint32_t boots, const Progress& progress) {
  if (boots == 0) {
    if (!token.offline.has_value()) return;
    token.offline.reset();
    absl::Status s = volume.WriteToken(token).status();
    progress(s.ok() ? "dropped the offline copy (the policy grants no offline boots)"
                    : absl::StrCat("could not drop the offline copy: ", s.message()));
    return;
  }
  auto sealed = tpm.SealOffline(key, token.pcrs, boots);
  if (!sealed.ok()) {
    progress(absl::StrCat("could not seal an offline copy: ", sealed.status().message()));
    return;
  }
  token.offline = OfflineSeal{std::move(sealed->blob), sealed->nv_index, sealed->limit,
                              std::move(sealed->pcrs)};
  token.vtpm = VtpmId(tpm);  // the copy opens only on this vTPM
  absl::Status s = volume.WriteToken(token).status();
  progress(
      s.ok() ? absl::StrCat("sealed an offline copy in the vTPM: ", boots, " offline boots allowed")
             : absl::StrCat("could not store the offline copy: ", s.message()));
}

absl::StatusOr<SecretBytes> UnsealOfflineCopy(Tpm& tpm, const KeybrokerToken& token,
                                              uint64_t* remaining) {
  if (!token.offline.has_value()) {
    return absl::FailedPreconditionError("no offline copy (the policy grants no offline boots)");
  }
  if (!token.vtpm.empty() && IsAnotherVtpm(VtpmId(tpm), token)) {
    return absl::FailedPreconditionError(
        "unavailable on this vTPM: the copy was sealed by the vTPM the volume was enrolled on");
  }
  const OfflineSeal& o = *token.offline;
  return tpm.UnsealOffline(SealedKey{o.blob, o.nv_index, o.limit, o.pcrs}, remaining);
}

}  // namespace kb
