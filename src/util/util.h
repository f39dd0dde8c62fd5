/* util: the shared ground every txnflow stage stands on.
 *
 * Errors (txf_err), allocation that aborts on OOM (txf_xmalloc), logging,
 * growable buffers with a cap (txf_buf), arenas, civil dates, ISO 8601
 * timestamps, named time zones read from the system tz database, SHA-256,
 * atomic file and directory publish, and a progress bar for TTYs.
 *
 * Nothing here keeps mutable global state: loggers, clocks and zones are
 * values the caller owns and passes down. */
#ifndef TXF_UTIL_H
#define TXF_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define TXF_MUST_CHECK __attribute__((warn_unused_result))
#define TXF_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define TXF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- errors */

/* Error codes: few, each telling the caller what to do. */
enum {
  TXF_OK = 0,
  TXF_EIO = 1,          /* file system or OS call failed; maybe retry */
  TXF_EPARSE = 2,       /* input data is malformed; fix the input */
  TXF_ECONFIG = 3,      /* configuration is wrong; fix the config */
  TXF_EDB = 4,          /* a database (SQLite, DuckDB, PostgreSQL) failed */
  TXF_ENOTFOUND = 5,    /* a named thing does not exist */
  TXF_EEXIST = 6,       /* it already exists (and --force was not given) */
  TXF_EUSAGE = 7,       /* the caller asked for something invalid */
  TXF_ECORRUPT = 8,     /* stored data fails its own checks (checksum) */
  TXF_EUNSUPPORTED = 9, /* valid but not something txnflow handles */
  TXF_ELOCKED = 10,     /* someone else holds the lock; try later */
  TXF_ENET = 11,        /* network or remote service failed; retry */
  TXF_ETOOBIG = 12,     /* a size limit was hit */
  TXF_ETEST = 13,       /* a data test or audit found failures */
  TXF_ETIMEOUT = 14,    /* gave up waiting */
  TXF_EINTERNAL = 15    /* our own bug */
};

typedef struct txf_err {
  int code;      /* TXF_OK or one of TXF_E* */
  char msg[512]; /* "bronze/…/part-0.csv:1042: amount: 'abc' is not a number" */
} txf_err;

/* Reset ERR to "no error". ERR may be NULL. */
void txf_err_clear(txf_err *err);
/* Store CODE and the formatted message in ERR (may be NULL); return CODE. */
int txf_err_set(txf_err *err, int code, const char *fmt, ...) TXF_PRINTF(3, 4);
/* Like txf_err_set, appending ": strerror(errno)" (errno read on entry). */
int txf_err_errno(txf_err *err, int code, const char *fmt, ...)
    TXF_PRINTF(3, 4);
/* Prefix ERR's message with the formatted context and ": "; keep the code.
 * Returns ERR's code (TXF_EINTERNAL if it had none). */
int txf_err_wrap(txf_err *err, const char *fmt, ...) TXF_PRINTF(2, 3);
/* A short name for CODE: "io", "parse", "config", ... */
const char *txf_err_name(int code);
/* 1 when the error CODE with message MSG would happen again on a retry of
 * the same work: bad input, config or model (a compile or SQL error), a
 * failed data test, a missing or existing thing, a size limit; 0 when a
 * retry may pass (I/O, network, a lock, a timeout, a database that could
 * not answer, our own bug). A database error is permanent when its
 * message is one of the SQL engine's statement errors (DuckDB's "Binder
 * Error: ...", a syntax error): the same SQL fails the same way. */
int txf_err_permanent(int code, const char *msg);

/* Exit statuses of txnflow commands (docs/orchestration.md, "Exit
 * status"). Only src/cli/ chooses them; the orchestrator reads a task's:
 * 1 is a failure a retry may mend (I/O, network, a lock, a timeout), or
 * one of unknown kind; 2 and 4 are permanent: the same command fails the
 * same way until the usage, the config, the model or the input is fixed,
 * so a task that exits with them is not retried. (3 is a crash the tests
 * simulate.) */
enum {
  TXF_EXIT_OK = 0,
  TXF_EXIT_FAIL = 1,
  TXF_EXIT_USAGE = 2,
  TXF_EXIT_PERMANENT = 4
};

/* ---------------------------------------------------------------- memory */

/* Allocation that never returns NULL: on failure it prints the size asked
 * for to stderr and aborts. This is the one place where OOM is handled. */
void *txf_xmalloc(size_t n);
void *txf_xcalloc(size_t n, size_t size);
void *txf_xrealloc(void *p, size_t n);
char *txf_xstrdup(const char *s);
char *txf_xstrndup(const char *s, size_t n);
/* A newly allocated printf result; caller frees. */
char *txf_xasprintf(const char *fmt, ...) TXF_PRINTF(1, 2);
/* free() each of the N pointers in PTRS (NULLs allowed). Use it through
 * TXF_FREE_ALL(a, b, ...) where a destructor releases many owned strings:
 * every argument is evaluated before the first free, so `TXF_FREE_ALL(
 * s->name, s)` is safe. */
void txf_free_array(void *const *ptrs, size_t n);
#define TXF_FREE_ALL(...)                                                      \
  txf_free_array((void *const[]){__VA_ARGS__},                                 \
                 sizeof((void *const[]){__VA_ARGS__}) / sizeof(void *))

/* Byte order of two byte strings (<0, 0, >0), a word at a time: clean's
 * ids share long prefixes and the Parquet writer's statistics compare every
 * PLAIN value with the page's min and max, so both sit on hot paths. */
static inline int txf_bytes_cmp(const void *a, size_t la, const void *b,
                                size_t lb) {
  const uint8_t *p = a, *q = b;
  size_t n = la < lb ? la : lb;
  while (n >= 8) {
    uint64_t x, y;
    memcpy(&x, p, 8);
    memcpy(&y, q, 8);
    if (x != y) {
      x = __builtin_bswap64(x);
      y = __builtin_bswap64(y);
      return x < y ? -1 : 1;
    }
    p += 8;
    q += 8;
    n -= 8;
  }
  for (; n; n--, p++, q++)
    if (*p != *q)
      return *p < *q ? -1 : 1;
  return la < lb ? -1 : la > lb;
}

/* A file compiled into the binary (tools/embed.c writes the tables: the
 * project scaffold, the dashboard's web files); a table ends at path NULL. */
typedef struct {
  const char *path;
  const unsigned char *data;
  size_t size;
} txf_embedded_file;

/* ---------------------------------------------------------------- buffers */

/* A growable byte buffer. Invariants: data is NULL or holds cap bytes with
 * data[len] == '\0' (always NUL-terminated when data != NULL); len <= max
 * when max != 0. max == 0 means no cap. */
typedef struct txf_buf {
  char *data;
  size_t len;
  size_t cap;
  size_t max; /* refuse to grow past this many bytes; 0 = unlimited */
} txf_buf;

void txf_buf_init(txf_buf *b, size_t max);
/* Free the storage; B is left empty and reusable. */
void txf_buf_release(txf_buf *b);
/* Make the content empty, keeping the storage. */
void txf_buf_reset(txf_buf *b);
/* Ensure room for N more bytes. TXF_ETOOBIG past the cap, else 0. */
int txf_buf_grow(txf_buf *b, size_t n);
/* Append; TXF_ETOOBIG (and nothing appended) past the cap, else 0.
 * Never fails on an uncapped buffer. */
int txf_buf_append(txf_buf *b, const void *p, size_t n);
int txf_buf_puts(txf_buf *b, const char *s);
int txf_buf_putc(txf_buf *b, char c);
int txf_buf_printf(txf_buf *b, const char *fmt, ...) TXF_PRINTF(2, 3);
int txf_buf_vprintf(txf_buf *b, const char *fmt, va_list ap);
/* One escape of txf_buf_put_escaped(): the byte C is written as TEXT. A
 * table of them ends with {0, NULL}. */
typedef struct txf_escape {
  char c;
  const char *text;
} txf_escape;
/* Append the N bytes at S, each byte that ESC lists as its text. Never
 * fails on an uncapped buffer. */
void txf_buf_put_escaped(txf_buf *b, const char *s, size_t n,
                         const txf_escape *esc);
/* Append the N bytes at S as one field of PostgreSQL's COPY text format
 * (backslash, tab, newline and carriage return escaped). Never fails on
 * an uncapped buffer. */
void txf_buf_put_pgcopy(txf_buf *b, const char *s, size_t n);
/* Hand the content over: returns a malloc'd NUL-terminated string (never
 * NULL; "" when empty) the caller frees; B is left empty. */
char *txf_buf_take(txf_buf *b, size_t *len_out);

/* ---------------------------------------------------------------- arena */

/* A bump allocator: many small allocations, freed all at once. */
typedef struct txf_arena_block txf_arena_block;
typedef struct txf_arena {
  txf_arena_block *head;
  size_t block_size; /* default size of new blocks */
  size_t used_bytes; /* total handed out since the last reset */
} txf_arena;

void txf_arena_init(txf_arena *a, size_t block_size);
/* N bytes aligned to 16; never NULL. Valid until reset/release. */
void *txf_arena_alloc(txf_arena *a, size_t n);
char *txf_arena_strndup(txf_arena *a, const char *s, size_t n);
char *txf_arena_strdup(txf_arena *a, const char *s);
/* Forget all allocations; keep the first block for reuse. */
void txf_arena_reset(txf_arena *a);
void txf_arena_release(txf_arena *a);

/* ---------------------------------------------------------------- logging */

enum { TXF_LOG_ERROR = 0, TXF_LOG_WARN, TXF_LOG_INFO, TXF_LOG_DEBUG };

/* A logger is a value the caller owns (no global): level, stream and
 * whether to prefix lines with a timestamp. A NULL logger is silent. */
typedef struct txf_logger {
  int level;      /* messages above this level are dropped */
  FILE *out;      /* usually stderr */
  int timestamps; /* prefix each line with the UTC time */
} txf_logger;

void txf_log(const txf_logger *lg, int level, const char *fmt, ...)
    TXF_PRINTF(3, 4);
#define txf_log_error(lg, ...) txf_log((lg), TXF_LOG_ERROR, __VA_ARGS__)
#define txf_log_warn(lg, ...) txf_log((lg), TXF_LOG_WARN, __VA_ARGS__)
#define txf_log_info(lg, ...) txf_log((lg), TXF_LOG_INFO, __VA_ARGS__)
#define txf_log_debug(lg, ...) txf_log((lg), TXF_LOG_DEBUG, __VA_ARGS__)

/* ---------------------------------------------------------------- dates */

/* A civil date as days since 1970-01-01 (proleptic Gregorian). Valid for
 * years 0001..9999; ordering and arithmetic are integer ordering and
 * arithmetic. */
typedef struct txf_date {
  int32_t days;
} txf_date;

/* Days since the epoch of Y-M-D. No validation. */
txf_date txf_date_from_ymd(int y, int m, int d);
void txf_date_to_ymd(txf_date d, int *y, int *m, int *day);
/* 0 = Monday .. 6 = Sunday (ISO weekday - 1). */
int txf_date_weekday(txf_date d);
/* Parse exactly "YYYY-MM-DD" (N bytes of S, or strlen when N == SIZE_MAX)
 * with a real calendar day. 0 on success, TXF_EPARSE otherwise. */
TXF_MUST_CHECK int txf_date_parse(const char *s, size_t n, txf_date *out);
/* Write "YYYY-MM-DD\0" into OUT (at least 11 bytes). Returns OUT. */
char *txf_date_format(txf_date d, char *out);
int txf_days_in_month(int y, int m);

/* ---------------------------------------------------------------- time */

#define TXF_US_PER_S INT64_C(1000000)
#define TXF_S_PER_DAY INT64_C(86400)
#define TXF_US_PER_DAY (TXF_S_PER_DAY * TXF_US_PER_S)

/* Parse an ISO 8601 timestamp that carries an offset:
 *   YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM|+HHMM|+HH)
 * ('T' may also be 't' or ' ', 'Z' may be 'z'; digits of the fraction past
 * microseconds must be zeros, so no instant is silently rounded).
 * *ts_us is the UTC instant in microseconds since the epoch, *offset_min the
 * offset found (may be NULL). 0 on success, TXF_EPARSE otherwise (a missing
 * offset is an error: a local time without zone is ambiguous). */
TXF_MUST_CHECK int txf_ts_parse(const char *s, size_t n, int64_t *ts_us,
                                int *offset_min);
/* Format TS_US shifted by OFFSET_MIN as "YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM"
 * ("Z" when OFFSET_MIN is 0 and UTC_Z). The fraction is printed only when
 * non-zero. OUT must hold 40 bytes. Returns the length written. */
int txf_ts_format(int64_t ts_us, int offset_min, int utc_z, char *out);
/* The UTC date of an instant (floor division). */
txf_date txf_ts_utc_date(int64_t ts_us);

/* ---------------------------------------------------------------- zones */

/* A named time zone loaded from the system tz database (TZif files under
 * /usr/share/zoneinfo or $TZDIR). Immutable once loaded; share freely. */
typedef struct txf_tz txf_tz;

/* Load NAME ("Asia/Seoul", "UTC", "Europe/Berlin"). On success *out must be
 * freed with txf_tz_free(). TXF_ENOTFOUND for an unknown zone, TXF_EPARSE
 * for a file that is not valid TZif. */
TXF_MUST_CHECK int txf_tz_load(txf_tz **out, const char *name, txf_err *err);
void txf_tz_free(txf_tz *tz);
const char *txf_tz_name(const txf_tz *tz);
/* Offset from UTC in seconds in force at instant TS_S (UTC seconds). */
int32_t txf_tz_offset_at(const txf_tz *tz, int64_t ts_s);
/* The local civil date of instant TS_US. Fast (no allocation). */
txf_date txf_tz_local_date(const txf_tz *tz, int64_t ts_us);
/* The UTC instant of local wall time D + SECS_OF_DAY. In a gap (spring
 * forward) the time is read with the offset before the gap; in an overlap
 * the earlier instant is returned. */
int64_t txf_tz_local_to_utc(const txf_tz *tz, txf_date d, int32_t secs_of_day);

/* ---------------------------------------------------------------- cron */

/* A 5-field cron expression: minute hour day-of-month month day-of-week,
 * each `*`, a number, a range `a-b`, a list `a,b`, and steps `* /n`,
 * `a-b/n`; names (jan, mon) are accepted; day-of-week 0 and 7 are Sunday.
 * As in Vixie cron, when both day fields are restricted a day matches
 * either. Also @daily, @hourly, @weekly, @monthly, @yearly. */
typedef struct txf_cron {
  uint64_t minutes; /* bit per minute 0..59 */
  uint32_t hours;   /* 0..23 */
  uint32_t mdays;   /* 1..31 */
  uint16_t months;  /* 1..12 */
  uint8_t wdays;    /* 0..6, Sunday = 0 */
  int mday_star, wday_star;
} txf_cron;

/* TXF_EPARSE with the offending field named ("bad hour field '25' in
 * '0 25 * * *'"). */
TXF_MUST_CHECK int txf_cron_parse(txf_cron *c, const char *expr,
                                  txf_err *err);
/* The first fire instant strictly after AFTER_US, in zone TZ (local wall
 * times; a time in a DST gap fires at the instant txf_tz_local_to_utc
 * gives). Searches up to 5 years; INT64_MAX when none. */
int64_t txf_cron_next(const txf_cron *c, const txf_tz *tz, int64_t after_us);

/* ---------------------------------------------------------------- sha256 */

typedef struct txf_sha256 {
  void *md_ctx; /* EVP_MD_CTX */
} txf_sha256;

void txf_sha256_init(txf_sha256 *h);
void txf_sha256_update(txf_sha256 *h, const void *p, size_t n);
/* Write 64 lowercase hex digits and a NUL into HEX; releases H. */
void txf_sha256_final_hex(txf_sha256 *h, char hex[65]);
void txf_sha256_hex(const void *p, size_t n, char hex[65]);
/* HMAC-SHA256 (RFC 2104) of the N bytes at MSG under the KEY_LEN bytes
 * of KEY, into the 32 bytes of MAC. Never fails. */
void txf_hmac_sha256(const void *key, size_t key_len, const void *msg,
                     size_t n, unsigned char mac[32]);
/* Write the N bytes at P as 2*N lowercase hex digits and a NUL into HEX. */
void txf_hex_encode(const void *p, size_t n, char *hex);
/* Hash a whole file; *size_bytes (may be NULL) gets its size. */
TXF_MUST_CHECK int txf_sha256_file(const char *path, char hex[65],
                                   uint64_t *size_bytes, txf_err *err);

/* ---------------------------------------------------------------- card numbers
 *
 * What counts as a PAN (a card number) in text (txf_pan_find): 13 to 19
 * digits, one space or dash allowed between any two of them, passing the
 * Luhn check, starting with 2..6 (the card networks' major industry
 * identifiers), and not touching a letter or digit on either side. Grouped
 * digits are also tried group by group, so "1234 4111 1111 1111 1111" is
 * found. Every txf_err message and every log line is masked with
 * txf_pan_mask_text() as it is made (docs/card-data.md). */

enum { TXF_PAN_MIN_DIGITS = 13, TXF_PAN_MAX_DIGITS = 19 };

/* ---------------------------------------------------------------- digits */

/* 1 when the N ASCII digits at D pass the Luhn check (N > 0). */
int txf_pan_luhn_ok(const char *d, size_t n);
/* The check digit ('0'..'9') that makes the N digits at D followed by it
 * pass the Luhn check. */
char txf_pan_luhn_digit(const char *d, size_t n);
/* Mask the N digits at D to their first 6 and last 4, the others '*', into
 * OUT (N + 1 bytes, NUL-terminated). Fewer than 11 digits: all but the
 * last 4 are masked (a BIN and last 4 that overlap would show all). */
void txf_pan_mask_digits(const char *d, size_t n, char *out);

/* ---------------------------------------------------------------- text */

/* A PAN found in text. */
typedef struct txf_pan_match {
  size_t start, end; /* bytes [start, end) of the text, separators included */
  size_t n_digits;   /* 13..19 */
  char digits[TXF_PAN_MAX_DIGITS + 1]; /* its digits, NUL-terminated */
} txf_pan_match;

/* Find the first PAN in the N bytes at S starting at byte FROM (any bytes,
 * NULs included). Returns 1 and fills *M, or 0 when there is none. */
int txf_pan_find(const char *s, size_t n, size_t from, txf_pan_match *m);

/* What txf_pan_mask_text() masks. */
enum {
  TXF_PAN_MASK_FOUND = 0, /* what txf_pan_find() finds */
  TXF_PAN_MASK_ANY = 1    /* also any 12..19 digits, valid or not: a
                             malformed PAN is still a PAN (quarantine) */
};
/* Mask in place, keeping the length and the separators, every PAN in the
 * N bytes at S (digits past the first 6 and before the last 4 become '*'),
 * until txf_pan_find() finds none. Returns how many were masked. */
size_t txf_pan_mask_text(char *s, size_t n, int mode);

/* ---------------------------------------------------------------- files */

/* mkdir -p with mode 0755. */
TXF_MUST_CHECK int txf_fs_mkdirs(const char *path, txf_err *err);
/* txf_fs_mkdirs() of the directory that holds PATH, so PATH can be
 * created; nothing for a bare name or a path right under /. */
TXF_MUST_CHECK int txf_fs_mkdirs_parent(const char *path, txf_err *err);
/* 1 if PATH exists (any type), 0 if not. */
int txf_fs_exists(const char *path);
int txf_fs_is_dir(const char *path);
/* fsync the directory PATH. */
TXF_MUST_CHECK int txf_fs_fsync_dir(const char *path, txf_err *err);
/* Read the whole file into B (appending); TXF_ETOOBIG past B's cap. */
TXF_MUST_CHECK int txf_fs_read_file(const char *path, txf_buf *b,
                                    txf_err *err);
/* Replace PATH with DATA atomically: write a temp file in the same
 * directory, fsync it, rename over PATH, fsync the directory. A crash
 * leaves the old content or the new, never a mix. */
TXF_MUST_CHECK int txf_fs_write_atomic(const char *path, const void *data,
                                       size_t len, txf_err *err);
/* Rename FROM to TO and fsync TO's directory (and FROM's when different).
 * With NOREPLACE, fail with TXF_EEXIST if TO exists. */
TXF_MUST_CHECK int txf_fs_rename(const char *from, const char *to,
                                 int noreplace, txf_err *err);
/* Swap two existing paths atomically (renameat2 RENAME_EXCHANGE) and fsync
 * their directory. Both must exist on one file system. */
TXF_MUST_CHECK int txf_fs_exchange(const char *a, const char *b, txf_err *err);
/* rm -rf PATH; a missing PATH is not an error. */
TXF_MUST_CHECK int txf_fs_rmtree(const char *path, txf_err *err);
/* Make a new empty directory "<DIR>/.<PREFIX>.tmp-XXXXXX" and return its
 * malloc'd path in *out (caller frees). Used to build a directory before it
 * is renamed into place. */
TXF_MUST_CHECK int txf_fs_mkdtemp_in(char **out, const char *dir,
                                     const char *prefix, txf_err *err);
/* The largest N among DIR's entries named PREFIX followed by digits only
 * (e.g. "version=0000000042"): *MAX = 0 when there are none or DIR does not
 * exist. */
TXF_MUST_CHECK int txf_fs_max_numbered(const char *dir, const char *prefix,
                                       int64_t *max, txf_err *err);
/* DIR's entries whose names end in SUFFIX, sorted, as malloc'd names in
 * *NAMES (N of them; free each and the array). A missing DIR has none. */
TXF_MUST_CHECK int txf_fs_list(const char *dir, const char *suffix,
                               char ***names, size_t *n, txf_err *err);
/* Join path parts with '/'; caller frees. */
char *txf_path_join(const char *a, const char *b);
/* Make PATH absolute against BASE (or the cwd when BASE is NULL); caller
 * frees. An absolute PATH is returned as a copy. */
char *txf_path_abs(const char *base, const char *path);

/* A file written through a temp name and published on commit. */
typedef struct txf_afile {
  FILE *fp;    /* write here */
  char *path;  /* final path */
  char *tmp;   /* temp path in the same directory */
  /* Set by the caller after open: commit starts the writeback but does
   * not wait for it (no fsync of the file nor of its directory after the
   * rename); the caller makes the file and its name durable itself
   * (clean: one syncfs of its staging before the commit point). */
  int defer_sync;
} txf_afile;

TXF_MUST_CHECK int txf_afile_open(txf_afile *af, const char *path,
                                  txf_err *err);
/* Flush, fsync, rename into place, fsync the directory (with
 * AF->defer_sync: flush, start the writeback, rename); frees AF. */
TXF_MUST_CHECK int txf_afile_commit(txf_afile *af, txf_err *err);
/* Drop the temp file; frees AF. Safe after a failed commit or never. */
void txf_afile_abort(txf_afile *af);

/* ---------------------------------------------------------------- strings */

/* Levenshtein distance between A and B (case-sensitive), for "did you
 * mean" hints. */
size_t txf_str_distance(const char *a, const char *b);
/* The candidate closest to WORD, or NULL when none is close enough
 * (distance > max(2, strlen(word)/3)). */
const char *txf_str_closest(const char *word, const char *const *cands,
                            size_t n);
int txf_str_has_prefix(const char *s, const char *prefix);
int txf_str_has_suffix(const char *s, const char *suffix);
/* A growable list of strings, each owned by the list. Zeroed is empty;
 * txf_strlist_release() frees it and leaves it empty. */
typedef struct txf_strlist {
  char **v;
  size_t n;
} txf_strlist;
/* Append a copy of S. */
void txf_strlist_push(txf_strlist *l, const char *s);
/* 1 when L holds a string equal to S. */
int txf_strlist_has(const txf_strlist *l, const char *s);
void txf_strlist_release(txf_strlist *l);
/* Parse a non-negative decimal integer (the whole string); 0 or TXF_EPARSE. */
TXF_MUST_CHECK int txf_parse_u64(const char *s, uint64_t *out);
TXF_MUST_CHECK int txf_parse_i64(const char *s, int64_t *out);
TXF_MUST_CHECK int txf_parse_double(const char *s, double *out);
/* S as a new JSON string (jansson's json_t; the caller owns it) even when
 * S is not UTF-8: then every byte past ASCII becomes U+FFFD, so a hostile
 * file or value cannot break a JSON answer. Never NULL. */
struct json_t *txf_json_text(const char *s);

/* ---------------------------------------------------------------- clock */

/* Monotonic time for measuring durations. */
int64_t txf_mono_us(void);
/* The CPU time this process has used so far, every thread's: what a
 * measurement on a shared machine reads (wall time there is mostly
 * waiting for a core). */
int64_t txf_cpu_us(void);
/* The CPU time the calling thread alone has used so far. */
int64_t txf_thread_cpu_us(void);
/* Wall clock, UTC microseconds since the epoch. Commands take "now" from
 * their context (tests pin it); this is the real clock behind it. */
int64_t txf_wall_us(void);

/* ---------------------------------------------------------------- progress */

/* A one-line progress bar on stderr, shown only when stderr is a TTY (and
 * FORCE is not -1); silent otherwise, so logs stay clean. */
typedef struct txf_progress {
  const char *label;
  uint64_t total; /* 0 = unknown */
  uint64_t done;
  int64_t last_draw_us;
  int64_t start_us;
  int active; /* drawing at all */
  FILE *out;
} txf_progress;

void txf_progress_start(txf_progress *p, const char *label, uint64_t total);
void txf_progress_update(txf_progress *p, uint64_t done);
void txf_progress_finish(txf_progress *p);

/* ---------------------------------------------------------------- sandbox */

/* From now on, the calling thread and the threads it starts may not
 * create, change or remove any file except beneath WRITABLE_DIR (NULL:
 * none), nor open or accept TCP connections (where the kernel can tell):
 * Linux's Landlock. Reading stays allowed, and so does writing to what is
 * already open (stdout). It cannot be undone. TXF_EUNSUPPORTED (nothing
 * changed) on a kernel without Landlock; TXF_EIO if setting it up failed
 * (the thread may then be partly restricted). */
TXF_MUST_CHECK int txf_sandbox_enter(const char *writable_dir, txf_err *err);

#endif /* TXF_UTIL_H */
