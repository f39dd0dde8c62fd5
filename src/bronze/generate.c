/* txnflow generate: one synthetic bronze batch and its truth.
 *
 * The batch of ingestion day D is every (transaction, version) delivery
 * whose delivery day is D. Deliveries trail their event day by at most
 * FEED_MAX_TRAIL days, so scanning the event days D-11..D in index order
 * finds them all without reading anything written before: memory stays a
 * few output buffers whatever --rows is. Lines are formatted by hand into a
 * large buffer and hashed (SHA-256 of the bytes on disk) as they are
 * written. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "bronze/feed.h"
#include "pan/pan.h"

#define OUT_FLUSH (1u << 20)
#define OUT_CAP (OUT_FLUSH + 4096)

void txf_gen_params_default(txf_gen_params *p) {
  memset(p, 0, sizeof *p);
  p->seed = 42;
  p->rows = 5000;
  p->dup_rate = 0.02;
  p->version_rate = 0.03;
  p->late_rate = 0.05;
  p->malformed_rate = 0.001;
  p->stale_rate = 0.005;
  p->refund_rate = 0.01;
  p->customers = 200000;
  p->merchants = 20000;
  p->part_rows = 2000000;
  p->compress_zstd = 0;
  p->timezone = "Asia/Seoul";
}

static int rate_ok(double r, double max) { return r >= 0 && r <= max; }

int txf_gen_params_check(const txf_gen_params *p, txf_err *err) {
  if (p->rows < 1 || p->rows > FEED_MAX_ROWS)
    return txf_err_set(err, TXF_EUSAGE, "rows: %lld is not 1..%lld",
                       (long long)p->rows, (long long)FEED_MAX_ROWS);
  if (p->seed > (uint64_t)INT64_MAX)
    return txf_err_set(err, TXF_EUSAGE, "seed: must be below 2^63");
  const struct {
    const char *name;
    double v, max;
  } rates[] = {{"dup-rate", p->dup_rate, 0.5},
               {"version-rate", p->version_rate, 0.5},
               {"late-rate", p->late_rate, 0.5},
               {"malformed-rate", p->malformed_rate, 0.5},
               {"stale-rate", p->stale_rate, 0.5},
               {"refund-rate", p->refund_rate, 0.5}};
  for (size_t i = 0; i < TXF_ARRAY_LEN(rates); i++)
    if (!rate_ok(rates[i].v, rates[i].max))
      return txf_err_set(err, TXF_EUSAGE, "%s: %g is not between 0 and %g",
                         rates[i].name, rates[i].v, rates[i].max);
  if (p->stale_rate > p->version_rate)
    return txf_err_set(err, TXF_EUSAGE,
                       "stale-rate: %g is above version-rate %g (a stale "
                       "re-delivery needs a newer version)",
                       p->stale_rate, p->version_rate);
  if (p->customers < 1 || p->customers > 99999999)
    return txf_err_set(err, TXF_EUSAGE,
                       "customers: %lld is not 1..99,999,999",
                       (long long)p->customers);
  if (p->merchants < 100 || p->merchants > 9999999)
    return txf_err_set(err, TXF_EUSAGE,
                       "merchants: %lld is not 100..9,999,999",
                       (long long)p->merchants);
  if (p->part_rows < 1)
    return txf_err_set(err, TXF_EUSAGE, "part-rows: must be at least 1");
  if (!p->timezone || !*p->timezone)
    return txf_err_set(err, TXF_EUSAGE, "timezone: empty");
  return 0;
}

char *txf_bronze_batch_dir(const char *data_dir, txf_date day) {
  char d[11];
  txf_date_format(day, d);
  return txf_xasprintf("%s/bronze/transactions/ingest_date=%s", data_dir, d);
}

int txf_bronze_batch_sha256(const char *data_dir, txf_date day, char hex[65],
                            txf_err *err) {
  char *dir = txf_bronze_batch_dir(data_dir, day);
  char *path = txf_path_join(dir, "_manifest.json");
  int rc = txf_sha256_file(path, hex, NULL, err);
  free(path);
  free(dir);
  return rc;
}

char *txf_truth_batch_dir(const char *data_dir, txf_date day) {
  char d[11];
  txf_date_format(day, d);
  return txf_xasprintf("%s/truth/transactions/ingest_date=%s", data_dir, d);
}

/* ------------------------------------------------------------ output */

/* A file written through a buffer: plain or zstd, hashed as written. */
typedef struct sink {
  int fd;
  char *path;
  txf_sha256 sha;
  int hashing;
  uint64_t size_bytes;
  uint64_t synced_bytes; /* writeback started up to here */
  ZSTD_CCtx *z;
  char *zbuf;
  size_t zcap;
} sink;

static int sink_open(sink *s, const char *path, int hash, int zstd,
                     txf_err *err) {
  memset(s, 0, sizeof *s);
  s->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (s->fd < 0)
    return txf_err_errno(err, TXF_EIO, "cannot create %s", path);
  s->path = txf_xstrdup(path);
  if (hash) {
    txf_sha256_init(&s->sha);
    s->hashing = 1;
  }
  if (zstd) {
    s->z = ZSTD_createCCtx();
    if (!s->z)
      return txf_err_set(err, TXF_EINTERNAL, "zstd: cannot create context");
    ZSTD_CCtx_setParameter(s->z, ZSTD_c_compressionLevel, 1);
    ZSTD_CCtx_setParameter(s->z, ZSTD_c_checksumFlag, 1);
    s->zcap = ZSTD_CStreamOutSize();
    s->zbuf = txf_xmalloc(s->zcap);
  }
  return 0;
}

/* Start writeback of what was written since the last call every 8 MiB,
 * so the final fsync has little left to do and dirty pages do not pile
 * up (the kernel otherwise throttles the writer in bursts). */
#define WRITEBACK_STEP (8u << 20)

static int write_all(sink *s, const char *p, size_t n, txf_err *err) {
  if (s->hashing)
    txf_sha256_update(&s->sha, p, n);
  if ((s->size_bytes + n) / WRITEBACK_STEP != s->size_bytes / WRITEBACK_STEP &&
      s->size_bytes >= s->synced_bytes + WRITEBACK_STEP) {
    (void)sync_file_range(s->fd, (off64_t)s->synced_bytes,
                          (off64_t)(s->size_bytes - s->synced_bytes),
                          SYNC_FILE_RANGE_WRITE);
    s->synced_bytes = s->size_bytes;
  }
  s->size_bytes += n;
  while (n) {
    ssize_t w = write(s->fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return txf_err_errno(err, TXF_EIO, "write %s", s->path);
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int zstd_feed(sink *s, const char *p, size_t n, ZSTD_EndDirective end,
                     txf_err *err) {
  ZSTD_inBuffer in = {p, n, 0};
  for (;;) {
    ZSTD_outBuffer out = {s->zbuf, s->zcap, 0};
    size_t left = ZSTD_compressStream2(s->z, &out, &in, end);
    if (ZSTD_isError(left))
      return txf_err_set(err, TXF_EINTERNAL, "zstd: %s",
                         ZSTD_getErrorName(left));
    if (out.pos) {
      int rc = write_all(s, s->zbuf, out.pos, err);
      if (rc)
        return rc;
    }
    if (end == ZSTD_e_end ? left == 0 : in.pos == in.size)
      return 0;
  }
}

static int sink_write(sink *s, const char *p, size_t n, txf_err *err) {
  return s->z ? zstd_feed(s, p, n, ZSTD_e_continue, err)
              : write_all(s, p, n, err);
}

/* Flush, fsync and close; HEX gets the SHA-256 when hashing. */
static int sink_finish(sink *s, char hex[65], txf_err *err) {
  int rc = 0;
  if (s->z)
    rc = zstd_feed(s, "", 0, ZSTD_e_end, err);
  if (!rc && fsync(s->fd) != 0)
    rc = txf_err_errno(err, TXF_EIO, "fsync %s", s->path);
  if (close(s->fd) != 0 && !rc)
    rc = txf_err_errno(err, TXF_EIO, "close %s", s->path);
  s->fd = -1;
  if (s->hashing) {
    char tmp[65];
    txf_sha256_final_hex(&s->sha, hex ? hex : tmp);
    s->hashing = 0;
  }
  return rc;
}

static void sink_release(sink *s) {
  if (s->fd >= 0 && s->path)
    close(s->fd);
  if (s->hashing) {
    char tmp[65];
    txf_sha256_final_hex(&s->sha, tmp);
  }
  ZSTD_freeCCtx(s->z);
  free(s->zbuf);
  free(s->path);
  memset(s, 0, sizeof *s);
  s->fd = -1;
}

/* ------------------------------------------------------------ formatting */

static const char digits2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536"
    "37383940414243444546474849505152535455565758596061626364656667686970717273"
    "7475767778798081828384858687888990919293949596979899";

/* V as exactly W digits (zero-padded, W <= 20). */
static inline char *put_fixed(char *p, uint64_t v, int w) {
  char *e = p + w;
  char *q = e;
  while (q - p >= 2) {
    q -= 2;
    memcpy(q, digits2 + (v % 100) * 2, 2);
    v /= 100;
  }
  if (q > p)
    *--q = (char)('0' + v % 10);
  return e;
}

static inline char *put_uint(char *p, uint64_t v) {
  char tmp[24];
  char *q = tmp + sizeof tmp;
  do {
    *--q = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  size_t n = (size_t)(tmp + sizeof tmp - q);
  memcpy(p, q, n);
  return p + n;
}

static inline char *put_strn(char *p, const char *s, size_t n) {
  memcpy(p, s, n);
  return p + n;
}

static inline char *put_str(char *p, const char *s) {
  size_t n = strlen(s);
  memcpy(p, s, n);
  return p + n;
}

typedef struct dayinfo {
  char iso[11]; /* YYYY-MM-DD */
  char ymd[9];  /* YYYYMMDD */
} dayinfo;

typedef struct gen {
  feed f;
  txf_date batch;
  int32_t first; /* first day of f's window (dayinfo index 0) */
  dayinfo days[FEED_WINDOW];
  char *bronze_tmp, *truth_tmp;
  sink part, truth;
  int part_open;
  int part_no;
  char part_name[32];
  size_t part_name_len;
  int64_t part_rows;
  txf_manifest_file *files;
  size_t n_files, cap_files;
  char *out, *tout;
  size_t out_len, tout_len;
  uint64_t mal_seq;
  int64_t emitted;
  txf_gen_stats st;
  txf_progress *prog;
} gen;

static const dayinfo *day_of(gen *g, int32_t day, dayinfo *tmp) {
  int32_t k = day - g->first;
  if (k >= 0 && k < FEED_WINDOW)
    return &g->days[k];
  txf_date_format((txf_date){day}, tmp->iso);
  memcpy(tmp->ymd, tmp->iso, 4);
  memcpy(tmp->ymd + 4, tmp->iso + 5, 2);
  memcpy(tmp->ymd + 6, tmp->iso + 8, 2);
  tmp->ymd[8] = '\0';
  return tmp;
}

/* "YYYY-MM-DDTHH:MM:SS[.mmm]+HH:MM" in the feed's zone. */
static char *put_ts(gen *g, char *p, int64_t ts_us, int ms) {
  int32_t day, off;
  int64_t us;
  txf_feed_to_local(&g->f, ts_us, &day, &us, &off);
  dayinfo tmp;
  const dayinfo *di = day_of(g, day, &tmp);
  memcpy(p, di->iso, 10);
  p += 10;
  *p++ = 'T';
  int64_t s = us / TXF_US_PER_S;
  p = put_fixed(p, (uint64_t)(s / 3600), 2);
  *p++ = ':';
  p = put_fixed(p, (uint64_t)(s / 60 % 60), 2);
  *p++ = ':';
  p = put_fixed(p, (uint64_t)(s % 60), 2);
  if (ms) {
    *p++ = '.';
    p = put_fixed(p, (uint64_t)(us / 1000 % 1000), 3);
  }
  int32_t a = off < 0 ? -off : off;
  *p++ = off < 0 ? '-' : '+';
  p = put_fixed(p, (uint64_t)(a / 3600), 2);
  *p++ = ':';
  p = put_fixed(p, (uint64_t)(a / 60 % 60), 2);
  return p;
}

static char *put_id(gen *g, char *p, char prefix, int32_t day, uint64_t n) {
  dayinfo tmp;
  const dayinfo *di = day_of(g, day, &tmp);
  *p++ = prefix;
  memcpy(p, di->ymd, 8);
  p += 8;
  *p++ = '-';
  return put_fixed(p, n, 8);
}

static char *put_amount(char *p, int64_t minor, int cur) {
  if (txf_feed_currencies[cur].scale == 0)
    return put_uint(p, (uint64_t)minor);
  p = put_uint(p, (uint64_t)(minor / 100));
  *p++ = '.';
  return put_fixed(p, (uint64_t)(minor % 100), 2);
}

/* The fields of a record: the bronze columns, and card_number in a pan
 * feed. */
static int n_cols(const gen *g) {
  return TXF_BRONZE_N_COLS + (g->f.p.pan ? 1 : 0);
}

/* Card CARD's number as a processor may write it: PAN_FMT 0 plain, 1 in
 * groups of four with spaces, 2 with dashes. */
static char *put_card_number(gen *g, char *p, uint32_t card, int pan_fmt) {
  char pan[17];
  txf_feed_card_number(&g->f, card, pan);
  for (int i = 0; i < 16; i++) {
    if (pan_fmt && i && i % 4 == 0)
      *p++ = pan_fmt == 1 ? ' ' : '-';
    *p++ = pan[i];
  }
  return p;
}

/* One CSV record (with '\n') for T at version V (1 or 2), id prefix and
 * number given, its card number (pan feeds) written as PAN_FMT says. OFFS
 * (may be NULL) gets the start of each of the n_cols() fields and
 * offs[n_cols()] the position of the '\n'. Returns the end. */
static char *put_line(gen *g, char *p, const feed_plan *pl, const feed_txn *t,
                      int v, char prefix, int32_t id_day, uint64_t id_n,
                      int pan_fmt, char **offs) {
  char *start[TXF_BRONZE_N_COLS + 2];
  start[0] = p;
  p = put_id(g, p, prefix, id_day, id_n);
  *p++ = ',';
  start[1] = p;
  *p++ = 'C';
  p = put_fixed(p, t->customer, 8);
  *p++ = ',';
  start[2] = p;
  *p++ = 'K';
  p = put_fixed(p, t->card, 9);
  *p++ = ',';
  start[3] = p;
  *p++ = 'M';
  p = put_fixed(p, t->merchant, 7);
  *p++ = ',';
  start[4] = p;
  p = put_ts(g, p, v == 1 ? t->ts_us : t->ts2_us, 0);
  *p++ = ',';
  start[5] = p;
  p = put_amount(p, v == 1 ? t->amount_minor : t->amount2_minor,
                 t->currency);
  *p++ = ',';
  start[6] = p;
  memcpy(p, txf_feed_currencies[t->currency].code, 3); /* ISO 4217: 3 letters */
  p += 3;
  *p++ = ',';
  start[7] = p;
  memcpy(p, txf_feed_mccs[t->mcc].code, 4);
  p += 4;
  *p++ = ',';
  start[8] = p;
  static const uint8_t status_len[4] = {8, 8, 7, 8};
  int stv = v == 1 ? pl->status1 : pl->status2;
  p = put_strn(p, txf_feed_status_names[stv], status_len[stv]);
  *p++ = ',';
  start[9] = p;
  p = put_str(p, t->is_refund ? "true" : "false");
  *p++ = ',';
  start[10] = p;
  static const uint8_t chan_len[3] = {6, 3, 6};
  p = put_strn(p, txf_feed_channel_names[t->channel], chan_len[t->channel]);
  *p++ = ',';
  start[11] = p;
  p = put_ts(g, p, v == 1 ? t->ingested1_us : t->ingested2_us, 1);
  *p++ = ',';
  start[12] = p;
  if (t->is_refund)
    p = put_id(g, p, 'T', t->orig_day, t->orig_index);
  if (g->f.p.pan) {
    *p++ = ',';
    start[13] = p;
    p = put_card_number(g, p, t->card, pan_fmt);
  }
  start[n_cols(g)] = p;
  *p++ = '\n';
  if (offs)
    memcpy(offs, start, (size_t)(n_cols(g) + 1) * sizeof *start);
  return p;
}

/* ------------------------------------------------------------ batch */

/* Write the *LEN bytes buffered in BUF to S and empty BUF. */
static int sink_flush(sink *s, const char *buf, size_t *len, txf_err *err) {
  int rc = 0;
  if (*len)
    rc = sink_write(s, buf, *len, err);
  *len = 0;
  return rc;
}

static int part_close(gen *g, txf_err *err) {
  if (!g->part_open)
    return 0;
  int rc = sink_flush(&g->part, g->out, &g->out_len, err);
  if (g->n_files == g->cap_files) {
    g->cap_files = g->cap_files ? 2 * g->cap_files : 8;
    g->files = txf_xrealloc(g->files, g->cap_files * sizeof *g->files);
  }
  txf_manifest_file *mf = &g->files[g->n_files++];
  memset(mf, 0, sizeof *mf);
  mf->name = txf_xstrdup(g->part_name);
  mf->rows = g->part_rows;
  if (!rc)
    rc = sink_finish(&g->part, mf->sha256, err);
  mf->size_bytes = g->part.size_bytes;
  g->st.size_bytes += g->part.size_bytes;
  sink_release(&g->part);
  g->part_open = 0;
  return rc;
}

static int part_open(gen *g, txf_err *err) {
  snprintf(g->part_name, sizeof g->part_name, "part-%05d.csv%s", g->part_no++,
           g->f.p.compress_zstd ? ".zst" : "");
  g->part_name_len = strlen(g->part_name);
  char *path = txf_path_join(g->bronze_tmp, g->part_name);
  int rc = sink_open(&g->part, path, 1, g->f.p.compress_zstd, err);
  free(path);
  if (rc)
    return rc;
  g->part_open = 1;
  g->part_rows = 0;
  g->st.n_files++;
  char *p = g->out;
  for (int i = 0; i < TXF_BRONZE_N_COLS; i++) {
    if (i)
      *p++ = ',';
    p = put_str(p, txf_bronze_columns[i]);
  }
  if (g->f.p.pan)
    p = put_str(p, ",card_number");
  *p++ = '\n';
  g->out_len = (size_t)(p - g->out);
  return 0;
}

static const char *const kind_names[] = {"new", "redelivery", "version",
                                         "redelivery", "stale_redelivery"};

/* Start a record: roll the part over when full. Returns where to write. */
static int begin_line(gen *g, txf_err *err) {
  if (g->part_rows >= g->f.p.part_rows) {
    int rc = part_close(g, err);
    if (!rc)
      rc = part_open(g, err);
    if (rc)
      return rc;
  }
  int rc = 0;
  if (g->out_len >= OUT_FLUSH)
    rc = sink_flush(&g->part, g->out, &g->out_len, err);
  if (!rc && g->tout_len >= OUT_FLUSH)
    rc = sink_flush(&g->truth, g->tout, &g->tout_len, err);
  return rc;
}

/* The truth row of the record just written: "file,line,id,kind,defect". */
static void end_line(gen *g, const char *id, size_t id_len, const char *kind,
                     const char *defect) {
  g->part_rows++;
  g->st.lines++;
  char *p = g->tout + g->tout_len;
  p = put_strn(p, g->part_name, g->part_name_len);
  *p++ = ',';
  p = put_uint(p, (uint64_t)g->part_rows);
  *p++ = ',';
  memcpy(p, id, id_len);
  p += id_len;
  *p++ = ',';
  p = put_str(p, kind);
  *p++ = ',';
  if (defect)
    p = put_str(p, defect);
  *p++ = '\n';
  g->tout_len = (size_t)(p - g->tout);
  if (g->prog && (g->st.lines & 0xFFFF) == 0)
    txf_progress_update(g->prog, (uint64_t)g->st.lines);
}

static const char *const defect_names[] = {
    "wrong_columns", "bad_amount",   "bad_timestamp", "unknown_enum",
    "empty_id",      "invalid_utf8", "stray_quote",   "bad_card_number"};

/* Replace field K of the record of NC fields in [offs[0], offs[NC]] by REP
 * (N bytes), writing the result at DST. Returns the end (after '\n'). */
static char *replace_field(char *dst, char **offs, int nc, int k,
                           const char *rep, size_t n) {
  char *p = dst;
  size_t a = (size_t)(offs[k] - offs[0]);
  memmove(p, offs[0], a);
  p += a;
  memcpy(p, rep, n);
  p += n;
  const char *rest = k == nc - 1 ? offs[nc] : offs[k + 1] - 1;
  size_t r = (size_t)(offs[nc] + 1 - rest);
  memmove(p, rest, r);
  return p + r;
}

/* A malformed record: a plausible line with one defect that makes it
 * invalid under the validation rules of docs/feed.md. Its id ("X" + batch
 * date + sequence, or empty) never names a transaction. */
static int emit_malformed(gen *g, txf_err *err) {
  int rc = begin_line(g, err);
  if (rc)
    return rc;
  uint64_t seq = ++g->mal_seq;
  uint64_t h = txf_feed_hash(&g->f, g->batch.days, seq, 0x4D414C);
  feed_plan pl;
  feed_txn t;
  uint32_t fake = (uint32_t)(FEED_MAX_ROWS + 1 + (seq % 1000000));
  txf_feed_plan_of(&g->f, g->batch.days, fake, &pl);
  /* Shaped like an on-time event of the batch day. */
  pl.has_version = 0;
  pl.lag = 0;
  pl.day[FEED_K_NEW] = g->batch.days;
  txf_feed_txn_of(&g->f, g->batch.days, fake, &pl, &t);
  char line[512], *offs[TXF_BRONZE_N_COLS + 2];
  char *end = put_line(g, line, &pl, &t, 1, 'X', g->batch.days, seq, 0, offs);
  int nc = n_cols(g);
  /* A pan feed has an eighth defect, a malformed card number. */
  int defect = (int)(h % (g->f.p.pan ? 8 : 7));
  unsigned pick = (unsigned)((h >> 8) % 5);
  char *dst = g->out + g->out_len, *p = dst;
  size_t len = (size_t)(end - line);
  switch (defect) {
  case 0: /* wrong_columns: a field missing or one too many */
    if (pick & 1) {
      size_t cut = (size_t)(offs[nc - 1] - 1 - line); /* drop the last */
      memcpy(p, line, cut);
      p += cut;
      *p++ = '\n';
    } else {
      memcpy(p, line, len - 1);
      p += len - 1;
      p = put_str(p, ",extra\n");
    }
    break;
  case 1: { /* bad_amount */
    static const char *const bad[] = {"12.345", "-5", "abc", "0", "1.2.3"};
    p = replace_field(p, offs, nc, 5, bad[pick], strlen(bad[pick]));
    break;
  }
  case 2: { /* bad_timestamp: no offset, no such day or hour, not a time */
    static const char *const bad[] = {"2025-09-01T13:45:12",
                                      "2025-02-30T10:00:00+09:00",
                                      "2025-09-01T25:10:00+09:00",
                                      "not-a-time", "2025/09/01 13:45:12"};
    p = replace_field(p, offs, nc, (h >> 20) & 1 ? 11 : 4, bad[pick],
                      strlen(bad[pick]));
    break;
  }
  case 3: { /* unknown_enum */
    static const int col[] = {8, 10, 9};
    static const char *const bad[] = {"settled", "atm", "maybe"};
    int w = (int)(pick % 3);
    p = replace_field(p, offs, nc, col[w], bad[w], strlen(bad[w]));
    break;
  }
  case 4: /* empty_id */
    p = replace_field(p, offs, nc, 0, "", 0);
    break;
  case 5: { /* invalid_utf8: a lone continuation byte / truncated sequence */
    static const char *const bad[] = {"M00\xFF", "M\xC3\x28", "M\x80\x80"};
    int w = (int)(pick % 3);
    p = replace_field(p, offs, nc, 3, bad[w], strlen(bad[w]));
    break;
  }
  case 7: { /* bad_card_number: a wrong check digit, or 15 digits */
    char pan[17];
    txf_feed_card_number(&g->f, t.card, pan);
    if (pick & 1)
      pan[15] = (char)('0' + (pan[15] - '0' + 1 + pick % 9) % 10);
    else if (txf_pan_luhn_ok(pan, 15)) /* 15 digits that still pass */
      pan[14] = (char)('0' + (pan[14] - '0' + 1) % 10);
    p = replace_field(p, offs, nc, 13, pan, pick & 1 ? 16 : 15);
    break;
  }
  case 6: { /* stray_quote: a quote inside an unquoted field */
    char amt[48];
    size_t n = (size_t)(offs[6] - 1 - offs[5]);
    memcpy(amt, offs[5], 1);
    amt[1] = '"';
    memcpy(amt + 2, offs[5] + 1, n - 1);
    p = replace_field(p, offs, nc, 5, amt, n + 1);
    break;
  }
  }
  g->out_len += (size_t)(p - dst);
  /* The id as written: the first field of the malformed record. */
  const char *id = dst;
  size_t id_len = 0;
  while (dst + id_len < p && dst[id_len] != ',' && dst[id_len] != '\n')
    id_len++;
  g->st.n_malformed++;
  end_line(g, id, id_len, "malformed", defect_names[defect]);
  return 0;
}

static int emit(gen *g, const feed_plan *pl, const feed_txn *t, int kind,
                txf_err *err) {
  int rc = begin_line(g, err);
  if (rc)
    return rc;
  int v = kind == FEED_K_VERSION || kind == FEED_K_REDELIVER2 ? 2 : 1;
  char *dst = g->out + g->out_len;
  /* Processors write a card number plain, or grouped by spaces or
   * dashes: 1 line in 20 each, decided per line. */
  int pan_fmt = 0;
  if (g->f.p.pan) {
    uint64_t hf =
        txf_feed_hash(&g->f, g->batch.days, (uint64_t)g->emitted, 0x50414E);
    pan_fmt = hf % 20 == 0 ? 1 : hf % 20 == 1 ? 2 : 0;
  }
  char *end = put_line(g, dst, pl, t, v, 'T', t->day, t->index, pan_fmt, NULL);
  g->out_len += (size_t)(end - dst);
  switch (kind) {
  case FEED_K_NEW:
    g->st.n_new++;
    if (t->day < g->batch.days)
      g->st.n_late++;
    if (t->is_refund)
      g->st.n_refund++;
    break;
  case FEED_K_VERSION:
    g->st.n_version++;
    break;
  case FEED_K_STALE:
    g->st.n_stale++;
    break;
  default:
    g->st.n_redelivery++;
  }
  end_line(g, dst, 18, kind_names[kind], NULL);
  /* A malformed line now and then, decided per emitted line. */
  uint64_t h =
      txf_feed_hash(&g->f, g->batch.days, (uint64_t)g->emitted++, 0x4241);
  if ((uint32_t)h < g->f.thr_malformed)
    return emit_malformed(g, err);
  return 0;
}

static int run_batch(gen *g, txf_err *err) {
  int rc = part_open(g, err);
  if (rc)
    return rc;
  int32_t d = g->batch.days;
  uint32_t rows = (uint32_t)g->f.p.rows;
  for (int32_t e = d - FEED_MAX_TRAIL; e <= d && !rc; e++) {
    uint64_t dk = txf_feed_day_key(&g->f, e);
    for (uint32_t i = 0; i < rows && !rc; i++) {
      /* Earlier days: only the few that trail can have a delivery today. */
      if (e < d && !txf_feed_may_trail(&g->f, dk, i))
        continue;
      feed_plan pl;
      txf_feed_plan_of(&g->f, e, i, &pl);
      int any = 0;
      for (int k = 0; k < FEED_K_COUNT; k++)
        any |= pl.day[k] == d;
      if (!any)
        continue;
      feed_txn t;
      txf_feed_txn_of(&g->f, e, i, &pl, &t);
      for (int k = 0; k < FEED_K_COUNT && !rc; k++)
        if (pl.day[k] == d)
          rc = emit(g, &pl, &t, k, err);
    }
  }
  if (!rc)
    rc = part_close(g, err);
  if (!rc)
    rc = sink_flush(&g->truth, g->tout, &g->tout_len, err);
  return rc;
}

static json_t *params_json(const txf_gen_params *p) {
  json_t *o = json_object();
  json_object_set_new(o, "model", json_string("txnflow-feed/1"));
  json_object_set_new(o, "seed", json_integer((json_int_t)p->seed));
  json_object_set_new(o, "rows", json_integer(p->rows));
  json_object_set_new(o, "dup_rate", json_real(p->dup_rate));
  json_object_set_new(o, "version_rate", json_real(p->version_rate));
  json_object_set_new(o, "late_rate", json_real(p->late_rate));
  json_object_set_new(o, "malformed_rate", json_real(p->malformed_rate));
  json_object_set_new(o, "stale_rate", json_real(p->stale_rate));
  json_object_set_new(o, "refund_rate", json_real(p->refund_rate));
  json_object_set_new(o, "customers", json_integer(p->customers));
  json_object_set_new(o, "merchants", json_integer(p->merchants));
  json_object_set_new(o, "part_rows", json_integer(p->part_rows));
  json_object_set_new(o, "compress",
                      json_string(p->compress_zstd ? "zstd" : "none"));
  json_object_set_new(o, "timezone", json_string(p->timezone));
  if (p->pan) /* only when on: older manifests stay as they were */
    json_object_set_new(o, "pan", json_true());
  return o;
}

/* ------------------------------------------------------------ publish
 *
 * A batch lives in two directories, bronze/transactions/ingest_date=D and
 * truth/transactions/ingest_date=D, which no single rename can swap
 * together. So:
 * - a run holds DATA/locks/generate-D.lock (flock) from start to end, so
 *   two generates of one date never meet, and only the lock holder touches
 *   D's temp dirs;
 * - the truth dir carries TIE_NAME, the SHA-256 of the bronze manifest it
 *   belongs to;
 * - both dirs are staged and fsynced in temp dirs, then the truth is
 *   swapped in, then the bronze (the commit point); the old dirs, now at
 *   the temp names, are removed last;
 * - a run first settles what an interrupted one left: when the truth in
 *   place does not match the bronze in place, the truth that does (kept
 *   at a temp name) is swapped back, or, with no bronze at all, the truth
 *   is moved away. So after a crash at any point, the next run starts
 *   from the previous batch (crash before the bronze swap) or the new one
 *   (after it), each with its own truth. */

#define TIE_NAME "_bronze.sha256"

/* Temp dirs of this date's runs: ".NAME.tmp-*" in PARENT. */
static int glob_leftovers(const char *parent, const char *name, glob_t *gl) {
  char *pat = txf_xasprintf("%s/.%s.tmp-*", parent, name);
  int rc = glob(pat, 0, NULL, gl);
  free(pat);
  return rc == 0;
}

/* Remove temp dirs killed runs left for this date (lock held). */
static void remove_leftovers(const char *parent, const char *name) {
  glob_t gl;
  if (glob_leftovers(parent, name, &gl)) {
    /* Best effort: a leftover is invisible to readers anyway. */
    for (size_t i = 0; i < gl.gl_pathc; i++) {
      txf_err e;
      int rc = txf_fs_rmtree(gl.gl_pathv[i], &e);
      (void)rc;
    }
    globfree(&gl);
  }
}

/* HEX gets the SHA-256 of DIR/_manifest.json; 0 when there is none. */
static int manifest_sha(const char *dir, char hex[65]) {
  char *path = txf_path_join(dir, "_manifest.json");
  uint64_t size;
  txf_err e;
  int ok = txf_fs_exists(path) && txf_sha256_file(path, hex, &size, &e) == 0;
  free(path);
  return ok;
}

/* HEX gets the tie of truth dir DIR (the first 64 bytes of TIE_NAME):
 * 1 when it has a valid one; 0 when it has none (a truth from before ties,
 * or no truth); -1 when the tie is there but damaged (unreadable, too long,
 * not hex), with HEX empty so it matches no batch. */
static int read_tie(const char *dir, char hex[65]) {
  char *path = txf_path_join(dir, TIE_NAME);
  hex[0] = '\0';
  if (!txf_fs_exists(path)) {
    free(path);
    return 0;
  }
  txf_buf b;
  txf_buf_init(&b, 4096);
  txf_err e;
  int ok = txf_fs_read_file(path, &b, &e) == 0 && b.len >= 64;
  for (size_t i = 0; ok && i < 64; i++)
    ok = (b.data[i] >= '0' && b.data[i] <= '9') ||
         (b.data[i] >= 'a' && b.data[i] <= 'f');
  if (ok) {
    memcpy(hex, b.data, 64);
    hex[64] = '\0';
  }
  txf_buf_release(&b);
  free(path);
  return ok ? 1 : -1;
}

static int lock_date(const char *data_dir, const char *date, int *fd_out,
                     txf_err *err) {
  *fd_out = -1;
  char *dir = txf_path_join(data_dir, "locks");
  int rc = txf_fs_mkdirs(dir, err);
  char *path = txf_xasprintf("%s/generate-%s.lock", dir, date);
  free(dir);
  int fd = -1;
  if (!rc) {
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      rc = txf_err_errno(err, TXF_EIO, "%s: cannot open", path);
  }
  if (!rc && flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      char buf[32] = {0};
      ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
      long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
      rc = pid > 0 ? txf_err_set(err, TXF_ELOCKED,
                                 "another generate of %s is running (pid "
                                 "%ld holds %s)",
                                 date, pid, path)
                   : txf_err_set(err, TXF_ELOCKED,
                                 "another generate of %s is running (%s "
                                 "is locked)",
                                 date, path);
    } else {
      rc = txf_err_errno(err, TXF_EIO, "%s: cannot lock", path);
    }
  }
  if (rc) {
    if (fd >= 0)
      close(fd);
    free(path);
    return rc;
  }
  /* The pid is only for the message of whoever finds the lock taken. */
  char buf[32];
  int len = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)len, 0) != len) {
    /* the lock holds regardless */
  }
  free(path);
  *fd_out = fd;
  return 0;
}

static void unlock_date(int fd) {
  if (fd < 0)
    return;
  /* Keep the file: unlinking it would let a waiter lock a dead inode. */
  if (ftruncate(fd, 0) != 0) {
    /* cosmetic */
  }
  close(fd);
}

int txf_bronze_lock_day(const char *data_dir, txf_date day, int *fd,
                        txf_err *err) {
  char d[11];
  txf_date_format(day, d);
  int rc = lock_date(data_dir, d, fd, err);
  if (!rc) {
    char *parent = txf_path_join(data_dir, "bronze/transactions");
    char *name = txf_xasprintf("ingest_date=%s", d);
    remove_leftovers(parent, name);
    free(parent);
    free(name);
  }
  return rc;
}

void txf_bronze_unlock_day(int fd) { unlock_date(fd); }

/* Where date D's batch and truth live, and their parents (where the temp
 * dirs and leftovers of a run are). */
typedef struct batch_paths {
  char date[11]; /* YYYY-MM-DD */
  char *name;    /* ingest_date=D */
  char *bparent, *tparent, *bfinal, *tfinal;
} batch_paths;

static void batch_paths_init(batch_paths *bp, const char *data_dir,
                             txf_date day) {
  txf_date_format(day, bp->date);
  bp->name = txf_xasprintf("ingest_date=%s", bp->date);
  bp->bparent = txf_xasprintf("%s/bronze/transactions", data_dir);
  bp->tparent = txf_xasprintf("%s/truth/transactions", data_dir);
  bp->bfinal = txf_path_join(bp->bparent, bp->name);
  bp->tfinal = txf_path_join(bp->tparent, bp->name);
}

static void batch_paths_release(batch_paths *bp) {
  TXF_FREE_ALL(bp->name, bp->bparent, bp->tparent, bp->bfinal, bp->tfinal);
}

/* Make D's truth match D's bronze after an interrupted run, then remove
 * the run's leftovers. *MISMATCH is set when the truth in place belongs
 * to another batch and no matching one is left to restore (a truth from
 * an older txnflow, or one edited by hand). Lock held. */
static int settle(const batch_paths *bp, int *mismatch, txf_err *err) {
  *mismatch = 0;
  const char *bparent = bp->bparent, *tparent = bp->tparent, *name = bp->name;
  const char *bfinal = bp->bfinal, *tfinal = bp->tfinal;
  char bsha[65], tie[65];
  int has_b = manifest_sha(bfinal, bsha);
  int has_t = txf_fs_is_dir(tfinal);
  /* A damaged tie counts as a tie to no batch: a mismatch. */
  int has_tie = has_t && read_tie(tfinal, tie) != 0;
  int rc = 0;
  if ((has_tie && !(has_b && strcmp(tie, bsha) == 0)) || (!has_t && has_b)) {
    /* The truth that belongs to the bronze in place, among the leftovers:
     * the previous truth (the run died between the two swaps) or the new
     * one (the swaps reached the disk out of order). A truth without a
     * tie is the previous one only if it is the only complete leftover. */
    glob_t gl;
    const char *match = NULL, *untied = NULL;
    int n_untied = 0;
    if (has_b && glob_leftovers(tparent, name, &gl)) {
      for (size_t i = 0; i < gl.gl_pathc && !match; i++) {
        char lt[65], *lines = txf_path_join(gl.gl_pathv[i], "lines.csv");
        int complete = txf_fs_exists(lines);
        free(lines);
        if (!complete)
          continue;
        int t = read_tie(gl.gl_pathv[i], lt);
        if (t > 0) {
          if (strcmp(lt, bsha) == 0)
            match = gl.gl_pathv[i];
        } else if (t == 0) {
          untied = gl.gl_pathv[i];
          n_untied++;
        }
      }
      if (!match && n_untied == 1 && has_tie)
        match = untied;
      if (match)
        rc = has_t ? txf_fs_exchange(match, tfinal, err)
                   : txf_fs_rename(match, tfinal, 1, err);
      else
        *mismatch = has_t;
      globfree(&gl);
    } else if (!has_b && !txf_fs_exists(bfinal)) {
      /* A first batch whose bronze never made it: back to nothing. The
       * truth moves to a temp name (atomic), removed with the leftovers. */
      char *aside = NULL;
      rc = txf_fs_mkdtemp_in(&aside, tparent, name, err);
      if (!rc)
        rc = txf_fs_rename(tfinal, aside, 0, err);
      free(aside);
    } else {
      *mismatch = has_t;
    }
  }
  if (!rc) {
    remove_leftovers(bparent, name);
    remove_leftovers(tparent, name);
  }
  return rc;
}

int txf_truth_tied(const char *data_dir, txf_date day) {
  char *bdir = txf_bronze_batch_dir(data_dir, day);
  char *tdir = txf_truth_batch_dir(data_dir, day);
  char tie[65], sha[65];
  int t = read_tie(tdir, tie);
  int tied = t == 0 || (t > 0 && manifest_sha(bdir, sha) &&
                        strcmp(tie, sha) == 0);
  free(bdir);
  free(tdir);
  return tied;
}

/* Tests: die like a crash (no cleanup, no flush) at STEP. */
static void crash_point(const txf_gen_params *p, const char *step) {
  if (p->crash_at && strcmp(p->crash_at, step) == 0)
    _exit(3);
}

int txf_generate_settle(const char *data_dir, txf_date day, int *exists,
                        int *mismatch, txf_err *err) {
  batch_paths bp;
  batch_paths_init(&bp, data_dir, day);
  int fd = -1, mm = 0;
  int rc = txf_fs_is_dir(bp.bparent) || txf_fs_is_dir(bp.tparent)
               ? lock_date(data_dir, bp.date, &fd, err)
               : 0;
  if (!rc && fd >= 0)
    rc = settle(&bp, &mm, err);
  if (!rc) {
    *exists = txf_fs_exists(bp.bfinal);
    if (mismatch)
      *mismatch = mm;
  }
  unlock_date(fd);
  batch_paths_release(&bp);
  return rc;
}

int txf_generate_day(const char *data_dir, txf_date day,
                     const txf_gen_params *p, int force, txf_gen_stats *stats,
                     txf_progress *prog, txf_err *err) {
  int rc = txf_gen_params_check(p, err);
  if (rc)
    return rc;
  batch_paths bp;
  batch_paths_init(&bp, data_dir, day);
  const char *date = bp.date, *name = bp.name;
  const char *bparent = bp.bparent, *tparent = bp.tparent;
  const char *bfinal = bp.bfinal, *tfinal = bp.tfinal;
  txf_tz *tz = NULL;
  gen *g = txf_xcalloc(1, sizeof *g);
  g->part.fd = g->truth.fd = -1;
  int lock_fd = -1, mismatch = 0, swapped = 0;
  rc = lock_date(data_dir, date, &lock_fd, err);
  if (!rc)
    rc = txf_fs_mkdirs(bparent, err);
  if (!rc)
    rc = txf_fs_mkdirs(tparent, err);
  if (!rc)
    rc = settle(&bp, &mismatch, err);
  if (rc)
    goto out;
  if (!force && txf_fs_exists(bfinal)) {
    rc = txf_err_set(err, TXF_EEXIST,
                     "bronze batch %s already exists%s (use --force to "
                     "replace it)",
                     bfinal,
                     mismatch ? ", and its truth belongs to another batch"
                              : "");
    goto out;
  }
  rc = txf_tz_load(&tz, p->timezone, err);
  if (!rc)
    rc = txf_fs_mkdtemp_in(&g->bronze_tmp, bparent, name, err);
  if (!rc)
    rc = txf_fs_mkdtemp_in(&g->truth_tmp, tparent, name, err);
  if (rc)
    goto out;

  txf_feed_init(&g->f, p, tz);
  g->batch = day;
  g->first = day.days - FEED_MAX_TRAIL - FEED_REFUND_LOOKBACK - 1;
  txf_feed_set_window(&g->f, g->first, FEED_WINDOW);
  for (int k = 0; k < FEED_WINDOW; k++) {
    dayinfo *di = &g->days[k];
    txf_date_format((txf_date){g->first + k}, di->iso);
    memcpy(di->ymd, di->iso, 4);
    memcpy(di->ymd + 4, di->iso + 5, 2);
    memcpy(di->ymd + 6, di->iso + 8, 2);
    di->ymd[8] = '\0';
  }
  g->out = txf_xmalloc(OUT_CAP);
  g->tout = txf_xmalloc(OUT_CAP);
  g->prog = prog;
  char *tpath = txf_path_join(g->truth_tmp, "lines.csv");
  rc = sink_open(&g->truth, tpath, 0, 0, err);
  free(tpath);
  if (!rc) {
    memcpy(g->tout, "file,line,transaction_id,kind,defect\n", 37);
    g->tout_len = 37;
    rc = run_batch(g, err);
  }
  if (!rc)
    rc = sink_finish(&g->truth, NULL, err);
  if (!rc) {
    json_t *gj = params_json(p);
    rc = txf_manifest_write(g->bronze_tmp, date, g->files, g->n_files, gj,
                            err);
    json_decref(gj);
  }
  if (!rc) { /* tie the truth to this bronze batch */
    char sha[65], line[128];
    sink tie;
    int n = manifest_sha(g->bronze_tmp, sha)
                ? snprintf(line, sizeof line, "%s  _manifest.json\n", sha)
                : 0;
    char *path = txf_path_join(g->truth_tmp, TIE_NAME);
    rc = n ? sink_open(&tie, path, 0, 0, err)
           : txf_err_set(err, TXF_EIO, "%s: cannot read the manifest",
                         g->bronze_tmp);
    free(path);
    if (!rc) {
      rc = sink_write(&tie, line, (size_t)n, err);
      if (!rc)
        rc = sink_finish(&tie, NULL, err);
      sink_release(&tie);
    }
  }
  if (!rc)
    rc = txf_fs_fsync_dir(g->bronze_tmp, err);
  if (!rc)
    rc = txf_fs_fsync_dir(g->truth_tmp, err);
  if (!rc)
    crash_point(p, "generate-staged");
  /* Truth first, so a visible batch always has its truth; the bronze
   * swap is the commit point. Each swap fsyncs the parent dir, so the
   * truth swap is on disk before the bronze one starts. */
  if (!rc) {
    rc = txf_fs_exists(tfinal) ? txf_fs_exchange(g->truth_tmp, tfinal, err)
                               : txf_fs_rename(g->truth_tmp, tfinal, 1, err);
    swapped = !rc;
  }
  if (!rc)
    crash_point(p, "generate-truth");
  if (!rc)
    rc = force && txf_fs_exists(bfinal)
             ? txf_fs_exchange(g->bronze_tmp, bfinal, err)
             : txf_fs_rename(g->bronze_tmp, bfinal, 1, err);
  if (!rc)
    crash_point(p, "generate-bronze");
  if (!rc) {
    /* Done: the temp names hold the old dirs (or nothing). */
    remove_leftovers(bparent, name);
    remove_leftovers(tparent, name);
    if (stats)
      *stats = g->st;
  }

out:
  if (rc) {
    txf_err_wrap(err, "generate %s", date);
    if (lock_fd >= 0) {
      /* Put the previous truth back if it was swapped out, and remove the
       * temp dirs; what cannot be undone now, the next run settles. */
      txf_err e2;
      int mm;
      if (swapped || g->bronze_tmp || g->truth_tmp)
        (void)settle(&bp, &mm, &e2);
    }
  }
  sink_release(&g->part);
  sink_release(&g->truth);
  for (size_t i = 0; i < g->n_files; i++)
    free(g->files[i].name);
  TXF_FREE_ALL(g->files, g->out, g->tout, g->bronze_tmp, g->truth_tmp, g);
  txf_tz_free(tz);
  unlock_date(lock_fd);
  batch_paths_release(&bp);
  return rc;
}
