/* Streaming RFC 4180 reader (see the CSV section of bronze.h).
 *
 * The reader keeps one buffer of decompressed input and parses records in
 * place: an unquoted field, or a quoted one without doubled quotes, points
 * straight into the buffer; only a field with "" is copied (unescaped) into
 * a second buffer. No allocation per record or per field. */
#include <errno.h>
#include <iconv.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "bronze/bronze.h"

#define BUF_CAP (4u * TXF_CSV_MAX_RECORD) /* input window */
#define READ_CHUNK (1u << 20)

struct txf_csv_reader {
  char *name;
  FILE *fp;
  char delim;       /* the field separator */
  ZSTD_DStream *zs; /* non-NULL for zstd input */
  z_stream *gz;     /* non-NULL for gzip input */
  int gz_end;       /* the last inflate ended a gzip member */
  char *zin;        /* compressed input buffer */
  ZSTD_inBuffer zib;
  int zeof;        /* compressed file fully read */
  int zframe_done; /* last decompress call ended a frame */
  size_t zin_cap;
  iconv_t cd; /* (iconv_t)-1: the input is UTF-8 already */
  char *cin;  /* decompressed bytes not yet decoded */
  size_t cin_len;
  int cin_eof;     /* no more decompressed input */
  const char *mem; /* open_mem: the data itself, no copies */
  char *buf;       /* owned window (file input) */
  size_t cap;
  size_t len; /* valid bytes in the window */
  size_t pos; /* start of the next record */
  int eof;    /* no more input beyond len */
  int bom_checked;
  int skipping; /* discarding the rest of an over-long record */
  size_t expected;
  int64_t record_no;
  int64_t line_no; /* physical line of the next record */
  uint64_t consumed;
  char *ubuf; /* unescaped fields of the current record */
  size_t ubuf_cap;
};

txf_csv_reader *txf_csv_reader_open_mem(const char *data, size_t len,
                                        const char *name,
                                        size_t expected_fields) {
  txf_csv_reader *r = txf_xcalloc(1, sizeof *r);
  r->name = txf_xstrdup(name ? name : "(memory)");
  r->mem = data;
  r->len = len;
  r->cap = len;
  r->eof = 1;
  r->expected = expected_fields;
  r->line_no = 1;
  r->delim = ',';
  r->cd = (iconv_t)-1;
  return r;
}

const char *const txf_csv_encoding_names[TXF_CSV_ENC_N] = {"utf-8", "cp949"};
const char *const txf_csv_compression_names[TXF_CSV_COMP_N] = {"auto", "none",
                                                               "gzip", "zstd"};

int txf_csv_sniff(const unsigned char *p, size_t n) {
  if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
    return TXF_CSV_COMP_GZIP;
  if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
    return TXF_CSV_COMP_ZSTD;
  return TXF_CSV_COMP_NONE;
}

int txf_csv_reader_open(txf_csv_reader **out, const char *path,
                        size_t expected_fields, txf_err *err) {
  return txf_csv_reader_open_opts(out, path, expected_fields, NULL, err);
}

int txf_csv_reader_open_opts(txf_csv_reader **out, const char *path,
                             size_t expected_fields, const txf_csv_opts *o,
                             txf_err *err) {
  *out = NULL;
  FILE *fp = fopen(path, "rb");
  if (!fp)
    return txf_err_errno(err, TXF_EIO, "%s: cannot open", path);
  txf_csv_reader *r = txf_xcalloc(1, sizeof *r);
  r->name = txf_xstrdup(path);
  r->fp = fp;
  r->cap = BUF_CAP;
  r->buf = txf_xmalloc(r->cap);
  r->expected = expected_fields;
  r->line_no = 1;
  r->delim = o && o->delimiter ? o->delimiter : ',';
  r->cd = (iconv_t)-1;
  /* The compression a file says it has (its first bytes) decides; a
   * configured one must agree, so a plain file named .gz is not read as
   * text by mistake, nor a gzip file as CSV. */
  unsigned char magic[4];
  size_t got = fread(magic, 1, sizeof magic, fp);
  int comp = txf_csv_sniff(magic, got);
  int want = o ? o->compression : TXF_CSV_COMP_AUTO;
  if (fseek(fp, 0, SEEK_SET) != 0) {
    txf_csv_reader_free(r);
    return txf_err_errno(err, TXF_EIO, "%s: cannot seek", path);
  }
  if (want != TXF_CSV_COMP_AUTO && want != comp && got > 0) {
    int rc = txf_err_set(
        err, TXF_EPARSE, "%s: configured as %s, but the file is %s", path,
        txf_csv_compression_names[want],
        comp == TXF_CSV_COMP_NONE ? "not compressed"
                                  : txf_csv_compression_names[comp]);
    txf_csv_reader_free(r);
    return rc;
  }
  if (comp == TXF_CSV_COMP_ZSTD) {
    r->zs = ZSTD_createDStream();
    if (!r->zs) {
      txf_csv_reader_free(r);
      return txf_err_set(err, TXF_EIO, "%s: cannot create zstd stream", path);
    }
    ZSTD_initDStream(r->zs);
    r->zin_cap = ZSTD_DStreamInSize();
    r->zin = txf_xmalloc(r->zin_cap);
    r->zib.src = r->zin;
  } else if (comp == TXF_CSV_COMP_GZIP) {
    r->gz = txf_xcalloc(1, sizeof *r->gz);
    /* 15 + 16: a gzip header and trailer (CRC-32, length) */
    if (inflateInit2(r->gz, 15 + 16) != Z_OK) {
      free(r->gz);
      r->gz = NULL;
      txf_csv_reader_free(r);
      return txf_err_set(err, TXF_EIO, "%s: cannot create gzip stream", path);
    }
    r->zin_cap = 1u << 16;
    r->zin = txf_xmalloc(r->zin_cap);
  }
  if (o && o->encoding == TXF_CSV_ENC_CP949) {
    r->cd = iconv_open("UTF-8", "CP949");
    if (r->cd == (iconv_t)-1) {
      int rc = txf_err_errno(err, TXF_EIO, "%s: cannot decode CP949", path);
      txf_csv_reader_free(r);
      return rc;
    }
    r->cin = txf_xmalloc(READ_CHUNK);
  }
  *out = r;
  return 0;
}

void txf_csv_reader_free(txf_csv_reader *r) {
  if (!r)
    return;
  if (r->fp)
    fclose(r->fp);
  if (r->zs)
    ZSTD_freeDStream(r->zs);
  if (r->gz) {
    inflateEnd(r->gz);
    free(r->gz);
  }
  if (r->cd != (iconv_t)-1)
    iconv_close(r->cd);
  TXF_FREE_ALL(r->cin, r->zin, r->buf, r->ubuf, r->name, r);
}

uint64_t txf_csv_reader_offset(const txf_csv_reader *r) { return r->consumed; }

int txf_csv_reader_splittable(const txf_csv_reader *r) {
  return r->fp && !r->zs && !r->gz && r->cd == (iconv_t)-1 && !r->skipping;
}

size_t txf_csv_span_start(const char *data, size_t len, size_t cut) {
  if (cut == 0 || cut >= len)
    return cut < len ? cut : len;
  const char *nl = memchr(data + cut - 1, '\n', len - (cut - 1));
  return nl ? (size_t)(nl - data) + 1 : len;
}

size_t txf_csv_span_read(const char *data, size_t len, size_t from, size_t to,
                         size_t expected_fields, const txf_csv_opts *opts,
                         txf_csv_record_fn fn, void *ctx) {
  txf_csv_reader *r =
      txf_csv_reader_open_mem(data + from, len - from, "span", expected_fields);
  r->consumed = from;
  r->bom_checked = from > 0;
  if (opts && opts->delimiter)
    r->delim = opts->delimiter;
  txf_csv_record rec;
  txf_err err;
  int has = 1;
  for (;;) {
    uint64_t at = r->consumed;
    /* stop at a record start only: an over-long line is skipped whole */
    if (at >= to && !r->skipping)
      break;
    /* from memory, reading cannot fail */
    if (txf_csv_reader_next(r, &rec, &has, &err) != 0 || !has)
      break;
    fn(ctx, &rec, at);
  }
  size_t end = (size_t)r->consumed;
  txf_csv_reader_free(r);
  return end;
}

void txf_csv_reader_expect(txf_csv_reader *r, size_t expected_fields) {
  r->expected = expected_fields;
}

static const char *data_of(const txf_csv_reader *r) {
  return r->mem ? r->mem : r->buf;
}

/* The next bytes of a compressed file into ZIN: *N of them, 0 at its end.
 * DONE says whether the WHAT stream has ended there: a stream cut short
 * (a file copied in part, or still being written) is an error. */
static int read_compressed(txf_csv_reader *r, int done, const char *what,
                           size_t *n, txf_err *err) {
  *n = 0;
  if (!r->zeof) {
    *n = fread(r->zin, 1, r->zin_cap, r->fp);
    if (*n > 0)
      return 0;
    if (ferror(r->fp))
      return txf_err_errno(err, TXF_EIO, "%s: read failed", r->name);
    r->zeof = 1;
  }
  if (!done)
    return txf_err_set(err, TXF_ECORRUPT,
                       "%s: truncated %s stream (the file is incomplete)",
                       r->name, what);
  return 0;
}

/* Decompressed input: up to CAP bytes into DST, *GOT of them (0 only at
 * the end of the input). */
static int raw_read(txf_csv_reader *r, char *dst, size_t cap, size_t *got,
                    txf_err *err) {
  *got = 0;
  if (!r->zs && !r->gz) {
    size_t want = cap < READ_CHUNK ? cap : READ_CHUNK;
    size_t n = fread(dst, 1, want, r->fp);
    if (n < want && ferror(r->fp))
      return txf_err_errno(err, TXF_EIO, "%s: read failed", r->name);
    *got = n;
    return 0;
  }
  if (r->gz) {
    z_stream *z = r->gz;
    z->next_out = (Bytef *)dst;
    z->avail_out = (uInt)(cap < (1u << 30) ? cap : (1u << 30));
    while (z->avail_out == (uInt)(cap < (1u << 30) ? cap : (1u << 30))) {
      if (z->avail_in == 0) {
        /* a gzip file ends with its member's trailer */
        size_t n;
        int rc = read_compressed(r, r->gz_end, "gzip", &n, err);
        if (rc)
          return rc;
        if (n == 0)
          break;
        z->next_in = (Bytef *)r->zin;
        z->avail_in = (uInt)n;
      }
      if (r->gz_end) {
        /* another member follows (concatenated gzip files) */
        if (inflateReset(z) != Z_OK)
          return txf_err_set(err, TXF_ECORRUPT, "%s: gzip: cannot reset",
                             r->name);
        r->gz_end = 0;
      }
      int zr = inflate(z, Z_NO_FLUSH);
      if (zr == Z_STREAM_END)
        r->gz_end = 1;
      else if (zr != Z_OK && zr != Z_BUF_ERROR)
        return txf_err_set(err, TXF_ECORRUPT, "%s: gzip: %s", r->name,
                           z->msg ? z->msg : "corrupt data");
    }
    *got = (size_t)((char *)z->next_out - dst);
    return 0;
  }
  ZSTD_outBuffer ob = {dst, cap, 0};
  while (ob.pos == 0) {
    if (r->zib.pos == r->zib.size) {
      size_t n;
      int rc = read_compressed(r, r->zframe_done, "zstd", &n, err);
      if (rc)
        return rc;
      if (n == 0)
        break;
      r->zib.size = n;
      r->zib.pos = 0;
    }
    size_t rc = ZSTD_decompressStream(r->zs, &ob, &r->zib);
    if (ZSTD_isError(rc))
      return txf_err_set(err, TXF_ECORRUPT, "%s: zstd: %s", r->name,
                         ZSTD_getErrorName(rc));
    r->zframe_done = rc == 0;
  }
  *got = ob.pos;
  return 0;
}

static size_t used0(const txf_csv_reader *r, const char *in) {
  return (size_t)(in - r->cin);
}

/* Decoded (UTF-8) input: up to CAP bytes into DST. A byte sequence that
 * is not CP949 is passed through as it is, so its line fails the UTF-8
 * check and goes to quarantine (invalid_utf8) instead of stopping the
 * file. */
static int decoded_read(txf_csv_reader *r, char *dst, size_t cap, size_t *got,
                        txf_err *err) {
  if (r->cd == (iconv_t)-1)
    return raw_read(r, dst, cap, got, err);
  char *out = dst;
  size_t out_left = cap;
  while (out_left >= 8) { /* the window has megabytes of room */
    if (!r->cin_eof && r->cin_len < READ_CHUNK / 2) {
      size_t n;
      int rc =
          raw_read(r, r->cin + r->cin_len, READ_CHUNK - r->cin_len, &n, err);
      if (rc)
        return rc;
      if (n == 0)
        r->cin_eof = 1;
      r->cin_len += n;
    }
    if (r->cin_len == 0)
      break;
    char *in = r->cin;
    size_t in_left = r->cin_len;
    size_t k = iconv(r->cd, &in, &in_left, &out, &out_left);
    int e = k == (size_t)-1 ? errno : 0;
    if (e == EILSEQ ||
        (e == EINVAL &&
         (r->cin_eof || (used0(r, in) == 0 && r->cin_len >= READ_CHUNK / 2)))) {
      *out++ = *in++; /* not CP949: kept as it is */
      in_left--;
      out_left--;
    }
    memmove(r->cin, in, in_left);
    r->cin_len = in_left;
    if (e == E2BIG)
      break;
  }
  *got = (size_t)(out - dst);
  return 0;
}

/* Read more input into the window after moving the unread part to the
 * front. */
static int fill(txf_csv_reader *r, txf_err *err) {
  if (r->eof || r->mem)
    return 0;
  if (r->pos > 0) {
    memmove(r->buf, r->buf + r->pos, r->len - r->pos);
    r->len -= r->pos;
    r->pos = 0;
  }
  size_t room = r->cap - r->len;
  if (room == 0)
    return 0;
  size_t got;
  int rc = decoded_read(r, r->buf + r->len, room, &got, err);
  if (rc)
    return rc;
  if (got == 0)
    r->eof = 1;
  r->len += got;
  return 0;
}

static void ubuf_reserve(txf_csv_reader *r, size_t n) {
  if (r->ubuf_cap < n) {
    free(r->ubuf);
    r->ubuf_cap = n < 4096 ? 4096 : n;
    r->ubuf = txf_xmalloc(r->ubuf_cap);
  }
}

static void add_field(txf_csv_record *rec, const char *p, size_t len) {
  if (rec->n_fields < TXF_CSV_MAX_FIELDS) {
    rec->field[rec->n_fields] = p;
    rec->field_len[rec->n_fields] = (uint32_t)len;
  }
  rec->n_fields++;
}

/* Add the quoted field whose text starts at P + START and ends at END. A
 * field with "" in it is unescaped into r->ubuf: its text so far is
 * ubuf[OUT_START..*U) and P[I..END) follows. */
static void add_quoted(txf_csv_reader *r, txf_csv_record *rec, const char *p,
                       size_t start, size_t i, size_t end, int escaped,
                       size_t out_start, size_t *u) {
  if (escaped) {
    memcpy(r->ubuf + *u, p + i, end - i);
    *u += end - i;
    add_field(rec, r->ubuf + out_start, *u - out_start);
  } else {
    add_field(rec, p + start, end - start);
  }
}

/* The first byte of P[I..LIM) that an unquoted field must look at (the
 * separator DELIM, LF, CR or quote), or LIM. Eight bytes at a time: a byte equal
 * to C makes (x ^ C) have a zero byte, found with the borrow trick,
 * whose lowest flagged byte is exact (flags above it may be false, and
 * are not used). Ids and timestamps are 10 to 30 bytes: this was most
 * of the split's time byte by byte. */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "skip_plain reads words little-endian"
#endif
static inline size_t skip_plain(const char *p, size_t i, size_t lim,
                                char delim) {
  const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  while (i + 8 <= lim) {
    uint64_t x;
    memcpy(&x, p + i, 8);
    uint64_t a = x ^ (ones * (unsigned char)delim), b = x ^ (ones * '\n'),
             c = x ^ (ones * '\r'), d = x ^ (ones * '"');
    uint64_t m = ((a - ones) & ~a) | ((b - ones) & ~b) | ((c - ones) & ~c) |
                 ((d - ones) & ~d);
    m &= highs;
    if (m) /* little-endian: the lowest flagged byte comes first */
      return i + ((size_t)__builtin_ctzll(m) >> 3);
    i += 8;
  }
  while (i < lim && p[i] != delim && p[i] != '\n' && p[i] != '\r' &&
         p[i] != '"')
    i++;
  return i;
}

/* A plain line: the record at P[0..LIM) ends at an LF (or CRLF) before
 * LIM, and holds no quote and no other CR. Its fields are then the bytes
 * between separators, as parse() would find them; it is read sixteen
 * bytes at a time, separators and the four bytes that end or change a
 * field in one pass. Returns the bytes it spans with its terminator, or
 * 0 when the line is not plain or its end is less than sixteen bytes
 * before LIM (parse() then reads it; REC is left partly filled). The
 * generated feed's lines are all plain: field by field, parse() was 9 %
 * of a first load's samples. */
#if defined(__SSE2__)
static size_t parse_plain(const char *p, size_t lim, char delim,
                          txf_csv_record *rec) {
  const __m128i vd = _mm_set1_epi8(delim), vn = _mm_set1_epi8('\n'),
                vr = _mm_set1_epi8('\r'), vq = _mm_set1_epi8('"');
  size_t start = 0;
  rec->n_fields = 0;
  rec->bad_quote = 0;
  rec->too_long = 0;
  for (size_t i = 0; i + 16 <= lim; i += 16) {
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
    unsigned md = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, vd));
    unsigned ms = (unsigned)_mm_movemask_epi8(
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vn), _mm_cmpeq_epi8(x, vr)),
                     _mm_cmpeq_epi8(x, vq)));
    if (ms) /* separators after the first special byte are not ours */
      md &= (1u << __builtin_ctz(ms)) - 1;
    for (; md; md &= md - 1) {
      size_t at = i + (size_t)__builtin_ctz(md);
      add_field(rec, p + start, at - start);
      start = at + 1;
    }
    if (!ms)
      continue;
    size_t at = i + (size_t)__builtin_ctz(ms);
    int crlf = p[at] == '\r' && at + 1 < lim && p[at + 1] == '\n';
    if (p[at] != '\n' && !crlf)
      return 0; /* a quote or a lone CR: parse() decides */
    add_field(rec, p + start, at - start);
    rec->raw_len = at;
    rec->term = crlf ? "\r\n" : "\n";
    return at + 1 + (size_t)crlf;
  }
  return 0;
}
#else
static size_t parse_plain(const char *p, size_t lim, char delim,
                          txf_csv_record *rec) {
  (void)p, (void)lim, (void)delim, (void)rec;
  return 0;
}
#endif

/* Parse one record from P[0..N). Returns the bytes it spans including its
 * terminator, or 0 when more input is needed (only when !EOF). With
 * SINGLE_LINE the record ends at the first LF whatever the quoting. */
static size_t parse(txf_csv_reader *r, const char *p, size_t n, int eof,
                    int single_line, txf_csv_record *rec) {
  size_t lim = n;
  if (single_line) {
    const char *nl = memchr(p, '\n', n);
    if (nl)
      lim = (size_t)(nl - p) + 1;
  }
  rec->n_fields = 0;
  rec->bad_quote = 0;
  rec->too_long = 0;
  size_t u = 0; /* used bytes of ubuf */
  size_t i = 0;
  for (;;) {
    /* one field starting at i */
    if (i < lim && p[i] == '"') {
      size_t start = ++i, out_start = u;
      int escaped = 0;
      for (;;) {
        const char *q = i < lim ? memchr(p + i, '"', lim - i) : NULL;
        if (single_line && q == NULL) {
          /* unterminated on this line: the field runs to the line end */
          size_t end = lim;
          if (end > i && p[end - 1] == '\n')
            end--;
          if (end > i && p[end - 1] == '\r')
            end--;
          rec->bad_quote = 1;
          add_quoted(r, rec, p, start, i, end, escaped, out_start, &u);
          rec->raw_len = end;
          rec->term = end < lim ? (p[end] == '\r' ? "\r\n" : "\n") : "";
          return lim;
        }
        if (q == NULL) {
          if (!eof)
            return 0;
          rec->bad_quote = 1; /* unterminated at the end of input */
          add_quoted(r, rec, p, start, i, lim, escaped, out_start, &u);
          rec->raw_len = lim;
          rec->term = "";
          return lim;
        }
        size_t j = (size_t)(q - p);
        if (j + 1 >= lim && !eof && !single_line)
          return 0; /* cannot tell "" from a closing quote yet */
        if (j + 1 < lim && p[j + 1] == '"') {
          if (!escaped) {
            memcpy(r->ubuf + u, p + start, j - start);
            u += j - start;
            escaped = 1;
          } else {
            memcpy(r->ubuf + u, p + i, j - i);
            u += j - i;
          }
          r->ubuf[u++] = '"';
          i = j + 2;
          continue;
        }
        /* closing quote */
        add_quoted(r, rec, p, start, i, j, escaped, out_start, &u);
        i = j + 1;
        break;
      }
      /* after a closing quote: a separator, a terminator or the end */
      if (i < lim && p[i] != r->delim && p[i] != '\n' &&
          !(p[i] == '\r' && i + 1 < lim && p[i + 1] == '\n') &&
          !(p[i] == '\r' && i + 1 == lim && eof)) {
        if (p[i] == '\r' && i + 1 == lim && !eof && !single_line)
          return 0;
        rec->bad_quote = 1;
        while (i < lim && p[i] != r->delim && p[i] != '\n')
          i++;
        if (i == lim && !eof && !single_line)
          return 0;
      }
    } else {
      size_t start = i;
      while ((i = skip_plain(p, i, lim, r->delim)) < lim) {
        char c = p[i];
        if (c == r->delim || c == '\n')
          break;
        if (c == '\r' && i + 1 < lim && p[i + 1] == '\n')
          break;
        if (c == '\r' && i + 1 == lim && eof && !single_line)
          break; /* a CRLF file whose last line lost its LF */
        if (c == '"')
          rec->bad_quote = 1;
        i++;
      }
      if (i == lim && !eof && !single_line)
        return 0;
      if (i > start && i == lim && p[i - 1] == '\r' && !eof && !single_line)
        return 0;
      add_field(rec, p + start, i - start);
    }
    if (i < lim && p[i] == r->delim) {
      i++;
      continue;
    }
    /* end of record */
    if (i < lim && p[i] == '\n') {
      rec->raw_len = i;
      rec->term = "\n";
      return i + 1;
    }
    if (i + 1 < lim && p[i] == '\r' && p[i + 1] == '\n') {
      rec->raw_len = i;
      rec->term = "\r\n";
      return i + 2;
    }
    /* end of input (or of the line window) */
    rec->raw_len = i;
    rec->term = "";
    return i < lim ? lim : i;
  }
}

static int64_t count_newlines(const char *p, size_t n) {
  int64_t k = 0;
  const char *e = p + n;
  while ((p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
    k++;
    p++;
  }
  return k;
}

/* REC, parsed at P, spans USED bytes over LINES physical lines. */
static void finish_record(txf_csv_reader *r, txf_csv_record *rec, const char *p,
                          size_t used, int64_t lines) {
  rec->raw = p;
  rec->record_no = ++r->record_no;
  rec->line_no = r->line_no;
  r->line_no += lines;
  r->pos += used;
  r->consumed += used;
}

int txf_csv_reader_next(txf_csv_reader *r, txf_csv_record *rec, int *has_record,
                        txf_err *err) {
  *has_record = 0;
  int rc;
  if (!r->bom_checked) {
    while (!r->eof && r->len - r->pos < 3)
      if ((rc = fill(r, err)) != 0)
        return rc;
    const char *d = data_of(r);
    if (r->len - r->pos >= 3 && memcmp(d + r->pos, "\xEF\xBB\xBF", 3) == 0) {
      r->pos += 3;
      r->consumed += 3;
    }
    r->bom_checked = 1;
  }
  for (;;) {
    const char *d = data_of(r);
    if (r->skipping) {
      const char *nl = memchr(d + r->pos, '\n', r->len - r->pos);
      if (nl) {
        size_t k = (size_t)(nl - (d + r->pos)) + 1;
        r->pos += k;
        r->consumed += k;
        r->line_no++;
        r->skipping = 0;
        continue;
      }
      r->consumed += r->len - r->pos;
      r->pos = r->len;
      if (r->eof)
        return 0;
      if ((rc = fill(r, err)) != 0)
        return rc;
      continue;
    }
    size_t avail = r->len - r->pos;
    if (avail == 0) {
      if (r->eof)
        return 0;
      if ((rc = fill(r, err)) != 0)
        return rc;
      continue;
    }
    const char *p = d + r->pos;
    ubuf_reserve(r, avail < TXF_CSV_MAX_RECORD ? avail + 1
                                               : TXF_CSV_MAX_RECORD + 1);
    size_t lim = avail < TXF_CSV_MAX_RECORD ? avail : TXF_CSV_MAX_RECORD;
    int at_eof = r->eof && lim == avail;
    memset(rec, 0, offsetof(txf_csv_record, field));
    size_t used = parse_plain(p, lim, r->delim, rec);
    if (used) { /* one physical line, parsed */
      finish_record(r, rec, p, used, 1);
      *has_record = 1;
      return 0;
    }
    used = parse(r, p, lim, at_eof, 0, rec);
    if (used == 0 && !r->eof && avail < TXF_CSV_MAX_RECORD) {
      if ((rc = fill(r, err)) != 0)
        return rc;
      continue;
    }
    int multi = used > 0 && memchr(p, '\n', rec->raw_len) != NULL;
    if (used == 0 ||
        (multi &&
         (rec->bad_quote || (r->expected && rec->n_fields != r->expected)))) {
      /* Too long, or a multi-line record that does not parse: fall back
       * to the first physical line alone. */
      int has_nl = memchr(p, '\n', lim) != NULL;
      memset(rec, 0, offsetof(txf_csv_record, field));
      used = parse(r, p, lim, 1, 1, rec);
      rec->bad_quote = 1;
      if (!has_nl) {
        rec->too_long = 1;
        rec->raw_len = lim;
        rec->term = "";
        used = lim;
        r->skipping = 1;
      }
    }
    finish_record(r, rec, p, used, count_newlines(p, used));
    *has_record = 1;
    return 0;
  }
}

/* UTF-8 per RFC 3629: no overlong forms, no surrogates, <= U+10FFFF. */
int txf_utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s, *e = p + n;
  while (p < e) {
    /* fast path: 8 ASCII bytes at a time */
    while (e - p >= 8) {
      uint64_t w;
      memcpy(&w, p, 8);
      if (w & UINT64_C(0x8080808080808080))
        break;
      p += 8;
    }
    if (p >= e)
      break;
    unsigned c = *p;
    if (c < 0x80) {
      p++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      if (e - p < 2 || (p[1] & 0xC0) != 0x80)
        return 0;
      p += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      if (e - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
        return 0;
      if (c == 0xE0 && p[1] < 0xA0)
        return 0; /* overlong */
      if (c == 0xED && p[1] >= 0xA0)
        return 0; /* surrogate */
      p += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      if (e - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
          (p[3] & 0xC0) != 0x80)
        return 0;
      if (c == 0xF0 && p[1] < 0x90)
        return 0;
      if (c == 0xF4 && p[1] >= 0x90)
        return 0;
      p += 4;
    } else {
      return 0;
    }
  }
  return 1;
}
