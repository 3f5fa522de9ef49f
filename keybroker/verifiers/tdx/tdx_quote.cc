#include "keybroker/verifiers/tdx/tdx_quote.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace kb {
namespace tdx {
namespace {

// Bounds-checked little-endian reader; every failure names the field being read.
class Reader {
 public:
  Reader(absl::string_view data, std::size_t base) : data_(data), base_(base) {}

  absl::StatusOr<absl::string_view> Bytes(std::size_t n, absl::string_view field) {
    if (n > data_.size() - pos_) {
      return absl::InvalidArgumentError(absl::StrCat("TDX quote truncated at ", field, ": need ", n,
                                                     " bytes at offset ", base_ + pos_, ", ",
                                                     data_.size() - pos_, " left"));
    }
    absl::string_view out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  absl::StatusOr<std::string> Str(std::size_t n, absl::string_view field) {
    ASSIGN_OR_RETURN(absl::string_view b, Bytes(n, field));
    return std::string(b);
  }
  absl::StatusOr<uint16_t> U16(absl::string_view field) {
    ASSIGN_OR_RETURN(absl::string_view b, Bytes(2, field));
    return static_cast<uint16_t>(U8(b, 0) | U8(b, 1) << 8);
  }
  absl::StatusOr<uint32_t> U32(absl::string_view field) {
    ASSIGN_OR_RETURN(absl::string_view b, Bytes(4, field));
    return U8(b, 0) | U8(b, 1) << 8 | U8(b, 2) << 16 | static_cast<uint32_t>(U8(b, 3)) << 24;
  }
  // A sub-reader over the next `n` bytes (a length-prefixed region).
  absl::StatusOr<Reader> Sub(std::size_t n, absl::string_view field) {
    std::size_t start = base_ + pos_;
    ASSIGN_OR_RETURN(absl::string_view b, Bytes(n, field));
    return Reader(b, start);
  }
  absl::Status ExpectEnd(absl::string_view region) const {
    if (pos_ == data_.size()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(region, " has ", data_.size() - pos_,
                                                   " unparsed bytes at offset ", base_ + pos_));
  }
  std::size_t offset() const { return base_ + pos_; }

 private:
  static uint32_t U8(absl::string_view b, std::size_t i) { return static_cast<uint8_t>(b[i]); }
  absl::string_view data_;
  std::size_t base_;
  std::size_t pos_ = 0;
};

absl::Status ReadHeader(Reader& r, TdxQuoteHeader& h) {
  ASSIGN_OR_RETURN(h.version, r.U16("header.version"));
  ASSIGN_OR_RETURN(h.att_key_type, r.U16("header.att_key_type"));
  ASSIGN_OR_RETURN(h.tee_type, r.U32("header.tee_type"));
  RETURN_IF_ERROR(r.Bytes(4, "header.reserved").status());
  ASSIGN_OR_RETURN(h.qe_vendor_id, r.Str(16, "header.qe_vendor_id"));
  ASSIGN_OR_RETURN(h.user_data, r.Str(20, "header.user_data"));
  return absl::OkStatus();
}

absl::Status ReadTdBody(Reader& r, bool td15, TdReportBody& b) {
  ASSIGN_OR_RETURN(b.tee_tcb_svn, r.Str(16, "body.tee_tcb_svn"));
  ASSIGN_OR_RETURN(b.mr_seam, r.Str(48, "body.mr_seam"));
  ASSIGN_OR_RETURN(b.mr_signer_seam, r.Str(48, "body.mr_signer_seam"));
  ASSIGN_OR_RETURN(b.seam_attributes, r.Str(8, "body.seam_attributes"));
  ASSIGN_OR_RETURN(b.td_attributes, r.Str(8, "body.td_attributes"));
  ASSIGN_OR_RETURN(b.xfam, r.Str(8, "body.xfam"));
  ASSIGN_OR_RETURN(b.mr_td, r.Str(48, "body.mr_td"));
  ASSIGN_OR_RETURN(b.mr_config_id, r.Str(48, "body.mr_config_id"));
  ASSIGN_OR_RETURN(b.mr_owner, r.Str(48, "body.mr_owner"));
  ASSIGN_OR_RETURN(b.mr_owner_config, r.Str(48, "body.mr_owner_config"));
  for (std::size_t i = 0; i < b.rtmr.size(); ++i) {
    ASSIGN_OR_RETURN(b.rtmr[i], r.Str(48, absl::StrCat("body.rtmr", i)));
  }
  ASSIGN_OR_RETURN(b.report_data, r.Str(64, "body.report_data"));
  b.td15 = td15;
  if (td15) {
    ASSIGN_OR_RETURN(b.tee_tcb_svn2, r.Str(16, "body.tee_tcb_svn2"));
    ASSIGN_OR_RETURN(b.mr_service_td, r.Str(48, "body.mr_service_td"));
  }
  return absl::OkStatus();
}

absl::Status ReadSgxReport(Reader& r, SgxReportBody& q) {
  ASSIGN_OR_RETURN(absl::string_view raw, r.Bytes(kSgxReportBodySize, "qe_report"));
  q.raw = std::string(raw);
  Reader f(raw, r.offset() - kSgxReportBodySize);
  ASSIGN_OR_RETURN(q.cpu_svn, f.Str(16, "qe_report.cpu_svn"));
  ASSIGN_OR_RETURN(q.misc_select, f.U32("qe_report.misc_select"));
  RETURN_IF_ERROR(f.Bytes(28, "qe_report.reserved1").status());
  ASSIGN_OR_RETURN(q.attributes, f.Str(16, "qe_report.attributes"));
  ASSIGN_OR_RETURN(q.mr_enclave, f.Str(32, "qe_report.mr_enclave"));
  RETURN_IF_ERROR(f.Bytes(32, "qe_report.reserved2").status());
  ASSIGN_OR_RETURN(q.mr_signer, f.Str(32, "qe_report.mr_signer"));
  RETURN_IF_ERROR(f.Bytes(96, "qe_report.reserved3").status());
  ASSIGN_OR_RETURN(q.isv_prod_id, f.U16("qe_report.isv_prod_id"));
  ASSIGN_OR_RETURN(q.isv_svn, f.U16("qe_report.isv_svn"));
  RETURN_IF_ERROR(f.Bytes(60, "qe_report.reserved4").status());
  ASSIGN_OR_RETURN(q.report_data, f.Str(64, "qe_report.report_data"));
  return f.ExpectEnd("qe_report");
}

// The body (with the v5 descriptor); returns the signed-region length.
absl::Status ReadBody(Reader& r, TdxQuote& q) {
  if (q.header.version == kQuoteVersion4) {
    if (q.header.tee_type != kTeeTypeTdx) {
      return absl::InvalidArgumentError("header.tee_type: v4 quote is not a TDX quote");
    }
    return ReadTdBody(r, /*td15=*/false, q.body);
  }
  ASSIGN_OR_RETURN(q.body_type, r.U16("body_descriptor.type"));
  ASSIGN_OR_RETURN(uint32_t size, r.U32("body_descriptor.size"));
  if (q.body_type != kBodyTypeTd10 && q.body_type != kBodyTypeTd15) {
    return absl::InvalidArgumentError(
        absl::StrCat("body_descriptor.type ", q.body_type, " is not a TD 1.0/1.5 body"));
  }
  const bool td15 = q.body_type == kBodyTypeTd15;
  if (size != (td15 ? kTd15BodySize : kTd10BodySize)) {
    return absl::InvalidArgumentError(
        absl::StrCat("body_descriptor.size ", size, " does not match body type ", q.body_type));
  }
  ASSIGN_OR_RETURN(Reader body, r.Sub(size, "body"));
  RETURN_IF_ERROR(ReadTdBody(body, td15, q.body));
  return body.ExpectEnd("body");
}

// QE report certification data (type 6): QE report, its signature, auth data, PCK cert data.
absl::Status ReadQeCertData(Reader& r, TdxQuote& q) {
  RETURN_IF_ERROR(ReadSgxReport(r, q.qe_report));
  ASSIGN_OR_RETURN(q.qe_report_signature, r.Str(64, "qe_report_signature"));
  ASSIGN_OR_RETURN(uint16_t auth_size, r.U16("qe_auth_data.size"));
  ASSIGN_OR_RETURN(q.qe_auth_data, r.Str(auth_size, "qe_auth_data"));
  ASSIGN_OR_RETURN(q.pck_cert_data_type, r.U16("pck_cert_data.type"));
  ASSIGN_OR_RETURN(uint32_t size, r.U32("pck_cert_data.size"));
  ASSIGN_OR_RETURN(q.pck_cert_data, r.Str(size, "pck_cert_data"));
  return r.ExpectEnd("qe_report_certification_data");
}

absl::Status ReadSignatureData(Reader& r, TdxQuote& q) {
  ASSIGN_OR_RETURN(uint32_t len, r.U32("signature_data.size"));
  ASSIGN_OR_RETURN(Reader s, r.Sub(len, "signature_data"));
  ASSIGN_OR_RETURN(q.signature, s.Str(64, "signature_data.quote_signature"));
  ASSIGN_OR_RETURN(q.attestation_key, s.Str(64, "signature_data.attestation_key"));
  ASSIGN_OR_RETURN(q.certification_data_type, s.U16("certification_data.type"));
  if (q.certification_data_type != kCertDataQeReport) {
    return absl::InvalidArgumentError(absl::StrCat("certification_data.type ",
                                                   q.certification_data_type,
                                                   " is not QE report certification data (6)"));
  }
  ASSIGN_OR_RETURN(uint32_t cert_size, s.U32("certification_data.size"));
  ASSIGN_OR_RETURN(Reader c, s.Sub(cert_size, "certification_data"));
  RETURN_IF_ERROR(ReadQeCertData(c, q));
  return s.ExpectEnd("signature_data");
}

}  // namespace

absl::StatusOr<TdxQuoteHeader> ParseTdxQuoteHeader(absl::string_view bytes) {
  Reader r(bytes, 0);
  TdxQuoteHeader h;
  RETURN_IF_ERROR(ReadHeader(r, h));
  return h;
}

absl::StatusOr<TdxQuote> ParseTdxQuote(absl::string_view bytes) {
  if (bytes.size() > kMaxQuoteSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("TDX quote of ", bytes.size(), " bytes exceeds the maximum ", kMaxQuoteSize));
  }
  Reader r(bytes, 0);
  TdxQuote q;
  RETURN_IF_ERROR(ReadHeader(r, q.header));
  if (q.header.version != kQuoteVersion4 && q.header.version != kQuoteVersion5) {
    return absl::InvalidArgumentError(
        absl::StrCat("header.version ", q.header.version, " is not a TDX quote version (4, 5)"));
  }
  RETURN_IF_ERROR(ReadBody(r, q));
  q.signed_region = std::string(bytes.substr(0, r.offset()));
  RETURN_IF_ERROR(ReadSignatureData(r, q));
  q.parsed_size = r.offset();
  return q;
}

bool TdAttributesDebug(absl::string_view td_attributes) {
  return !td_attributes.empty() && (static_cast<uint8_t>(td_attributes[0]) & 0x01) != 0;
}

}  // namespace tdx
}  // namespace kb
