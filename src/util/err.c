/* Error values: one convention used everywhere (see util.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void txf_err_clear(txf_err *err) {
  if (err) {
    err->code = TXF_OK;
    err->msg[0] = '\0';
  }
}

/* Format FMT into a buffer of its own size, mask every card number in it,
 * and only then cut it to fit: a number cut by the truncation first could
 * leave more digits than a masked one shows. Caller frees. */
static char *format_masked(const char *fmt, va_list ap) {
  txf_buf b;
  txf_buf_init(&b, 0);
  txf_buf_vprintf(&b, fmt, ap);
  char *s = txf_buf_take(&b, NULL);
  txf_pan_mask_text(s, strlen(s), TXF_PAN_MASK_FOUND);
  return s;
}

static int vset(txf_err *err, int code, const char *suffix, const char *fmt,
                va_list ap) {
  if (!err)
    return code;
  err->code = code;
  char *m = format_masked(fmt, ap);
  int n = snprintf(err->msg, sizeof err->msg, "%s", m);
  free(m);
  if (suffix && n >= 0 && (size_t)n < sizeof err->msg)
    snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", suffix);
  return code;
}

int txf_err_set(txf_err *err, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vset(err, code, NULL, fmt, ap);
  va_end(ap);
  return code;
}

int txf_err_errno(txf_err *err, int code, const char *fmt, ...) {
  int e = errno;
  va_list ap;
  va_start(ap, fmt);
  vset(err, code, strerror(e), fmt, ap);
  va_end(ap);
  return code;
}

int txf_err_wrap(txf_err *err, const char *fmt, ...) {
  if (!err)
    return TXF_EINTERNAL;
  if (err->code == TXF_OK)
    err->code = TXF_EINTERNAL;
  va_list ap;
  va_start(ap, fmt);
  char *prefix = format_masked(fmt, ap);
  va_end(ap);
  char old[sizeof err->msg];
  memcpy(old, err->msg, sizeof old);
  size_t pl = strlen(prefix);
  if (pl > sizeof err->msg - 3)
    pl = sizeof err->msg - 3;
  memcpy(err->msg, prefix, pl);
  err->msg[pl] = ':';
  err->msg[pl + 1] = ' ';
  size_t room = sizeof err->msg - pl - 3;
  size_t ol = strnlen(old, room);
  memcpy(err->msg + pl + 2, old, ol);
  err->msg[pl + 2 + ol] = '\0';
  free(prefix);
  return err->code;
}

const char *txf_err_name(int code) {
  static const char *const names[] = {
      "ok",     "io",       "parse",       "config", "db",
      "not found", "exists", "usage",      "corrupt", "unsupported",
      "locked", "network",  "too big",     "test failed", "timeout",
      "internal"};
  if (code < 0 || (size_t)code >= TXF_ARRAY_LEN(names))
    return "unknown";
  return names[code];
}

int txf_err_permanent(int code, const char *msg) {
  switch (code) {
  case TXF_EPARSE:
  case TXF_ECONFIG:
  case TXF_ENOTFOUND:
  case TXF_EEXIST:
  case TXF_EUSAGE:
  case TXF_ECORRUPT:
  case TXF_EUNSUPPORTED:
  case TXF_ETOOBIG:
  case TXF_ETEST:
    return 1;
  case TXF_EDB:
    break;
  default:
    return 0;
  }
  /* The statement's own fault, whatever the moment: DuckDB's error types
   * for a query that cannot run (not "IO Error", "Out of Memory Error",
   * "INTERRUPT Error", lock conflicts: those may pass), a refusal that
   * would come again ("Permission Error" of a read-only session, an I/O
   * "Permission denied"), PostgreSQL's and SQLite's syntax and catalog
   * errors. */
  static const char *const sql_errors[] = {
      "Parser Error",          "Binder Error",       "Catalog Error",
      "Conversion Error",      "Constraint Error",   "Invalid Input Error",
      "Not implemented Error", "Syntax Error",       "Dependency Error",
      "Type Mismatch",         "Out of Range Error", "Invalid type Error",
      "Permission Error",      "syntax error",       "does not exist",
      "no such table",         "no such column",     "already exists",
      "Permission denied"};
  for (size_t i = 0; msg && i < TXF_ARRAY_LEN(sql_errors); i++)
    if (strstr(msg, sql_errors[i]))
      return 1;
  return 0;
}
