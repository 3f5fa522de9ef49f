#ifndef KB_COMMON_STATUS_MACROS_H_
#define KB_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define KB_CONCAT_INNER_(a, b) a##b
#define KB_CONCAT_(a, b) KB_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define RETURN_IF_ERROR(expr)                \
  do {                                       \
    ::absl::Status kb_status_ = (expr);      \
    if (!kb_status_.ok()) return kb_status_; \
  } while (0)

// ASSIGN_OR_RETURN(auto x, Foo()): assigns the value or returns the error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  KB_ASSIGN_OR_RETURN_IMPL_(KB_CONCAT_(kb_statusor_, __LINE__), lhs, expr)
#define KB_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

#endif  // KB_COMMON_STATUS_MACROS_H_
