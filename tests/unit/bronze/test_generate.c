/* Generated batches on disk: truth matches the lines, every fault refers to
 * a real earlier transaction, malformed lines are really malformed, bytes
 * are reproducible, manifests verify, batches appear atomically. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <zstd.h>

#include "../../lib/unit.h"
#include "bronze/bronze.h"

/* ------------------------------------------------------------ helpers */

static void read_all(const char *path, txf_buf *b) {
  txf_err err;
  txf_buf_init(b, 0);
  if (txf_fs_read_file(path, b, &err))
    unit_fail(__FILE__, __LINE__, "%s", err.msg);
}

/* The decompressed content of a part file. */
static void read_part(const char *path, txf_buf *out) {
  txf_buf raw;
  read_all(path, &raw);
  if (!txf_str_has_suffix(path, ".zst")) {
    *out = raw;
    return;
  }
  txf_buf_init(out, 0);
  ZSTD_DStream *z = ZSTD_createDStream();
  ZSTD_inBuffer in = {raw.data, raw.len, 0};
  char chunk[65536];
  size_t rc = 1;
  while (in.pos < in.size || rc != 0) {
    ZSTD_outBuffer o = {chunk, sizeof chunk, 0};
    rc = ZSTD_decompressStream(z, &o, &in);
    if (ZSTD_isError(rc))
      unit_fail(__FILE__, __LINE__, "%s: %s", path, ZSTD_getErrorName(rc));
    (void)txf_buf_append(out, chunk, o.pos);
    if (in.pos == in.size && o.pos == 0 && rc != 0)
      unit_fail(__FILE__, __LINE__, "%s: truncated zstd frame", path);
  }
  ZSTD_freeDStream(z);
  txf_buf_release(&raw);
}

static int valid_utf8(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    size_t k = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2
                         : (c & 0xF8) == 0xF0 ? 3 : 9;
    if (k == 9 || (k == 1 && c < 0xC2) || i + k >= n)
      return 0;
    for (size_t j = 1; j <= k; j++)
      if ((s[i + j] & 0xC0) != 0x80)
        return 0;
    i += k + 1;
  }
  return 1;
}

static int one_of(const char *s, const char *const *set) {
  for (; *set; set++)
    if (!strcasecmp(s, *set))
      return 1;
  return 0;
}

/* A strict reading of the bronze contract (docs/feed.md, the validation
 * rules of clean): 13 unquoted fields, valid UTF-8, ids present, timestamps
 * with offset, positive decimal amount with at most 2 fraction digits,
 * currency, 4-digit MCC, known enums. Fields go to F (13 x 64 bytes). */
static int strict_valid(const char *line, size_t n, char f[13][64]) {
  if (!valid_utf8((const unsigned char *)line, n) || memchr(line, '"', n))
    return 0;
  int k = 0;
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || line[i] == ',') {
      if (k >= 13 || i - start >= 64)
        return 0;
      memcpy(f[k], line + start, i - start);
      f[k][i - start] = '\0';
      k++;
      start = i + 1;
    }
  }
  if (k != 13)
    return 0;
  for (int i = 0; i < 4; i++)
    if (!f[i][0])
      return 0;
  int64_t ts;
  if (txf_ts_parse(f[4], SIZE_MAX, &ts, NULL) ||
      txf_ts_parse(f[11], SIZE_MAX, &ts, NULL))
    return 0;
  const char *a = f[5];
  size_t ip = strspn(a, "0123456789");
  if (ip == 0)
    return 0;
  if (a[ip] == '.') {
    size_t fp = strspn(a + ip + 1, "0123456789");
    if (fp < 1 || fp > 2 || a[ip + 1 + fp])
      return 0;
  } else if (a[ip]) {
    return 0;
  }
  if (strspn(a, "0.") == strlen(a)) /* zero is not positive */
    return 0;
  static const char *const cur[] = {"KRW", "USD", "JPY", "EUR", "CNY",
                                    "GBP", "HKD", "VND", NULL};
  static const char *const st[] = {"approved", "declined", "pending",
                                   "reversed", NULL};
  static const char *const bo[] = {"true", "false", NULL};
  static const char *const ch[] = {"online", "pos", "mobile", NULL};
  if (!one_of(f[6], cur) || strlen(f[7]) != 4 ||
      strspn(f[7], "0123456789") != 4 || !one_of(f[8], st) ||
      !one_of(f[9], bo) || !one_of(f[10], ch))
    return 0;
  return 1;
}

static void small_params(txf_gen_params *p) {
  txf_gen_params_default(p);
  p->rows = 150;
  p->dup_rate = 0.1;
  p->version_rate = 0.2;
  p->late_rate = 0.2;
  p->stale_rate = 0.05;
  p->refund_rate = 0.05;
  p->malformed_rate = 0.02;
  p->customers = 500;
  p->merchants = 300;
}

static void gen_day(const char *data, txf_date d, const txf_gen_params *p,
                    int force) {
  txf_err err;
  txf_gen_stats st;
  ASSERT_OK(txf_generate_day(data, d, p, force, &st, NULL, &err), &err);
}

/* ------------------------------------------------------------ history */

typedef struct rec {
  char *line; /* without '\n' */
  char f[13][64];
  int day;
  int64_t ing_us;
  int kind_new, is_mal;
  char kind[32];
} rec;

typedef struct hist {
  rec *r;
  size_t n, cap;
} hist;

static rec *hist_add(hist *h) {
  if (h->n == h->cap) {
    h->cap = h->cap ? 2 * h->cap : 1024;
    h->r = realloc(h->r, h->cap * sizeof *h->r);
  }
  rec *r = &h->r[h->n++];
  memset(r, 0, sizeof *r);
  return r;
}

/* Read batch D's records and truth into H, checking they pair up. */
static void load_batch(hist *h, const char *data, txf_date d, size_t *first) {
  txf_err err;
  char *dir = txf_bronze_batch_dir(data, d);
  char *tdir = txf_truth_batch_dir(data, d);
  txf_manifest m;
  ASSERT_OK(txf_manifest_load(&m, dir, &err), &err);
  ASSERT_OK(txf_manifest_verify(&m, dir, &err), &err);
  char ds[11];
  ASSERT_EQ_STR(m.ingest_date, txf_date_format(d, ds));
  char *tpath = txf_path_join(tdir, "lines.csv");
  txf_buf tb;
  read_all(tpath, &tb);
  char *tl = tb.data;
  ASSERT(txf_str_has_prefix(tl, "file,line,transaction_id,kind,defect\n"));
  tl = strchr(tl, '\n') + 1;
  *first = h->n;
  for (size_t fi = 0; fi < m.n_files; fi++) {
    char *path = txf_path_join(dir, m.files[fi].name);
    txf_buf pb;
    read_part(path, &pb);
    char *p = strchr(pb.data, '\n') + 1; /* header */
    int64_t line = 0;
    while (*p) {
      char *e = strchr(p, '\n');
      ASSERT(e);
      line++;
      /* The matching truth row. */
      char *te = strchr(tl, '\n');
      ASSERT(te);
      *te = '\0';
      char tfile[64], tid[64], tkind[32], tdef[32];
      long long tline;
      tid[0] = tdef[0] = '\0';
      char *c1 = strchr(tl, ','), *c2 = strchr(c1 + 1, ','),
           *c3 = strchr(c2 + 1, ','), *c4 = strchr(c3 + 1, ',');
      ASSERT(c1 && c2 && c3 && c4);
      memcpy(tfile, tl, (size_t)(c1 - tl));
      tfile[c1 - tl] = '\0';
      tline = strtoll(c1 + 1, NULL, 10);
      memcpy(tid, c2 + 1, (size_t)(c3 - c2 - 1));
      tid[c3 - c2 - 1] = '\0';
      memcpy(tkind, c3 + 1, (size_t)(c4 - c3 - 1));
      tkind[c4 - c3 - 1] = '\0';
      strcpy(tdef, c4 + 1);
      ASSERT_EQ_STR(tfile, m.files[fi].name);
      ASSERT_EQ_I64(tline, line);
      rec *r = hist_add(h);
      r->line = txf_xstrndup(p, (size_t)(e - p));
      r->day = d.days;
      r->is_mal = !strcmp(tkind, "malformed");
      r->kind_new = !strcmp(tkind, "new");
      /* The id in the truth is the line's first field. */
      size_t idl = strcspn(r->line, ",");
      ASSERT(strlen(tid) == idl && !memcmp(tid, r->line, idl));
      int ok = strict_valid(r->line, (size_t)(e - p), r->f);
      if (r->is_mal) {
        ASSERT(tdef[0]);
        if (ok)
          unit_fail(__FILE__, __LINE__, "%s:%lld (%s) is valid: %s",
                    m.files[fi].name, (long long)line, tdef, r->line);
      } else {
        ASSERT(!tdef[0]);
        if (!ok)
          unit_fail(__FILE__, __LINE__, "%s:%lld (%s) is invalid: %s",
                    m.files[fi].name, (long long)line, tkind, r->line);
        ASSERT_OK(txf_ts_parse(r->f[11], SIZE_MAX, &r->ing_us, NULL), &err);
        /* Kind names. */
        ASSERT(r->kind_new || !strcmp(tkind, "version") ||
               !strcmp(tkind, "redelivery") ||
               !strcmp(tkind, "stale_redelivery"));
      }
      snprintf(r->kind, sizeof r->kind, "%s", tkind);
      tl = te + 1;
      p = e + 1;
    }
    ASSERT_EQ_I64(line, m.files[fi].rows);
    txf_buf_release(&pb);
    free(path);
  }
  ASSERT_EQ_I64(*tl, '\0'); /* no truth rows left over */
  txf_buf_release(&tb);
  free(tpath);
  txf_manifest_release(&m);
  free(dir);
  free(tdir);
}

static const char *kind_of(const rec *r) { return r->kind; }

/* ------------------------------------------------------------ tests */

TEST(generate_faults_refer_to_real_earlier_transactions) {
  txf_gen_params p;
  small_params(&p);
  const char *data = unit_path("data");
  txf_date d0 = txf_date_from_ymd(2025, 9, 1);
  enum { DAYS = 26 };
  hist h = {0};
  size_t starts[DAYS + 1];
  for (int k = 0; k < DAYS; k++) {
    txf_date d = {d0.days + k};
    gen_day(data, d, &p, 0);
    load_batch(&h, data, d, &starts[k]);
  }
  starts[DAYS] = h.n;
  int checked = 0, refunds = 0, versions = 0, stales = 0, redeliveries = 0;
  int moved_ts = 0, moved_day = 0, new_amount = 0;
  for (int k = 0; k < DAYS; k++) {
    for (size_t i = starts[k]; i < starts[k + 1]; i++) {
      rec *r = &h.r[i];
      if (r->is_mal)
        continue;
      /* The event date is in the id and is the local date of txn_ts. */
      char idd[11];
      snprintf(idd, sizeof idd, "%.4s-%.2s-%.2s", r->f[0] + 1, r->f[0] + 5,
               r->f[0] + 7);
      if (r->kind_new)
        ASSERT(!strncmp(r->f[4], idd, 10));
      else /* a version may correct the time, at most into the day before */
        ASSERT(!strncmp(r->f[4], idd, 10) || strncmp(r->f[4], idd, 10) < 0);
      if (k < 11)
        continue; /* earlier deliveries may predate the first batch */
      checked++;
      const char *kind = kind_of(r);
      /* Every earlier delivery of this id. */
      size_t n_prev = 0, same = 0, newer = 0, later_same_ing = 0;
      for (size_t j = 0; j < i; j++) {
        rec *q = &h.r[j];
        if (q->is_mal || strcmp(q->f[0], r->f[0]))
          continue;
        n_prev++;
        same += !strcmp(q->line, r->line);
        newer += q->ing_us > r->ing_us;
        later_same_ing += q->ing_us == r->ing_us && strcmp(q->line, r->line);
      }
      ASSERT_EQ_I64(later_same_ing, 0); /* equal ingested_at = same line */
      if (!strcmp(kind, "new")) {
        ASSERT_EQ_I64(n_prev, 0);
      } else if (!strcmp(kind, "redelivery")) {
        redeliveries++;
        ASSERT(same > 0);
        ASSERT_EQ_I64(newer, 0);
      } else if (!strcmp(kind, "stale_redelivery")) {
        stales++;
        ASSERT(same > 0);
        ASSERT(newer > 0);
      } else { /* version: newer than all before, same transaction */
        versions++;
        ASSERT(n_prev > 0);
        ASSERT_EQ_I64(newer, 0);
        ASSERT_EQ_I64(same, 0);
        for (size_t j = 0; j < i; j++) {
          rec *q = &h.r[j];
          if (q->is_mal || strcmp(q->f[0], r->f[0]))
            continue;
          ASSERT(q->ing_us < r->ing_us);
          /* Same transaction: status changes; the time may be corrected
           * up to 6 h earlier; a captured authorisation may settle
           * another amount. */
          for (int c = 0; c < 11; c++)
            if (c != 4 && c != 5 && c != 8)
              ASSERT_EQ_STR(q->f[c], r->f[c]);
          int64_t qt, rt;
          ASSERT_OK(txf_ts_parse(q->f[4], SIZE_MAX, &qt, NULL), NULL);
          ASSERT_OK(txf_ts_parse(r->f[4], SIZE_MAX, &rt, NULL), NULL);
          ASSERT(rt <= qt && qt - rt <= 6 * 3600 * TXF_US_PER_S);
          moved_ts += rt != qt;
          moved_day += strncmp(q->f[4], r->f[4], 10) != 0;
          ASSERT(strcmp(q->f[8], r->f[8]) != 0);
          if (!strcmp(q->f[8], "pending"))
            ASSERT(!strcmp(r->f[8], "approved") ||
                   !strcmp(r->f[8], "declined"));
          else
            ASSERT(!strcmp(q->f[8], "approved") &&
                   !strcmp(r->f[8], "reversed"));
          if (strcmp(q->f[5], r->f[5])) {
            new_amount++;
            ASSERT_EQ_STR(q->f[8], "pending");
            ASSERT_EQ_STR(r->f[8], "approved");
          }
        }
      }
      if (strcmp(r->f[9], "true") || k < 22) {
        ASSERT(!strcmp(r->f[9], "true") || r->f[12][0] == '\0');
        continue;
      }
      /* A refund: its purchase was delivered in an earlier batch, by the
       * same card, approved and never changed, for at least as much. */
      refunds++;
      ASSERT(r->f[12][0]);
      int found = 0;
      for (size_t j = 0; j < starts[k]; j++) {
        rec *q = &h.r[j];
        if (q->is_mal || strcmp(q->f[0], r->f[12]))
          continue;
        ASSERT(q->day < r->day);
        ASSERT_EQ_STR(q->f[8], "approved");
        ASSERT_EQ_STR(q->f[9], "false");
        ASSERT_EQ_STR(q->f[1], r->f[1]);
        ASSERT_EQ_STR(q->f[2], r->f[2]);
        ASSERT_EQ_STR(q->f[6], r->f[6]);
        ASSERT(strtod(q->f[5], NULL) >= strtod(r->f[5], NULL));
        int64_t qt, rt;
        ASSERT_OK(txf_ts_parse(q->f[4], SIZE_MAX, &qt, NULL), NULL);
        ASSERT_OK(txf_ts_parse(r->f[4], SIZE_MAX, &rt, NULL), NULL);
        ASSERT(qt < rt);
        found++;
      }
      ASSERT(found > 0);
    }
  }
  ASSERT(checked > 2000);
  ASSERT(refunds > 5);
  ASSERT(versions > 100 && stales > 10 && redeliveries > 50);
  ASSERT(moved_ts > 5 && new_amount > 5);
  ASSERT(moved_day < moved_ts);
  for (size_t i = 0; i < h.n; i++)
    free(h.r[i].line);
  free(h.r);
}

static void cmp_files(const char *a, const char *b) {
  txf_buf x, y;
  read_all(a, &x);
  read_all(b, &y);
  if (x.len != y.len || memcmp(x.data, y.data, x.len))
    unit_fail(__FILE__, __LINE__, "%s and %s differ", a, b);
  txf_buf_release(&x);
  txf_buf_release(&y);
}

static void cmp_batch(const char *da, const char *db, txf_date d) {
  char *a = txf_bronze_batch_dir(da, d), *b = txf_bronze_batch_dir(db, d);
  txf_manifest m;
  txf_err err;
  ASSERT_OK(txf_manifest_load(&m, a, &err), &err);
  for (size_t i = 0; i < m.n_files; i++) {
    char *x = txf_path_join(a, m.files[i].name);
    char *y = txf_path_join(b, m.files[i].name);
    cmp_files(x, y);
    free(x);
    free(y);
  }
  char *x = txf_path_join(a, "_manifest.json");
  char *y = txf_path_join(b, "_manifest.json");
  cmp_files(x, y);
  free(x);
  free(y);
  free(a);
  free(b);
  a = txf_truth_batch_dir(da, d);
  b = txf_truth_batch_dir(db, d);
  x = txf_path_join(a, "lines.csv");
  y = txf_path_join(b, "lines.csv");
  cmp_files(x, y);
  free(x);
  free(y);
  free(a);
  free(b);
  txf_manifest_release(&m);
}

TEST(generate_same_parameters_same_bytes_in_any_order) {
  txf_gen_params p;
  small_params(&p);
  p.rows = 400;
  txf_date d0 = txf_date_from_ymd(2025, 9, 1);
  for (int k = 0; k < 3; k++)
    gen_day(unit_path("a"), (txf_date){d0.days + k}, &p, 0);
  for (int k = 2; k >= 0; k--)
    gen_day(unit_path("b"), (txf_date){d0.days + k}, &p, 0);
  for (int k = 0; k < 3; k++)
    cmp_batch(unit_path("a"), unit_path("b"), (txf_date){d0.days + k});
  /* Another seed gives other bytes. */
  p.seed = 43;
  gen_day(unit_path("c"), d0, &p, 0);
  txf_buf x, y;
  char *a = txf_bronze_batch_dir(unit_path("a"), d0);
  char *c = txf_bronze_batch_dir(unit_path("c"), d0);
  char *pa = txf_path_join(a, "part-00000.csv");
  char *pc = txf_path_join(c, "part-00000.csv");
  read_all(pa, &x);
  read_all(pc, &y);
  ASSERT(x.len != y.len || memcmp(x.data, y.data, x.len));
  txf_buf_release(&x);
  txf_buf_release(&y);
  free(a);
  free(c);
  free(pa);
  free(pc);
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  if (d)
    closedir(d);
  return n;
}

TEST(generate_refuses_existing_batch_unless_forced) {
  txf_gen_params p;
  small_params(&p);
  const char *data = unit_path("data");
  txf_date d = txf_date_from_ymd(2025, 9, 5);
  gen_day(data, d, &p, 0);
  txf_err err;
  ASSERT(txf_generate_day(data, d, &p, 0, NULL, NULL, &err) == TXF_EEXIST);
  ASSERT_CONTAINS(err.msg, "--force");
  p.seed = 7;
  gen_day(data, d, &p, 1);
  char *dir = txf_bronze_batch_dir(data, d);
  char *mpath = txf_path_join(dir, "_manifest.json");
  txf_buf b;
  read_all(mpath, &b);
  ASSERT_CONTAINS(b.data, "\"seed\": 7");
  txf_buf_release(&b);
  /* Only the batch is left in the parent dirs: no temp dirs. */
  ASSERT_EQ_I64(count_entries(unit_path("data/bronze/transactions")), 1);
  ASSERT_EQ_I64(count_entries(unit_path("data/truth/transactions")), 1);
  /* The forced batch equals a fresh one with the same parameters. */
  gen_day(unit_path("fresh"), d, &p, 0);
  cmp_batch(data, unit_path("fresh"), d);
  free(mpath);
  free(dir);
}

/* A generate of a date whose lock is taken (another run) refuses with
 * TXF_ELOCKED and touches nothing: no batch, no temp dir, no removal of
 * the other run's temp dirs. */
TEST(generate_refuses_while_the_date_is_locked) {
  txf_gen_params p;
  small_params(&p);
  const char *data = unit_path("locked");
  txf_date d = txf_date_from_ymd(2025, 9, 6);
  txf_err err;
  ASSERT_OK(txf_fs_mkdirs(unit_path("locked/locks"), &err), &err);
  char *other = NULL;
  ASSERT_OK(txf_fs_mkdirs(unit_path("locked/bronze/transactions"), &err),
            &err);
  ASSERT_OK(txf_fs_mkdtemp_in(&other, unit_path("locked/bronze/transactions"),
                              "ingest_date=2025-09-06", &err),
            &err);
  int fd = open(unit_path("locked/locks/generate-2025-09-06.lock"),
                O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT(fd >= 0);
  ASSERT(flock(fd, LOCK_EX | LOCK_NB) == 0);
  ASSERT(txf_generate_day(data, d, &p, 1, NULL, NULL, &err) == TXF_ELOCKED);
  ASSERT_CONTAINS(err.msg, "another generate of 2025-09-06 is running");
  int exists = -1;
  ASSERT(txf_generate_settle(data, d, &exists, NULL, &err) == TXF_ELOCKED);
  ASSERT_EQ_I64(count_entries(unit_path("locked/bronze/transactions")), 1);
  ASSERT(txf_fs_is_dir(other));
  close(fd);
  /* Once free, the date settles (the dead run's temp dir goes) and
   * generates. */
  ASSERT_OK(txf_generate_settle(data, d, &exists, NULL, &err), &err);
  ASSERT_EQ_I64(exists, 0);
  ASSERT(!txf_fs_exists(other));
  gen_day(data, d, &p, 0);
  ASSERT_OK(txf_generate_settle(data, d, &exists, NULL, &err), &err);
  ASSERT_EQ_I64(exists, 1);
  free(other);
}

/* A truth is tied to its batch by _bronze.sha256. A truth without one
 * (written before ties) counts as tied; a damaged one ties it to no batch,
 * and settle reports the mismatch rather than trusting it. */
TEST(generate_damaged_tie_is_a_mismatch) {
  txf_gen_params p;
  small_params(&p);
  const char *data = unit_path("tie");
  txf_date d = txf_date_from_ymd(2025, 9, 7);
  gen_day(data, d, &p, 0);
  ASSERT_EQ_I64(txf_truth_tied(data, d), 1);
  const char *tie = unit_path("tie/truth/transactions/ingest_date=2025-09-07/"
                              "_bronze.sha256");
  ASSERT(txf_fs_exists(tie));
  unit_write_file(tie, "not a checksum\n");
  ASSERT_EQ_I64(txf_truth_tied(data, d), 0);
  txf_err err;
  int exists = -1, mismatch = -1;
  ASSERT_OK(txf_generate_settle(data, d, &exists, &mismatch, &err), &err);
  ASSERT_EQ_I64(exists, 1);
  ASSERT_EQ_I64(mismatch, 1);
  unlink(tie);
  ASSERT_EQ_I64(txf_truth_tied(data, d), 1);
  ASSERT_OK(txf_generate_settle(data, d, &exists, &mismatch, &err), &err);
  ASSERT_EQ_I64(mismatch, 0);
}

TEST(generate_parts_zstd_and_manifest_checks) {
  txf_gen_params p;
  small_params(&p);
  p.rows = 600;
  p.part_rows = 100;
  txf_date d = txf_date_from_ymd(2025, 9, 2);
  gen_day(unit_path("plain"), d, &p, 0);
  p.compress_zstd = 1;
  gen_day(unit_path("zst"), d, &p, 0);
  char *a = txf_bronze_batch_dir(unit_path("plain"), d);
  char *z = txf_bronze_batch_dir(unit_path("zst"), d);
  txf_manifest ma, mz;
  txf_err err;
  ASSERT_OK(txf_manifest_load(&ma, a, &err), &err);
  ASSERT_OK(txf_manifest_load(&mz, z, &err), &err);
  ASSERT(ma.n_files >= 6);
  ASSERT_EQ_I64(ma.n_files, mz.n_files);
  int64_t total = 0;
  for (size_t i = 0; i < ma.n_files; i++) {
    char want[32];
    snprintf(want, sizeof want, "part-%05zu.csv", i);
    ASSERT_EQ_STR(ma.files[i].name, want);
    ASSERT(ma.files[i].rows <= 100);
    total += ma.files[i].rows;
    /* The compressed part holds the same bytes. */
    char *pa = txf_path_join(a, ma.files[i].name);
    char *pz = txf_path_join(z, mz.files[i].name);
    ASSERT(txf_str_has_suffix(pz, ".csv.zst"));
    txf_buf x, y;
    read_all(pa, &x);
    read_part(pz, &y);
    ASSERT_EQ_I64(x.len, y.len);
    ASSERT_EQ_MEM(x.data, y.data, x.len);
    txf_buf_release(&x);
    txf_buf_release(&y);
    free(pa);
    free(pz);
  }
  ASSERT(total > 600);
  ASSERT_OK(txf_manifest_verify(&ma, a, &err), &err);
  ASSERT_OK(txf_manifest_verify(&mz, z, &err), &err);
  /* A changed byte, a changed size, a missing file: all ECORRUPT. */
  char *p3 = txf_path_join(a, "part-00003.csv");
  txf_buf x;
  read_all(p3, &x);
  x.data[x.len / 2] ^= 1;
  ASSERT_OK(txf_fs_write_atomic(p3, x.data, x.len, &err), &err);
  ASSERT(txf_manifest_verify(&ma, a, &err) == TXF_ECORRUPT);
  ASSERT_CONTAINS(err.msg, "part-00003.csv: SHA-256");
  ASSERT_OK(txf_fs_write_atomic(p3, x.data, x.len - 1, &err), &err);
  ASSERT(txf_manifest_verify(&ma, a, &err) == TXF_ECORRUPT);
  ASSERT_CONTAINS(err.msg, "size");
  ASSERT_OK(txf_fs_rmtree(p3, &err), &err);
  ASSERT(txf_manifest_verify(&ma, a, &err) == TXF_ECORRUPT);
  ASSERT_CONTAINS(err.msg, "missing");
  txf_buf_release(&x);
  free(p3);
  txf_manifest_release(&ma);
  txf_manifest_release(&mz);
  free(a);
  free(z);
}

TEST(manifest_load_rejects_bad_manifests) {
  txf_manifest m;
  txf_err err;
  const char *dir = unit_tmpdir();
  ASSERT(txf_manifest_load(&m, dir, &err) == TXF_ENOTFOUND);
  const char *path = unit_path("_manifest.json");
  unit_write_file(path, "{ \"format\": ");
  ASSERT(txf_manifest_load(&m, dir, &err) == TXF_EPARSE);
  ASSERT_CONTAINS(err.msg, "_manifest.json:");
  unit_write_file(path, "{\"format\": \"other/1\", \"ingest_date\": "
                        "\"2025-09-01\", \"files\": []}");
  ASSERT(txf_manifest_load(&m, dir, &err) == TXF_EPARSE);
  static const char *const bad_files[] = {
      "[{\"name\": \"../x.csv\", \"rows\": 1, \"size_bytes\": 1, "
      "\"sha256\": \"%s\"}]",
      "[{\"name\": \"a.csv\", \"rows\": -1, \"size_bytes\": 1, "
      "\"sha256\": \"%s\"}]",
      "[{\"name\": \"a.csv\", \"rows\": 1, \"size_bytes\": 1, "
      "\"sha256\": \"%.10s\"}]",
      "[{\"name\": \"a.csv\", \"rows\": 1, \"size_bytes\": 1, \"sha256\": "
      "\"%s\"}, {\"name\": \"a.csv\", \"rows\": 1, \"size_bytes\": 1, "
      "\"sha256\": \"%s\"}]"};
  const char *sha =
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  for (size_t i = 0; i < TXF_ARRAY_LEN(bad_files); i++) {
    char files[512], text[1024];
    snprintf(files, sizeof files, bad_files[i], sha, sha);
    snprintf(text, sizeof text,
             "{\"format\": \"txnflow-bronze-manifest/1\", \"ingest_date\": "
             "\"2025-09-01\", \"files\": %s}",
             files);
    unit_write_file(path, text);
    ASSERT(txf_manifest_load(&m, dir, &err) == TXF_EPARSE);
  }
  /* A good one, written by txf_manifest_write, round-trips. */
  txf_manifest_file f = {.name = "part-00000.csv", .rows = 0,
                         .size_bytes = 0};
  memcpy(f.sha256, sha, 65);
  unit_write_file(unit_path("part-00000.csv"), "");
  ASSERT_OK(txf_manifest_write(dir, "2025-09-01", &f, 1, NULL, &err), &err);
  ASSERT_OK(txf_manifest_load(&m, dir, &err), &err);
  ASSERT_EQ_I64(m.n_files, 1);
  ASSERT_EQ_STR(m.files[0].name, "part-00000.csv");
  ASSERT_EQ_STR(m.ingest_date, "2025-09-01");
  ASSERT_OK(txf_manifest_verify(&m, dir, &err), &err);
  txf_manifest_release(&m);
}

/* The CSV reader clean uses sees exactly the records the truth describes:
 * one per line, malformed ones flagged, good ones 13 clean fields. */
TEST(generate_output_reads_back_with_the_csv_reader) {
  txf_gen_params p;
  small_params(&p);
  p.rows = 2000;
  p.malformed_rate = 0.05;
  p.part_rows = 900;
  p.compress_zstd = 1;
  txf_date d = txf_date_from_ymd(2025, 9, 3);
  gen_day(unit_path("data"), d, &p, 0);
  char *dir = txf_bronze_batch_dir(unit_path("data"), d);
  char *tdir = txf_truth_batch_dir(unit_path("data"), d);
  char *tpath = txf_path_join(tdir, "lines.csv");
  txf_buf tb;
  read_all(tpath, &tb);
  char *tl = strchr(tb.data, '\n') + 1;
  txf_manifest m;
  txf_err err;
  ASSERT_OK(txf_manifest_load(&m, dir, &err), &err);
  int seen_defect[7] = {0};
  static const char *const defects[] = {
      "wrong_columns", "bad_amount", "bad_timestamp", "unknown_enum",
      "empty_id",      "invalid_utf8", "stray_quote"};
  for (size_t fi = 0; fi < m.n_files; fi++) {
    char *path = txf_path_join(dir, m.files[fi].name);
    txf_csv_reader *r;
    ASSERT_OK(txf_csv_reader_open(&r, path, TXF_BRONZE_N_COLS, &err), &err);
    txf_csv_record cr;
    int has;
    ASSERT_OK(txf_csv_reader_next(r, &cr, &has, &err), &err);
    ASSERT(has && cr.n_fields == TXF_BRONZE_N_COLS); /* header */
    int64_t n = 0;
    for (;;) {
      ASSERT_OK(txf_csv_reader_next(r, &cr, &has, &err), &err);
      if (!has)
        break;
      n++;
      char *te = strchr(tl, '\n');
      ASSERT(te);
      *te = '\0';
      /* file,line,id,kind,defect */
      char *c3 = strchr(strchr(strchr(tl, ',') + 1, ',') + 1, ',');
      char *c4 = strchr(c3 + 1, ',');
      ASSERT_EQ_I64(cr.record_no - 1, n);
      ASSERT_EQ_I64(cr.line_no - 1, n); /* one physical line per record */
      if (!strncmp(c3 + 1, "malformed,", 10)) {
        int k = 0;
        while (k < 7 && strcmp(c4 + 1, defects[k]))
          k++;
        ASSERT(k < 7);
        seen_defect[k]++;
        if (k == 0)
          ASSERT(cr.n_fields != TXF_BRONZE_N_COLS);
        if (k == 5)
          ASSERT(!txf_utf8_valid(cr.raw, cr.raw_len));
        if (k == 6)
          ASSERT(cr.bad_quote);
        if (k == 4)
          ASSERT_EQ_I64(cr.field_len[0], 0);
      } else {
        ASSERT_EQ_I64(cr.n_fields, TXF_BRONZE_N_COLS);
        ASSERT(!cr.bad_quote);
        ASSERT(txf_utf8_valid(cr.raw, cr.raw_len));
        ASSERT(cr.field_len[0] == 18 &&
               !memcmp(cr.field[0], c3 - 18, 18));
      }
      tl = te + 1;
    }
    ASSERT_EQ_I64(n, m.files[fi].rows);
    txf_csv_reader_free(r);
    free(path);
  }
  ASSERT_EQ_I64(*tl, '\0');
  for (int k = 0; k < 7; k++)
    ASSERT(seen_defect[k] > 0);
  txf_manifest_release(&m);
  txf_buf_release(&tb);
  free(tpath);
  free(dir);
  free(tdir);
}
