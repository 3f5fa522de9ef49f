# Every external dependency is found here, and only here. Debian 12 packages only.
find_package(PkgConfig REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(Threads REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(Protobuf REQUIRED)  # module mode: Debian ships no protobuf-config.cmake
find_package(gRPC CONFIG REQUIRED)
find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)  # metrics (keybroker/metrics)

pkg_check_modules(TSS2 REQUIRED IMPORTED_TARGET tss2-esys tss2-mu tss2-tctildr tss2-rc)
pkg_check_modules(TSS2_MU REQUIRED IMPORTED_TARGET tss2-mu)
pkg_check_modules(CRYPTSETUP REQUIRED IMPORTED_TARGET libcryptsetup)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(P11KIT REQUIRED IMPORTED_TARGET p11-kit-1)
pkg_check_modules(NGHTTP2 REQUIRED IMPORTED_TARGET libnghttp2)

if(KB_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
