#ifndef KB_KEYBROKER_STORE_COLLATERAL_STORE_H_
#define KB_KEYBROKER_STORE_COLLATERAL_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kb {

// Kinds of cached collateral (CollateralRecord.kind, CollateralEntry.kind).
inline constexpr absl::string_view kCollateralVcek = "vcek";
inline constexpr absl::string_view kCollateralVlek = "vlek";
inline constexpr absl::string_view kCollateralIntelTcbSigning = "intel_tcb_signing";
inline constexpr absl::string_view kCollateralIntelPckCa = "intel_pck_ca";
inline constexpr absl::string_view kCollateralTdxTcbInfo = "tdx_tcb_info";
inline constexpr absl::string_view kCollateralTdxQeIdentity = "tdx_qe_identity";
inline constexpr absl::string_view kCollateralCrl = "crl";

// One item of the operator-managed collateral cache (keybrokerctl collateral import), as
// recognised and verified at import (keybroker/collateral/collateral_recognizer.h).
struct CollateralRecord {
  std::string id;          // 16 hex digits of SHA-256(content)
  std::string kind;        // "vcek", "vlek", "tdx_tcb_info", ... (CollateralEntry.kind)
  std::string slot;        // entries with the same kind and slot replace each other
  std::string lookup_key;  // what verifiers look it up by (hwID hex, FMSPC hex, ...)
  std::string identity;    // one line for people
  std::string name;        // the operator's name for it (file name); may be empty
  absl::Time not_before;   // notBefore / issueDate / thisUpdate
  absl::Time not_after;    // notAfter / nextUpdate
  absl::Time imported_at;
  std::string content;  // the bytes as imported
};

// Read side of the cache, for verifiers. Thread-safe; UNAVAILABLE when the store is down.
class CollateralSource {
 public:
  virtual ~CollateralSource() = default;
  // The entries of `kind` whose lookup key is `lookup_key` (every entry of `kind` when it is
  // empty), newest not_before first.
  virtual absl::StatusOr<std::vector<CollateralRecord>> FindCollateral(
      absl::string_view kind, absl::string_view lookup_key) = 0;
};

// The cache itself. Thread-safe; UNAVAILABLE when the store is down.
class CollateralStore : public CollateralSource {
 public:
  // Stores `record`, replacing the entry with the same kind and slot (read and replaced in one
  // transaction). When there is one, `check_replace(existing, record)` may refuse the
  // replacement: its error is returned and nothing changes. Returns the replaced entry.
  virtual absl::StatusOr<std::optional<CollateralRecord>> PutCollateral(
      const CollateralRecord& record,
      absl::Status (*check_replace)(const CollateralRecord& existing,
                                    const CollateralRecord& incoming)) = 0;
  // Every entry, by kind then identity.
  virtual absl::StatusOr<std::vector<CollateralRecord>> ListCollateral() = 0;
  // Removes entry `id` and returns it. NOT_FOUND if there is none.
  virtual absl::StatusOr<CollateralRecord> DeleteCollateral(absl::string_view id) = 0;
};

}  // namespace kb

#endif  // KB_KEYBROKER_STORE_COLLATERAL_STORE_H_
