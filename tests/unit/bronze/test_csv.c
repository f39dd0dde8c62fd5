#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "../../lib/unit.h"
#include "bronze/bronze.h"

/* Read every record of TEXT with one reader: FN with each and where it
 * starts. */
static void read_all(const char *text, size_t len, size_t expected,
                     txf_csv_record_fn fn, void *ctx) {
  txf_csv_reader *r = txf_csv_reader_open_mem(text, len, "t", expected);
  txf_csv_record rec;
  int has;
  txf_err err;
  for (;;) {
    uint64_t at = txf_csv_reader_offset(r);
    ASSERT_OK(txf_csv_reader_next(r, &rec, &has, &err), &err);
    if (!has)
      break;
    fn(ctx, &rec, at);
  }
  txf_csv_reader_free(r);
}

static void render_cb(void *ctx, const txf_csv_record *rec, uint64_t at) {
  txf_buf *b = ctx;
  (void)at;
  (void)txf_buf_printf(b, "%lld@%lld%s%s:", (long long)rec->record_no,
                       (long long)rec->line_no, rec->bad_quote ? "!q" : "",
                       rec->too_long ? "!L" : "");
  for (size_t i = 0; i < rec->n_fields && i < TXF_CSV_MAX_FIELDS; i++) {
    if (i)
      (void)txf_buf_putc(b, '|');
    (void)txf_buf_append(b, rec->field[i], rec->field_len[i]);
  }
  (void)txf_buf_putc(b, ';');
}

/* Read every record of TEXT and render it as
 * "<rec>@<line>[!q][!L]:f1|f2|...;" for compact comparison. */
static char *render(const char *text, size_t len, size_t expected) {
  txf_buf b;
  txf_buf_init(&b, 0);
  read_all(text, len, expected, render_cb, &b);
  return txf_buf_take(&b, NULL);
}

#define CHECK_CSV(text, expected, want)                                      \
  do {                                                                       \
    char *got_ = render(text, sizeof(text) - 1, expected);                   \
    ASSERT_EQ_STR(got_, want);                                               \
    free(got_);                                                              \
  } while (0)

TEST(csv_plain_lf_crlf_and_no_final_newline) {
  CHECK_CSV("a,b\n1,2\r\n3,4", 0, "1@1:a|b;2@2:1|2;3@3:3|4;");
  CHECK_CSV("a,b\n", 0, "1@1:a|b;");
  CHECK_CSV("", 0, "");
}

/* A CRLF file (a real feed, RFC 4180) reads as the same records as its LF
 * twin: no CR in any field, an empty last field stays empty, and a last
 * line without its terminator (or with only the CR of it) is the same
 * record too. */
TEST(csv_crlf_file_reads_like_its_lf_twin) {
  const char *want = "1@1:id|n|orig;2@2:1|a|;3@3:2|b|T1;4@4:3|c|;";
  CHECK_CSV("id,n,orig\n1,a,\n2,b,T1\n3,c,\n", 3, want);
  CHECK_CSV("id,n,orig\r\n1,a,\r\n2,b,T1\r\n3,c,\r\n", 3, want);
  CHECK_CSV("id,n,orig\r\n1,a,\r\n2,b,T1\r\n3,c,", 3, want);
  CHECK_CSV("id,n,orig\r\n1,a,\r\n2,b,T1\r\n3,c,\r", 3, want);
  CHECK_CSV("id,n,orig\n1,a,\n2,b,T1\n3,c,", 3, want);
  CHECK_CSV("id,n,orig\r\n1,a,\r\n2,b,T1\r\n3,c,\"x\"\r", 3,
            "1@1:id|n|orig;2@2:1|a|;3@3:2|b|T1;4@4:3|c|x;");
  /* a CR inside a line (not before LF, not at the end) is data */
  CHECK_CSV("a,b\rc,d\n", 3, "1@1:a|b\rc|d;");
}

/* The same through a file, where the input arrives in windows: the CRLF
 * split across a refill must not leave a CR in the field. */
TEST(csv_crlf_file_terminators_across_refills) {
  char path[] = "/tmp/txf-csv-crlf-XXXXXX";
  int fd = mkstemp(path);
  ASSERT(fd >= 0);
  FILE *fp = fdopen(fd, "wb");
  ASSERT(fp != NULL);
  int n = 200000;
  for (int i = 0; i < n; i++)
    fprintf(fp, "%d,x%d,%s%s", i, i % 7, i % 3 ? "" : "T9",
            i + 1 < n ? "\r\n" : "\r");
  ASSERT(fclose(fp) == 0);
  txf_csv_reader *r;
  txf_err err;
  ASSERT_OK(txf_csv_reader_open(&r, path, 3, &err), &err);
  txf_csv_record rec;
  int has, k = 0;
  for (;;) {
    ASSERT_OK(txf_csv_reader_next(r, &rec, &has, &err), &err);
    if (!has)
      break;
    ASSERT_EQ_I64(rec.n_fields, 3);
    ASSERT(!rec.bad_quote);
    ASSERT(memchr(rec.raw, '\r', rec.raw_len) == NULL);
    ASSERT_EQ_I64(rec.field_len[2], k % 3 ? 0 : 2);
    k++;
  }
  ASSERT_EQ_I64(k, n);
  txf_csv_reader_free(r);
  unlink(path);
}

/* Unquoted fields are scanned eight bytes at a time: every length and
 * alignment, with a stray quote, a lone CR or a byte close to a special
 * one (high bit set, or one bit off) at every place in the field. */
TEST(csv_unquoted_fields_at_every_length_and_offset) {
  static const char odd[] = {'"', '\r', (char)0xAC, (char)0x8A, '-', 0x0B,
                             '#', 'a'};
  char text[128], want[256];
  for (size_t pre = 0; pre < 8; pre++)
    for (size_t len = 0; len < 26; len++)
      for (size_t at = 0; at <= len; at++)
        for (size_t k = 0; k < sizeof odd; k++) {
          char f[32];
          for (size_t i = 0; i < len; i++)
            f[i] = (char)('A' + i);
          if (at < len)
            f[at] = odd[k];
          if (at == 0 && odd[k] == '"')
            continue; /* a quoted field */
          size_t n = 0;
          memset(text + n, 'p', pre);
          n += pre;
          text[n++] = ',';
          memcpy(text + n, f, len);
          n += len;
          memcpy(text + n, ",z\n", 3);
          n += 3;
          int q = at < len && odd[k] == '"';
          int w = snprintf(want, sizeof want, "1@1%s:%.*s|%.*s|z;",
                           q ? "!q" : "", (int)pre, "pppppppp", (int)len, f);
          ASSERT(w > 0 && (size_t)w < sizeof want);
          char *got = render(text, n, 3);
          ASSERT_EQ_STR(got, want);
          free(got);
        }
}

/* A line with sixteen bytes or more after it is split sixteen bytes at a
 * time (parse_plain) unless it holds a quote or a lone CR: lines of
 * every length to 70 with a quote, a CR or a separator at every place,
 * each against a plain split of the line. */
TEST(csv_lines_split_by_blocks_like_field_by_field) {
  static const char odd[] = {'"', '\r', ','};
  static const char next[] = "01,34,67,9abcdefghij\n";
  char line[80], text[128], want[256];
  for (size_t len = 0; len <= 70; len++)
    for (size_t at = 0; at <= len; at++)
      for (size_t k = 0; k < sizeof odd; k++) {
        for (size_t i = 0; i < len; i++)
          line[i] = i % 7 == 5 ? ',' : (char)('A' + i % 26);
        if (at < len)
          line[at] = odd[k];
        if (at < len && odd[k] == '"' && (at == 0 || line[at - 1] == ','))
          continue; /* a quoted field */
        memcpy(text, line, len);
        text[len] = '\n';
        memcpy(text + len + 1, next, sizeof next - 1);
        size_t n = len + sizeof next;
        /* the plain split: a CR just before the LF ends the line */
        size_t end = len && line[len - 1] == '\r' ? len - 1 : len;
        int w = snprintf(want, sizeof want,
                         "1@1%s:", memchr(line, '"', end) ? "!q" : "");
        for (size_t i = 0; i < end; i++)
          want[w++] = line[i] == ',' ? '|' : line[i];
        snprintf(want + w, sizeof want - (size_t)w,
                 ";2@2:01|34|67|9abcdefghij;");
        char *got = render(text, n, 0);
        ASSERT_EQ_STR(got, want);
        free(got);
      }
}

TEST(csv_quotes_escaped_quotes_and_empty_fields) {
  CHECK_CSV("\"x,y\",\"he said \"\"hi\"\"\",,\"\"\n", 0,
            "1@1:x,y|he said \"hi\"||;");
}

TEST(csv_bom_is_skipped) {
  CHECK_CSV("\xEF\xBB\xBFid,n\n1,2\n", 0, "1@1:id|n;2@2:1|2;");
}

TEST(csv_embedded_newline_is_one_record) {
  CHECK_CSV("a,\"l1\nl2\",c\nd,e,f\n", 3, "1@1:a|l1\nl2|c;2@3:d|e|f;");
}

TEST(csv_stray_quote_inside_unquoted_field) {
  CHECK_CSV("a,b\"c,d\ne,f,g\n", 3, "1@1!q:a|b\"c|d;2@2:e|f|g;");
}

TEST(csv_unterminated_quote_does_not_swallow_lines) {
  /* the opening quote would take the next lines; recovery cuts it back
   * to its own line and the good lines after it survive */
  CHECK_CSV("h1,h2,h3\n1,\"oops,3\n4,5,6\n7,8,9\n", 3,
            "1@1:h1|h2|h3;2@2!q:1|oops,3;3@3:4|5|6;4@4:7|8|9;");
  /* at the end of the input */
  CHECK_CSV("1,\"oops", 3, "1@1!q:1|oops;");
}

TEST(csv_text_after_closing_quote_is_bad_quote) {
  CHECK_CSV("\"ab\"cd,e,f\n1,2,3\n", 3, "1@1!q:ab|e|f;2@2:1|2|3;");
}

TEST(csv_crlf_inside_quotes_and_raw_bytes) {
  const char text[] = "a,\"x\r\ny\",b\r\nc,d,e\r\n";
  txf_csv_reader *r = txf_csv_reader_open_mem(text, sizeof text - 1, "t", 3);
  txf_csv_record rec;
  int has;
  txf_err err;
  ASSERT_OK(txf_csv_reader_next(r, &rec, &has, &err), &err);
  ASSERT(has);
  ASSERT_EQ_I64(rec.n_fields, 3);
  ASSERT_EQ_I64(rec.raw_len, 10);
  ASSERT_EQ_MEM(rec.raw, "a,\"x\r\ny\",b", 10);
  ASSERT_EQ_STR(rec.term, "\r\n");
  ASSERT_OK(txf_csv_reader_next(r, &rec, &has, &err), &err);
  ASSERT(has);
  ASSERT_EQ_I64(rec.line_no, 3);
  ASSERT_EQ_I64(rec.record_no, 2);
  ASSERT_OK(txf_csv_reader_next(r, &rec, &has, &err), &err);
  ASSERT(!has);
  txf_csv_reader_free(r);
}

TEST(csv_field_count_past_the_limit_is_counted) {
  txf_buf b;
  txf_buf_init(&b, 0);
  for (int i = 0; i < 100; i++)
    (void)txf_buf_puts(&b, i ? ",x" : "x");
  (void)txf_buf_puts(&b, "\n");
  txf_csv_reader *r = txf_csv_reader_open_mem(b.data, b.len, "t", 0);
  txf_csv_record rec;
  int has;
  txf_err err;
  ASSERT_OK(txf_csv_reader_next(r, &rec, &has, &err), &err);
  ASSERT_EQ_I64(rec.n_fields, 100);
  txf_csv_reader_free(r);
  txf_buf_release(&b);
}

/* A file bigger than the reader's window, plain and zstd-compressed, with
 * records straddling the refill boundaries. */
static void write_big(const char *path, int zst, size_t *n_records) {
  txf_buf b;
  txf_buf_init(&b, 0);
  size_t n = 0;
  (void)txf_buf_puts(&b, "id,text,n\n");
  while (b.len < 9u * 1024 * 1024) {
    (void)txf_buf_printf(&b, "id%zu,\"q\"\"%zu\nz\",%zu\n", n, n * 7, n);
    n++;
  }
  *n_records = n;
  if (!zst) {
    unit_write_file(path, b.data);
  } else {
    size_t cap = ZSTD_compressBound(b.len);
    char *c = malloc(cap);
    size_t clen = ZSTD_compress(c, cap, b.data, b.len, 1);
    ASSERT(!ZSTD_isError(clen));
    FILE *fp = fopen(path, "wb");
    ASSERT(fp && fwrite(c, 1, clen, fp) == clen);
    fclose(fp);
    free(c);
  }
  txf_buf_release(&b);
}

static void read_big(const char *path, size_t want) {
  txf_csv_reader *r;
  txf_err err;
  ASSERT_OK(txf_csv_reader_open(&r, path, 3, &err), &err);
  txf_csv_record rec;
  int has;
  size_t k = 0;
  char exp[64];
  ASSERT_OK(txf_csv_reader_next(r, &rec, &has, &err), &err); /* header */
  for (;;) {
    ASSERT_OK(txf_csv_reader_next(r, &rec, &has, &err), &err);
    if (!has)
      break;
    ASSERT(!rec.bad_quote);
    ASSERT_EQ_I64(rec.n_fields, 3);
    int m = snprintf(exp, sizeof exp, "q\"%zu\nz", k * 7);
    ASSERT_EQ_I64(rec.field_len[1], m);
    ASSERT_EQ_MEM(rec.field[1], exp, (size_t)m);
    ASSERT_EQ_I64(rec.line_no, 2 + 2 * (int64_t)k);
    k++;
  }
  ASSERT_EQ_U64(k, want);
  txf_csv_reader_free(r);
}

TEST(csv_big_file_plain_and_zstd) {
  size_t n;
  write_big(unit_path("big.csv"), 0, &n);
  read_big(unit_path("big.csv"), n);
  write_big(unit_path("big.csv.zst"), 1, &n);
  read_big(unit_path("big.csv.zst"), n);
}

TEST(csv_truncated_zstd_is_an_error) {
  size_t n;
  write_big(unit_path("t.csv.zst"), 1, &n);
  const char *p = unit_path("t.csv.zst");
  FILE *fp = fopen(p, "r+b");
  fseek(fp, 0, SEEK_END);
  long sz = ftell(fp);
  fclose(fp);
  ASSERT(truncate(p, sz / 2) == 0);
  txf_csv_reader *r;
  txf_err err;
  ASSERT_OK(txf_csv_reader_open(&r, p, 3, &err), &err);
  txf_csv_record rec;
  int has, rc = 0;
  while ((rc = txf_csv_reader_next(r, &rec, &has, &err)) == 0 && has)
    ;
  ASSERT_EQ_I64(rc, TXF_ECORRUPT);
  txf_csv_reader_free(r);
}

TEST(csv_over_long_record_is_flagged_and_skipped) {
  size_t big = TXF_CSV_MAX_RECORD + 100;
  char *t = malloc(big + 16);
  memset(t, 'x', big);
  memcpy(t + big, "\na,b\n", 6);
  txf_csv_reader *r = txf_csv_reader_open_mem(t, big + 5, "t", 2);
  txf_csv_record rec;
  int has;
  txf_err err;
  ASSERT_OK(txf_csv_reader_next(r, &rec, &has, &err), &err);
  ASSERT(has && rec.too_long);
  ASSERT_OK(txf_csv_reader_next(r, &rec, &has, &err), &err);
  ASSERT(has && !rec.too_long);
  ASSERT_EQ_I64(rec.line_no, 2);
  ASSERT_EQ_I64(rec.n_fields, 2);
  ASSERT_OK(txf_csv_reader_next(r, &rec, &has, &err), &err);
  ASSERT(!has);
  txf_csv_reader_free(r);
  free(t);
}

TEST(csv_utf8_validation) {
  ASSERT(txf_utf8_valid("plain ascii text, long enough", 29));
  ASSERT(txf_utf8_valid("\xEC\x84\x9C\xEC\x9A\xB8", 6)); /* 서울 */
  ASSERT(txf_utf8_valid("\xF0\x9F\x92\xB3", 4));         /* card emoji */
  ASSERT(!txf_utf8_valid("\xC0\xAF", 2));                 /* overlong */
  ASSERT(!txf_utf8_valid("\xED\xA0\x80", 3));             /* surrogate */
  ASSERT(!txf_utf8_valid("abc\xFF", 4));
  ASSERT(!txf_utf8_valid("abcdefgh\xE2\x82", 10)); /* truncated */
  ASSERT(!txf_utf8_valid("\xF4\x90\x80\x80", 4));  /* > U+10FFFF */
}

/* ---- reading a file in spans (txf_csv_span_read), as clean does */

/* One record as "@AT,RAWLEN,TERM[!q][!L]:f1|f2|...;" (no number). */
static void render_rec(txf_buf *b, const txf_csv_record *rec, uint64_t at) {
  (void)txf_buf_printf(b, "@%llu,%zu,%zu%s%s:", (unsigned long long)at,
                       rec->raw_len, strlen(rec->term),
                       rec->bad_quote ? "!q" : "", rec->too_long ? "!L" : "");
  for (size_t i = 0; i < rec->n_fields && i < TXF_CSV_MAX_FIELDS; i++) {
    if (i)
      (void)txf_buf_putc(b, '|');
    (void)txf_buf_append(b, rec->field[i], rec->field_len[i]);
  }
  (void)txf_buf_putc(b, ';');
}

typedef struct span_out {
  txf_buf recs; /* rendered, without their numbers */
  int64_t n;    /* records, numbered 1..n as they came */
} span_out;

static void span_cb(void *ctx, const txf_csv_record *rec, uint64_t at) {
  span_out *o = ctx;
  ASSERT_EQ_I64(rec->record_no, o->n + 1);
  o->n++;
  render_rec(&o->recs, rec, at);
}

static void whole_cb(void *ctx, const txf_csv_record *rec, uint64_t at) {
  txf_buf *b = ctx;
  (void)txf_buf_printf(b, "%lld", (long long)rec->record_no);
  render_rec(b, rec, at);
}

/* All records of T[0..LEN) as one reader reads them: "N" + render_rec. */
static char *render_whole(const char *t, size_t len, size_t expected) {
  txf_buf b;
  txf_buf_init(&b, 0);
  read_all(t, len, expected, whole_cb, &b);
  return txf_buf_take(&b, NULL);
}

/* The same read in spans of SPAN bytes cut from 0, each read from the
 * first line start after its cut and read again from where the span
 * before it stopped when that is elsewhere (clean's read_file). *AGAIN
 * counts the spans read again. */
static char *render_spans(const char *t, size_t len, size_t span,
                          size_t expected, int *again) {
  txf_buf b;
  txf_buf_init(&b, 0);
  size_t end = 0;
  int64_t before = 0;
  size_t n_spans = (len + span - 1) / span;
  for (size_t k = 0; k < n_spans; k++) {
    size_t cut = k * span, next = cut + span < len ? cut + span : len;
    size_t guess = txf_csv_span_start(t, len, cut);
    ASSERT(guess >= cut &&
           (guess == 0 || guess == len || t[guess - 1] == '\n'));
    span_out o = {.n = 0};
    txf_buf_init(&o.recs, 0);
    size_t stop =
        txf_csv_span_read(t, len, guess, next, expected, NULL, span_cb, &o);
    if (guess != end) {
      ASSERT(guess < end);
      (*again)++;
      txf_buf_reset(&o.recs);
      o.n = 0;
      stop = txf_csv_span_read(t, len, end, next, expected, NULL, span_cb, &o);
    }
    ASSERT(stop >= next || stop == len);
    /* number the span's records after those before it */
    const char *p = o.recs.data;
    for (int64_t i = 0; i < o.n; i++) {
      const char *e = strchr(p, ';');
      ASSERT(e != NULL);
      (void)txf_buf_printf(&b, "%lld", (long long)(before + i + 1));
      (void)txf_buf_append(&b, p, (size_t)(e - p) + 1);
      p = e + 1;
    }
    before += o.n;
    end = stop;
    txf_buf_release(&o.recs);
  }
  return txf_buf_take(&b, NULL);
}

/* Quoted newlines, doubled quotes, stray and unterminated quotes, CRLF, a
 * lone CR, blank lines, a BOM, wrong field counts: cut at every span
 * size from 1 byte, the spans read exactly the records one reader reads
 * (offsets, numbers, fields, flags), some of them only on a second read. */
TEST(csv_spans_read_like_one_reader) {
  static const char *const bits[] = {"a",  "bb", ",",    ",",  "\"", "\"\"",
                                     "\n", "\n", "\r\n", "\r", "x y"};
  uint64_t s = 0x9e3779b97f4a7c15ull;
  int again = 0;
  for (int doc = 0; doc < 300; doc++) {
    txf_buf t;
    txf_buf_init(&t, 0);
    if (doc % 7 == 0)
      (void)txf_buf_append(&t, "\xEF\xBB\xBF", 3);
    int n_bits = 20 + doc % 150;
    for (int i = 0; i < n_bits; i++) {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      const char *p = bits[s % (sizeof bits / sizeof *bits)];
      (void)txf_buf_append(&t, p, strlen(p));
    }
    size_t expected = (size_t)(doc % 4); /* 0: any */
    char *want = render_whole(t.data, t.len, expected);
    for (size_t span = 1; span <= t.len + 1; span += span < 24 ? 1 : 7) {
      char *got = render_spans(t.data, t.len, span, expected, &again);
      ASSERT_EQ_STR(got, want);
      free(got);
    }
    free(want);
    txf_buf_release(&t);
  }
  ASSERT(again > 100); /* the checks were exercised, not just passed */
}

/* An over-long line is skipped to its end: a span cut inside it starts
 * after it, and the span before stops there. */
TEST(csv_spans_over_long_line_across_cuts) {
  size_t big = TXF_CSV_MAX_RECORD + 1000, len = 0;
  char *t = malloc(big + 64);
  len += (size_t)sprintf(t, "a,b\n\"q,1\nz\n");
  memset(t + len, 'x', big);
  t[len + 10] = '"';
  len += big;
  len += (size_t)sprintf(t + len, "\na,\"b\nc\"\n1,2");
  char *want = render_whole(t, len, 2);
  int again = 0;
  static const size_t spans[] = {1000, 65536, 300000, TXF_CSV_MAX_RECORD,
                                 TXF_CSV_MAX_RECORD + 20};
  for (size_t i = 0; i < sizeof spans / sizeof *spans; i++) {
    char *got = render_spans(t, len, spans[i], 2, &again);
    ASSERT_EQ_STR(got, want);
    free(got);
  }
  ASSERT(strstr(want, "!L") != NULL);
  free(want);
  free(t);
}
