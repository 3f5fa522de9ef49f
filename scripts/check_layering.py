#!/usr/bin/env python3
"""Checks that the folder tree is the architecture (docs/architecture.md, "Layering").

Every folder of common/, keybroker/ and unlocker/ that holds sources is a module. A module may
include headers of its own folder and of the modules listed for it below, nothing else; the
table itself must be acyclic. Only the modules marked GRPC may include gRPC headers. Production
code never includes tests/ or bench/. A new folder fails the check until it is placed here.

Usage: scripts/check_layering.py [SOURCE_DIR]. Exit status 1 lists every violation.
"""
import os
import re
import sys

COMMON = ["common"]
TPM = ["common", "common/tpm"]
VERIFIER = ["common", "keybroker/store", "keybroker/verifiers/api"]

# module -> modules it may include. Read a row as "is built on".
ALLOWED = {
    "common": [],
    "common/tpm": COMMON,
    "common/wrap": TPM,
    "common/grpc": COMMON,
    "common/json": COMMON,
    "common/sync": [],
    # Broker, bottom up.
    "keybroker/store": ["common", "common/sync"],
    "keybroker/store/postgres": ["common", "keybroker/store"],
    "keybroker/kek": ["common", "common/sync", "keybroker/store"],
    "keybroker/verifiers/api": COMMON,
    "keybroker/verifiers/tpm": VERIFIER + ["common/tpm"],
    "keybroker/verifiers/snp": VERIFIER + ["common/sync"],
    "keybroker/verifiers/tdx": VERIFIER,
    "keybroker/verifiers/azure": VERIFIER + ["common/tpm", "keybroker/verifiers/snp",
                                             "keybroker/verifiers/tdx", "keybroker/verifiers/tpm"],
    "keybroker/collateral": ["common", "keybroker/store", "keybroker/verifiers/snp",
                             "keybroker/verifiers/tdx"],
    "keybroker/verifiers": VERIFIER + ["keybroker/collateral", "keybroker/verifiers/tpm",
                                       "keybroker/verifiers/snp",
                                       "keybroker/verifiers/tdx", "keybroker/verifiers/azure"],
    "keybroker/policy": ["common", "keybroker/verifiers/api"],
    "keybroker/service": ["common", "common/sync", "common/tpm", "common/wrap",
                          "keybroker/policy", "keybroker/store", "keybroker/verifiers/api"],
    "keybroker/admin": ["common", "common/tpm", "keybroker/collateral", "keybroker/policy",
                        "keybroker/service", "keybroker/store", "keybroker/verifiers/api"],
    "keybroker/config": ["common", "common/json", "keybroker/service"],
    "keybroker/ak_activation": ["common", "common/grpc", "common/sync", "common/tpm",
                                "keybroker/store"],
    "keybroker/metrics": ["common", "keybroker/admin", "keybroker/service", "keybroker/store"],
    "keybroker/server": ["common", "common/grpc", "common/sync", "keybroker/admin",
                         "keybroker/ak_activation", "keybroker/service"],
    "keybroker/ctl": ["common", "common/grpc", "common/json", "common/tpm", "keybroker/policy",
                      "keybroker/verifiers/api", "keybroker/verifiers",
                      "keybroker/verifiers/tpm", "keybroker/verifiers/azure"],
    # keybrokerd's composition root.
    "keybroker": ["common", "common/grpc", "keybroker/store", "keybroker/store/postgres",
                  "keybroker/kek", "keybroker/verifiers",
                  "keybroker/verifiers/api", "keybroker/collateral",
                  "keybroker/config", "keybroker/service", "keybroker/admin",
                  "keybroker/ak_activation", "keybroker/server", "keybroker/metrics"],
    # Guest, bottom up.
    "unlocker/exit": COMMON,
    "unlocker/volume": COMMON,
    "unlocker/luks": ["common", "unlocker/volume"],
    "unlocker/tpm": COMMON,
    "unlocker/esys": TPM + ["common/wrap", "unlocker/tpm"],
    "unlocker/evidence": TPM + ["common/wrap", "unlocker/tpm"],
    "unlocker/attesting": ["common", "unlocker/esys", "unlocker/evidence", "unlocker/exit",
                           "unlocker/tpm"],
    "unlocker/client": ["common", "unlocker/unary_grpc"],
    "unlocker/unary_grpc": COMMON,
    "unlocker/flow": TPM + ["common/wrap", "unlocker/client", "unlocker/evidence",
                            "unlocker/exit", "unlocker/tpm", "unlocker/volume"],
    "unlocker/cli": ["common", "unlocker/luks", "unlocker/volume"],
    "unlocker/boot": ["common", "unlocker/exit", "unlocker/volume"],
    # The libcryptsetup token plugin: libcryptsetup's entry points (the plugin's composition
    # root, keybroker_token_plugin.cc) over the unlocker's flows.
    "unlocker/token_plugin": ["common", "unlocker/attesting", "unlocker/client", "unlocker/exit",
                              "unlocker/flow", "unlocker/volume"],
    # kbunlock's composition root.
    "unlocker": ["common", "unlocker/attesting", "unlocker/boot", "unlocker/cli",
                 "unlocker/client", "unlocker/evidence", "unlocker/exit", "unlocker/flow",
                 "unlocker/esys", "unlocker/luks", "unlocker/tpm", "unlocker/volume"],
}

# The only modules that may include gRPC (grpcpp/, *.grpc.pb.h): adapters, clients, roots.
GRPC = {"common/grpc", "keybroker/ak_activation", "keybroker/server", "keybroker/ctl",
        "keybroker"}

INCLUDE = re.compile(r'^\s*#\s*include\s+[<"]([^">]+)[">]')
ROOTS = ("common", "keybroker", "unlocker")


def module_of(header, modules):
    """The module a project header belongs to (its folder), or None for other headers."""
    folder = os.path.dirname(header)
    return folder if folder in modules else None


def find_cycle(graph):
    state = {}

    def visit(node, path):
        state[node] = "open"
        for dep in graph[node]:
            if state.get(dep) == "open":
                return path + [node, dep]
            if dep not in state:
                found = visit(dep, path + [node])
                if found:
                    return found
        state[node] = "done"
        return None

    for node in graph:
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    os.chdir(src)
    errors = []
    for module, deps in ALLOWED.items():
        for dep in deps:
            if dep not in ALLOWED:
                errors.append(f"table: {module} lists unknown module {dep}")
    cycle = find_cycle({m: [d for d in ds if d in ALLOWED] for m, ds in ALLOWED.items()})
    if cycle:
        errors.append("table: cycle " + " -> ".join(cycle))
    files = 0
    for root in ROOTS:
        for folder, dirs, names in os.walk(root):
            dirs.sort()
            sources = sorted(n for n in names if n.endswith((".h", ".cc", ".cc.in")))
            if not sources:
                continue
            if folder not in ALLOWED:
                errors.append(f"{folder}/: a module folder not in scripts/check_layering.py")
                continue
            for name in sources:
                files += 1
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        header = m.group(1)
                        where = f"{path}:{number}: {header}"
                        if header.startswith(("tests/", "bench/")):
                            errors.append(f"{where}: production code includes test code")
                        if (header.startswith("grpcpp/") or header.endswith(".grpc.pb.h")) and \
                                folder not in GRPC:
                            errors.append(f"{where}: gRPC outside the adapters and clients")
                        target = module_of(header, ALLOWED)
                        if target and target != folder and target not in ALLOWED[folder]:
                            errors.append(f"{where}: {folder} may not include {target}")
    for e in errors:
        print(e)
    print(f"layering: {files} files in {len(ALLOWED)} modules, {len(errors)} violation(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
