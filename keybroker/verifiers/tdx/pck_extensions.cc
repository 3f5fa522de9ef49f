#include "keybroker/verifiers/tdx/pck_extensions.h"

#include <openssl/objects.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace kb {
namespace tdx {
namespace {

constexpr char kSgxExtensionOid[] = "1.2.840.113741.1.13.1";
// DER content of OID 1.2.840.113741.1.13.1.
constexpr absl::string_view kSgxOidBytes("\x2a\x86\x48\x86\xf8\x4d\x01\x0d\x01", 9);
constexpr uint8_t kTagInteger = 0x02;
constexpr uint8_t kTagOctetString = 0x04;
constexpr uint8_t kTagOid = 0x06;
constexpr uint8_t kTagSequence = 0x30;

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("PCK SGX extension: ", what));
}

struct Tlv {
  uint8_t tag = 0;
  absl::string_view value;
};

// Reads one DER TLV from the front of `in` (definite lengths up to 4 bytes).
absl::StatusOr<Tlv> ReadTlv(absl::string_view& in) {
  if (in.size() < 2) return Malformed("truncated TLV");
  Tlv t;
  t.tag = static_cast<uint8_t>(in[0]);
  std::size_t len = static_cast<uint8_t>(in[1]);
  std::size_t pos = 2;
  if (len & 0x80) {
    std::size_t n = len & 0x7f;
    if (n == 0 || n > 4 || in.size() < 2 + n) return Malformed("bad length encoding");
    len = 0;
    for (std::size_t i = 0; i < n; ++i) len = (len << 8) | static_cast<uint8_t>(in[2 + i]);
    pos += n;
  }
  if (len > in.size() - pos) return Malformed("length runs past the extension");
  t.value = in.substr(pos, len);
  in.remove_prefix(pos + len);
  return t;
}

absl::StatusOr<Tlv> Expect(absl::string_view& in, uint8_t tag, absl::string_view what) {
  ASSIGN_OR_RETURN(Tlv t, ReadTlv(in));
  if (t.tag != tag) return Malformed(absl::StrCat(what, " has an unexpected tag"));
  return t;
}

absl::StatusOr<uint32_t> DerUnsigned(absl::string_view v, uint32_t max, absl::string_view what) {
  if (v.empty() || (static_cast<uint8_t>(v[0]) & 0x80))
    return Malformed(absl::StrCat(what, " is not a non-negative INTEGER"));
  if (v.size() > 1 && v[0] == 0) v.remove_prefix(1);
  if (v.size() > 4) return Malformed(absl::StrCat(what, " is too large"));
  uint32_t x = 0;
  for (char c : v) x = (x << 8) | static_cast<uint8_t>(c);
  if (x > max) return Malformed(absl::StrCat(what, " is out of range"));
  return x;
}

// The TCB sequence: 16 component SVNs, PCESVN, CPUSVN (OIDs ...13.1.2.1 to .2.18).
absl::Status ReadTcb(absl::string_view in, PckCertInfo& info) {
  bool seen_pcesvn = false, seen_cpusvn = false;
  std::array<bool, 16> seen_comp{};
  while (!in.empty()) {
    ASSIGN_OR_RETURN(Tlv entry, Expect(in, kTagSequence, "TCB entry"));
    ASSIGN_OR_RETURN(Tlv oid, Expect(entry.value, kTagOid, "TCB entry OID"));
    ASSIGN_OR_RETURN(Tlv value, ReadTlv(entry.value));
    if (oid.value.size() != kSgxOidBytes.size() + 2 || !absl::StartsWith(oid.value, kSgxOidBytes) ||
        oid.value[kSgxOidBytes.size()] != 0x02) {
      continue;  // not a TCB component OID: ignore
    }
    uint8_t k = static_cast<uint8_t>(oid.value.back());
    if (k >= 1 && k <= 16 && value.tag == kTagInteger) {
      ASSIGN_OR_RETURN(uint32_t svn, DerUnsigned(value.value, 255, "TCB component SVN"));
      info.comp_svn[k - 1] = static_cast<uint8_t>(svn);
      seen_comp[k - 1] = true;
    } else if (k == 17 && value.tag == kTagInteger) {
      ASSIGN_OR_RETURN(uint32_t svn, DerUnsigned(value.value, 0xffff, "PCESVN"));
      info.pce_svn = static_cast<uint16_t>(svn);
      seen_pcesvn = true;
    } else if (k == 18 && value.tag == kTagOctetString && value.value.size() == 16) {
      info.cpu_svn = std::string(value.value);
      seen_cpusvn = true;
    }
  }
  for (bool s : seen_comp) {
    if (!s) return Malformed("TCB lacks a component SVN");
  }
  if (!seen_pcesvn || !seen_cpusvn) return Malformed("TCB lacks PCESVN or CPUSVN");
  return absl::OkStatus();
}

absl::Status ReadOctets(const Tlv& value, std::size_t size, std::string& out,
                        absl::string_view what) {
  if (value.tag != kTagOctetString || value.value.size() != size) {
    return Malformed(absl::StrCat(what, " must be a ", size, "-byte OCTET STRING"));
  }
  out = std::string(value.value);
  return absl::OkStatus();
}

absl::Status ReadTopLevelEntry(uint8_t k, const Tlv& value, PckCertInfo& info) {
  switch (k) {
    case 1:
      return ReadOctets(value, 16, info.ppid, "PPID");
    case 2:
      if (value.tag != kTagSequence) return Malformed("TCB must be a SEQUENCE");
      return ReadTcb(value.value, info);
    case 3:
      return ReadOctets(value, 2, info.pce_id, "PCE-ID");
    case 4:
      return ReadOctets(value, 6, info.fmspc, "FMSPC");
    default:
      return absl::OkStatus();  // SGX type, platform instance id, configuration: unused
  }
}

}  // namespace

absl::StatusOr<PckCertInfo> ParseSgxExtensionDer(absl::string_view der) {
  ASSIGN_OR_RETURN(Tlv outer, Expect(der, kTagSequence, "extension"));
  if (!der.empty()) return Malformed("trailing bytes after the extension");
  PckCertInfo info;
  absl::string_view in = outer.value;
  while (!in.empty()) {
    ASSIGN_OR_RETURN(Tlv entry, Expect(in, kTagSequence, "entry"));
    ASSIGN_OR_RETURN(Tlv oid, Expect(entry.value, kTagOid, "entry OID"));
    ASSIGN_OR_RETURN(Tlv value, ReadTlv(entry.value));
    if (oid.value.size() == kSgxOidBytes.size() + 1 && absl::StartsWith(oid.value, kSgxOidBytes)) {
      RETURN_IF_ERROR(ReadTopLevelEntry(static_cast<uint8_t>(oid.value.back()), value, info));
    }
  }
  if (info.ppid.empty() || info.cpu_svn.empty() || info.pce_id.empty() || info.fmspc.empty()) {
    return Malformed("PPID, TCB, PCE-ID or FMSPC missing");
  }
  return info;
}

absl::StatusOr<PckCertInfo> ParsePckExtensions(X509* cert) {
  for (int i = 0; i < X509_get_ext_count(cert); ++i) {
    X509_EXTENSION* ext = X509_get_ext(cert, i);
    char oid[64] = {0};
    if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1) <= 0) continue;
    if (absl::string_view(oid) != kSgxExtensionOid) continue;
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
    return ParseSgxExtensionDer(
        absl::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                          static_cast<std::size_t>(ASN1_STRING_length(data))));
  }
  return Malformed("PCK certificate has no SGX extension (1.2.840.113741.1.13.1)");
}

}  // namespace tdx
}  // namespace kb
