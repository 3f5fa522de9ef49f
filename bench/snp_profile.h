#ifndef KB_BENCH_SNP_PROFILE_H_
#define KB_BENCH_SNP_PROFILE_H_

#include "bench/load.h"

namespace kb {

// The SEV-SNP profile of issue 13: releases with SEV-SNP evidence, against their own crypto
// floor, with the kept-open target. tests/fakes/make_fake_snp.sh makes a test VCEK (P-384)
// under an ASK and ARK of RSA-4096, as AMD's are; a keybrokerd trusts that chain
// (amd_chain_file) and releases key "bench" to the chip and measurement of the template
// report. cfg.clients guests (SoftwareSevGuest firmware behind kbunlock's SnpReportSource, a
// fresh P-256 transfer key per release, the VCEK in the certificate table as a host provides
// it) load it on kept-open connections. The floor is what a release cannot avoid once the
// VCEK's chain is known: the report's P-384 signature and the wrap to the transfer key.
// Returns the process exit code.
int RunSnpProfile(const LoadConfig& cfg);

}  // namespace kb

#endif  // KB_BENCH_SNP_PROFILE_H_
