/* pan: primary account numbers (card numbers). Tokenizing them with
 * HMAC-SHA256 under a key kept outside the project, and scanning files of
 * every kind the project writes for any that got through
 * (docs/card-data.md). Finding and masking them in text is util's
 * (txf_pan_find, txf_pan_mask_text in util/util.h), so errors and logs
 * are masked where they are made. */
#ifndef TXF_PAN_H
#define TXF_PAN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/util.h"

/* ---------------------------------------------------------------- key */

/* The key that card tokens are made under. Opaque; never printed. */
typedef struct txf_pan_key txf_pan_key;

enum { TXF_PAN_KEY_MIN_BYTES = 16, TXF_PAN_KEY_MAX_BYTES = 4096 };

/* Load the key from the file PATH, or, when PATH is NULL or empty, from
 * TEXT (an environment variable's value). The file must be a regular file
 * owned by this user and readable by no one else (mode 0600 or 0400):
 * anything else is TXF_ECONFIG naming the mode, and nothing is read. The
 * key is the file's bytes (TEXT's) less one trailing newline, 16..4096 of
 * them. Neither given: TXF_ENOTFOUND. On success *OUT is the caller's, to
 * free with txf_pan_key_free(). */
TXF_MUST_CHECK int txf_pan_key_load(txf_pan_key **out, const char *path,
                                    const char *text, txf_err *err);
/* txf_pan_key_load() of $TXNFLOW_PAN_KEY_FILE, else $TXNFLOW_PAN_KEY;
 * both set is TXF_ECONFIG (which one was meant is not guessed). */
TXF_MUST_CHECK int txf_pan_key_from_env(txf_pan_key **out, txf_err *err);
/* Wipe and free K. K may be NULL. */
void txf_pan_key_free(txf_pan_key *k);
/* The key's id: "k" and 16 hex digits of HMAC-SHA256(key, "txnflow pan key
 * id"); tells keys apart without revealing one. Borrowed from K. */
const char *txf_pan_key_id(const txf_pan_key *k);
/* The token of the N digits at DIGITS (separators already removed): 64 hex
 * digits of HMAC-SHA256(key, digits) and a NUL. The same PAN gives the same
 * token under the same key. */
void txf_pan_token(const txf_pan_key *k, const char *digits, size_t n,
                   char token[65]);

/* A card number as clean keeps it: the token and what may be shown. */
typedef struct txf_pan_card {
  char token[65]; /* HMAC-SHA256 of the digits under the key, hex */
  char bin[7];    /* the first 6 digits */
  char last4[5];  /* the last 4 */
} txf_pan_card;

/* Read a card number field, F of N bytes: 13..19 digits, a single space or
 * dash allowed between two of them, passing the Luhn check (any first
 * digit: the column says it is a card number). On success *OUT holds its
 * token under K (K may be NULL: then only checked, OUT->token left "")
 * and 0 is returned. Otherwise TXF_EPARSE, and ERR says why with the
 * number masked to its first 6 and last 4 digits at most ("card_number:
 * wrong check digit in '411111******1112'"). */
TXF_MUST_CHECK int txf_pan_tokenize(const txf_pan_key *k, const char *f,
                                    size_t n, txf_pan_card *out, txf_err *err);

/* ---------------------------------------------------------------- files */

/* One PAN found in a file. */
typedef struct txf_pan_finding {
  char *path;  /* the file, as walked from the operand */
  char *where; /* "line 3, column 17"; "row 12, column card_number";
                  "table main.mart_x, column note, row 4"; "footer" */
  char masked[TXF_PAN_MAX_DIGITS + 1]; /* BIN + last 4, the rest '*' */
} txf_pan_finding;

/* What a scan found. Zeroed is empty; txf_pan_scan_release() frees it. */
typedef struct txf_pan_scan {
  txf_pan_finding *v; /* in the order found: files in name order */
  size_t n, cap;
  uint64_t n_files;     /* files read to the end */
  txf_strlist skipped;  /* directories left out: bronze, .git */
  txf_strlist problems; /* "PATH: why" of each file that could not be
                           read to the end: it proves nothing */
  int include_bronze;   /* set before scanning: bronze/ is read too */
  int newer_only;       /* set before scanning: only files modified at or
                           after NEWER_THAN (a file's mtime) */
  struct timespec newer_than;
} txf_pan_scan;

/* Scan PATH, a file or a directory (recursively, in name order, symbolic
 * links not followed), adding to S every PAN found. What each file is,
 * its first bytes say: Parquet (every column of every row, decompressed,
 * and the footer's statistics and metadata; DuckDB reads what our reader
 * does not), a DuckDB database (every column of every table, view
 * definitions), a SQLite database (every value of every table), a
 * zstd-compressed file (its decompressed lines), anything else as lines of
 * bytes (CSV, JSON, logs). Directories named "bronze" (where PANs arrive)
 * are skipped unless S->include_bronze, and ".git" always. A file that
 * cannot be read goes to S->problems and the scan goes on. Returns 0, or
 * TXF_ENOTFOUND when PATH does not exist. */
TXF_MUST_CHECK int txf_pan_scan_path(txf_pan_scan *s, const char *path,
                                     txf_err *err);
void txf_pan_scan_release(txf_pan_scan *s);

#endif /* TXF_PAN_H */
