#include "keybroker/verifiers/tdx/collateral.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "keybroker/verifiers/tdx/json_fields.h"
#include "keybroker/verifiers/tdx/json_span.h"

namespace kb {
namespace tdx {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;

struct SignedDocument {
  std::string signed_text;
  std::string signature;
  Struct body;
};

// Splits {"<member>":{...},"signature":"<hex r||s>"} into the signed text and signature.
absl::StatusOr<SignedDocument> ParseSignedDocument(absl::string_view json,
                                                   absl::string_view member) {
  if (json.size() > kMaxCollateralJsonSize) {
    return absl::InvalidArgumentError(absl::StrCat(member, ": document too large"));
  }
  SignedDocument doc;
  auto span = TopLevelValueSpan(json, member);
  if (!span.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(member, ": ", span.status().message()));
  }
  doc.signed_text = std::string(*span);
  ASSIGN_OR_RETURN(Struct top, ParseJsonObject(json, member));
  ASSIGN_OR_RETURN(doc.signature, GetHexBytes(top, "signature", 64, "document"));
  ASSIGN_OR_RETURN(doc.body, ParseJsonObject(doc.signed_text, member));
  return doc;
}

absl::StatusOr<std::array<uint8_t, 16>> ReadComponents(const Struct& tcb, absl::string_view name,
                                                       absl::string_view path) {
  ASSIGN_OR_RETURN(const ListValue* list, GetList(tcb, name, path));
  if (list->values_size() != 16) {
    return absl::InvalidArgumentError(absl::StrCat(path, ".", name, ": must have 16 entries"));
  }
  std::array<uint8_t, 16> out{};
  for (int i = 0; i < 16; ++i) {
    std::string p = absl::StrCat(path, ".", name, "[", i, "]");
    ASSIGN_OR_RETURN(const Struct* c, ListObject(*list, i, p));
    ASSIGN_OR_RETURN(int64_t svn, GetInt(*c, "svn", 0, 255, p));
    out[i] = static_cast<uint8_t>(svn);
  }
  return out;
}

absl::StatusOr<TcbLevel> ReadTcbLevel(const Struct& s, absl::string_view path) {
  TcbLevel level;
  ASSIGN_OR_RETURN(const Struct* tcb, GetObject(s, "tcb", path));
  std::string tp = absl::StrCat(path, ".tcb");
  ASSIGN_OR_RETURN(level.sgx_components, ReadComponents(*tcb, "sgxtcbcomponents", tp));
  ASSIGN_OR_RETURN(level.tdx_components, ReadComponents(*tcb, "tdxtcbcomponents", tp));
  ASSIGN_OR_RETURN(int64_t pce_svn, GetInt(*tcb, "pcesvn", 0, 0xffff, tp));
  level.pce_svn = static_cast<uint16_t>(pce_svn);
  ASSIGN_OR_RETURN(level.tcb_date, GetString(s, "tcbDate", path));
  ASSIGN_OR_RETURN(level.status, GetString(s, "tcbStatus", path));
  ASSIGN_OR_RETURN(level.advisory_ids, GetOptionalStringList(s, "advisoryIDs", path));
  return level;
}

absl::StatusOr<ModuleTcbLevel> ReadModuleLevel(const Struct& s, absl::string_view path) {
  ModuleTcbLevel level;
  ASSIGN_OR_RETURN(const Struct* tcb, GetObject(s, "tcb", path));
  ASSIGN_OR_RETURN(int64_t svn, GetInt(*tcb, "isvsvn", 0, 255, absl::StrCat(path, ".tcb")));
  level.isv_svn = static_cast<uint8_t>(svn);
  ASSIGN_OR_RETURN(level.tcb_date, GetString(s, "tcbDate", path));
  ASSIGN_OR_RETURN(level.status, GetString(s, "tcbStatus", path));
  ASSIGN_OR_RETURN(level.advisory_ids, GetOptionalStringList(s, "advisoryIDs", path));
  return level;
}

// tdxModule (no id, no levels) or one tdxModuleIdentities entry.
absl::StatusOr<TdxModuleIdentity> ReadModule(const Struct& s, bool identity,
                                             absl::string_view path) {
  TdxModuleIdentity m;
  if (identity) {
    ASSIGN_OR_RETURN(m.id, GetString(s, "id", path));
  }
  ASSIGN_OR_RETURN(m.mr_signer, GetHexBytes(s, "mrsigner", 48, path));
  ASSIGN_OR_RETURN(m.attributes, GetHexBytes(s, "attributes", 8, path));
  ASSIGN_OR_RETURN(m.attributes_mask, GetHexBytes(s, "attributesMask", 8, path));
  if (!identity) return m;
  ASSIGN_OR_RETURN(const ListValue* levels, GetList(s, "tcbLevels", path));
  for (int i = 0; i < levels->values_size(); ++i) {
    std::string p = absl::StrCat(path, ".tcbLevels[", i, "]");
    ASSIGN_OR_RETURN(const Struct* l, ListObject(*levels, i, p));
    ASSIGN_OR_RETURN(ModuleTcbLevel level, ReadModuleLevel(*l, p));
    m.levels.push_back(std::move(level));
  }
  return m;
}

absl::Status ReadTcbInfoModules(const Struct& s, TcbInfo& info) {
  ASSIGN_OR_RETURN(const Struct* module, GetObject(s, "tdxModule", "tcbInfo"));
  ASSIGN_OR_RETURN(info.tdx_module, ReadModule(*module, false, "tcbInfo.tdxModule"));
  if (s.fields().find("tdxModuleIdentities") == s.fields().end()) return absl::OkStatus();
  ASSIGN_OR_RETURN(const ListValue* ids, GetList(s, "tdxModuleIdentities", "tcbInfo"));
  for (int i = 0; i < ids->values_size(); ++i) {
    std::string p = absl::StrCat("tcbInfo.tdxModuleIdentities[", i, "]");
    ASSIGN_OR_RETURN(const Struct* m, ListObject(*ids, i, p));
    ASSIGN_OR_RETURN(TdxModuleIdentity identity, ReadModule(*m, true, p));
    info.tdx_module_identities.push_back(std::move(identity));
  }
  return absl::OkStatus();
}

absl::Status ReadTcbInfoHeader(const Struct& s, TcbInfo& info) {
  constexpr absl::string_view kPath = "tcbInfo";
  ASSIGN_OR_RETURN(info.id, GetString(s, "id", kPath));
  ASSIGN_OR_RETURN(int64_t version, GetInt(s, "version", 0, 1000, kPath));
  info.version = static_cast<int>(version);
  if (info.id != "TDX" || info.version != 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("tcbInfo: id \"", info.id, "\" version ", info.version,
                     " is not a TDX tcbInfo (id \"TDX\", version 3)"));
  }
  ASSIGN_OR_RETURN(info.issue_date, GetTime(s, "issueDate", kPath));
  ASSIGN_OR_RETURN(info.next_update, GetTime(s, "nextUpdate", kPath));
  ASSIGN_OR_RETURN(info.fmspc, GetHexBytes(s, "fmspc", 6, kPath));
  ASSIGN_OR_RETURN(info.pce_id, GetHexBytes(s, "pceId", 2, kPath));
  ASSIGN_OR_RETURN(int64_t eval, GetInt(s, "tcbEvaluationDataNumber", 0, 1 << 30, kPath));
  info.tcb_evaluation_data_number = static_cast<int>(eval);
  return absl::OkStatus();
}

absl::StatusOr<QeTcbLevel> ReadQeLevel(const Struct& s, absl::string_view path) {
  QeTcbLevel level;
  ASSIGN_OR_RETURN(const Struct* tcb, GetObject(s, "tcb", path));
  ASSIGN_OR_RETURN(int64_t svn, GetInt(*tcb, "isvsvn", 0, 0xffff, absl::StrCat(path, ".tcb")));
  level.isv_svn = static_cast<uint16_t>(svn);
  ASSIGN_OR_RETURN(level.tcb_date, GetString(s, "tcbDate", path));
  ASSIGN_OR_RETURN(level.status, GetString(s, "tcbStatus", path));
  ASSIGN_OR_RETURN(level.advisory_ids, GetOptionalStringList(s, "advisoryIDs", path));
  return level;
}

absl::StatusOr<uint32_t> ReadU32Hex(const Struct& s, absl::string_view name,
                                    absl::string_view path) {
  ASSIGN_OR_RETURN(std::string b, GetHexBytes(s, name, 4, path));
  // MISCSELECT is shown big-endian in the JSON, as a 32-bit value.
  return static_cast<uint32_t>(static_cast<uint8_t>(b[0])) << 24 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[1])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[2])) << 8 | static_cast<uint8_t>(b[3]);
}

absl::Status ReadQeIdentityFields(const Struct& s, QeIdentity& qe) {
  constexpr absl::string_view kPath = "enclaveIdentity";
  ASSIGN_OR_RETURN(qe.id, GetString(s, "id", kPath));
  ASSIGN_OR_RETURN(int64_t version, GetInt(s, "version", 0, 1000, kPath));
  qe.version = static_cast<int>(version);
  if (qe.id != "TD_QE" || qe.version != 2) {
    return absl::InvalidArgumentError(absl::StrCat("enclaveIdentity: id \"", qe.id, "\" version ",
                                                   qe.version, " is not TD_QE version 2"));
  }
  ASSIGN_OR_RETURN(qe.issue_date, GetTime(s, "issueDate", kPath));
  ASSIGN_OR_RETURN(qe.next_update, GetTime(s, "nextUpdate", kPath));
  ASSIGN_OR_RETURN(int64_t eval, GetInt(s, "tcbEvaluationDataNumber", 0, 1 << 30, kPath));
  qe.tcb_evaluation_data_number = static_cast<int>(eval);
  ASSIGN_OR_RETURN(qe.misc_select, ReadU32Hex(s, "miscselect", kPath));
  ASSIGN_OR_RETURN(qe.misc_select_mask, ReadU32Hex(s, "miscselectMask", kPath));
  ASSIGN_OR_RETURN(qe.attributes, GetHexBytes(s, "attributes", 16, kPath));
  ASSIGN_OR_RETURN(qe.attributes_mask, GetHexBytes(s, "attributesMask", 16, kPath));
  ASSIGN_OR_RETURN(qe.mr_signer, GetHexBytes(s, "mrsigner", 32, kPath));
  ASSIGN_OR_RETURN(int64_t prod, GetInt(s, "isvprodid", 0, 0xffff, kPath));
  qe.isv_prod_id = static_cast<uint16_t>(prod);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TcbInfo> ParseTcbInfo(absl::string_view json) {
  ASSIGN_OR_RETURN(SignedDocument doc, ParseSignedDocument(json, "tcbInfo"));
  TcbInfo info;
  info.signed_text = std::move(doc.signed_text);
  info.signature = std::move(doc.signature);
  RETURN_IF_ERROR(ReadTcbInfoHeader(doc.body, info));
  RETURN_IF_ERROR(ReadTcbInfoModules(doc.body, info));
  ASSIGN_OR_RETURN(const ListValue* levels, GetList(doc.body, "tcbLevels", "tcbInfo"));
  for (int i = 0; i < levels->values_size(); ++i) {
    std::string p = absl::StrCat("tcbInfo.tcbLevels[", i, "]");
    ASSIGN_OR_RETURN(const Struct* l, ListObject(*levels, i, p));
    ASSIGN_OR_RETURN(TcbLevel level, ReadTcbLevel(*l, p));
    info.levels.push_back(std::move(level));
  }
  return info;
}

absl::StatusOr<QeIdentity> ParseQeIdentity(absl::string_view json) {
  ASSIGN_OR_RETURN(SignedDocument doc, ParseSignedDocument(json, "enclaveIdentity"));
  QeIdentity qe;
  qe.signed_text = std::move(doc.signed_text);
  qe.signature = std::move(doc.signature);
  RETURN_IF_ERROR(ReadQeIdentityFields(doc.body, qe));
  ASSIGN_OR_RETURN(const ListValue* levels, GetList(doc.body, "tcbLevels", "enclaveIdentity"));
  for (int i = 0; i < levels->values_size(); ++i) {
    std::string p = absl::StrCat("enclaveIdentity.tcbLevels[", i, "]");
    ASSIGN_OR_RETURN(const Struct* l, ListObject(*levels, i, p));
    ASSIGN_OR_RETURN(QeTcbLevel level, ReadQeLevel(*l, p));
    qe.levels.push_back(std::move(level));
  }
  return qe;
}

}  // namespace tdx
}  // namespace kb
