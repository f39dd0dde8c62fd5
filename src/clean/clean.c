/* txf_clean_run: one batch from bronze into the silver lake.
 *
 *   lock -> recover -> read + validate (quarantine) -> dedup in the batch
 *   -> merge with the id index -> rewrite touched partitions (staging)
 *   -> journal (commit point) -> apply -> record -> done
 *
 * Nothing under silver/ or quarantine/ changes before the journal is
 * written; see journal.c for the recovery side. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clean/internal.h"
#include "pan/pan.h"

#define STAGING ".clean/staging"
#define ROWS_PER_BLOCK 65536

/* ---------------------------------------------------------------- run */

typedef struct run {
  const txf_clean_opts *o;
  int cards; /* a card feed's batch: card_number, tokenized (o->pan_key) */
  txf_tz *tz;
  char *staging;       /* absolute */
  char date_str[11];
  csources src;
  int64_t *src_lines;  /* data records per batch file */
  int64_t *want_lines; /* per file, what the manifest says (NULL: --input) */
  txf_manifest manifest; /* its files hashed while they are read */
  char *bronze_dir;      /* NULL: --input, no manifest */
  size_t n_files;
  int64_t lines_read;
  int64_t by_reason[TXF_REJ_N];
  int64_t quarantined;
  FILE *q_lines, *q_rejects;
  txf_clean_merge m; /* the batch's rows in their spills, the merge */
  jop *ops;
  size_t n_ops, cap_ops;
  int64_t version;       /* the lake version this clean commits */
  char batch_sha[65];    /* SHA-256 of the batch's _manifest.json, or "" */
  txf_clean_crash crash; /* the options' crash injection */
  int stage_crash;
  txf_clean_manifest lake; /* the lake's manifest, then this commit's */
  txf_clean_hist hist;     /* where each valid line is (history store) */
  int64_t spans, spans_again; /* mapped spans read, and read twice */
} run;

static void add_op(run *r, const char *from, const char *to) {
  if (r->n_ops == r->cap_ops) {
    r->cap_ops = r->cap_ops ? 2 * r->cap_ops : 64;
    r->ops = txf_xrealloc(r->ops, r->cap_ops * sizeof *r->ops);
  }
  r->ops[r->n_ops].from = from ? txf_xstrdup(from) : NULL;
  r->ops[r->n_ops].to = txf_xstrdup(to);
  r->n_ops++;
}

static void snap_op(void *ctx, const char *from, const char *to) {
  add_op(ctx, from, to);
}

static void csv_field(FILE *fp, const char *s, size_t n) {
  int quote = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
      quote = 1;
  if (!quote) {
    fwrite(s, 1, n, fp);
    return;
  }
  fputc('"', fp);
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"')
      fputc('"', fp);
    fputc(s[i], fp);
  }
  fputc('"', fp);
}

/* Reading a file is split into chunks, each split into records and then
 * validated (UTF-8, timestamps, hashes: the expensive part) by one thread,
 * every thread taking the next chunk; results are collected in file
 * order, so quarantine and row order do not depend on the thread count.
 * A plain file is mapped and cut into spans of SPAN_BYTES that are split
 * in parallel (txf_csv_span_read); a compressed or decoded one is split
 * in order from its reader, a chunk of CHUNK_RECS records at a time. */
#define CHUNK_RECS 32768
_Static_assert(REC_MAX <= UINT16_MAX, "a record's size is a uint16_t");
#define SPAN_BYTES (1u << 20)
#define IN_DATA 0x80000000u /* a mapped chunk's offset into its copies */

typedef struct crec {
  uint32_t raw_off, raw_len;
  uint32_t f_off;     /* index of its first field in chunk.fields */
  uint16_t n_fields;  /* as read (fields kept only when as many as the
                         layout has: 13, or the processor's) */
  uint8_t crlf, bad_quote, too_long, has_term;
  uint8_t why;  /* validated: the reject reason, or TXF_REJ_NONE */
  uint32_t det; /* a reject's detail: its offset in chunk.rej */
  int64_t record_no;
  uint64_t off; /* where the record starts in the (decompressed) file */
  uint64_t idh; /* a valid row's id hash (the history store) */
} crec;

typedef struct chunk {
  const char *base; /* mapped: the record bytes (offsets are from here,
                       IN_DATA ones from DATA); NULL: all in DATA */
  txf_buf data;     /* raw records (unmapped) and unescaped fields */
  crec *recs;
  size_t n, cap;
  uint32_t *fields; /* (offset, length) pairs */
  size_t n_fields, cap_fields;
  uint64_t end;        /* where its reading stopped */
  crow *rows;          /* CHUNK_RECS: the records being validated */
  uint16_t *rec_size;  /* CHUNK_RECS: a valid row's record size, 0 for
                          a reject (serialize_rows) */
  txf_buf rej;         /* the rejects' details, NUL-terminated */
  txf_arena strings;   /* the valid rows' strings */
  txf_buf out;         /* the valid rows as spill records, by shard */
  uint32_t shard_at[IDX_SHARDS + 1]; /* where each shard's are in OUT */
} chunk;

static char *chunk_ptr(chunk *c, uint32_t off) {
  if (!c->base)
    return c->data.data + off;
  return off & IN_DATA ? c->data.data + (off & ~IN_DATA)
                       : (char *)c->base + off;
}

/* Keep REC, which starts at offset AT of the file, in C: its bytes are
 * copied unless the chunk is mapped; a field unescaped by the reader is
 * always copied. */
static void chunk_add(chunk *c, const txf_csv_record *rec, size_t want,
                      uint64_t at) {
  if (c->n == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 1024;
    c->recs = txf_xrealloc(c->recs, c->cap * sizeof *c->recs);
  }
  crec *x = &c->recs[c->n++];
  if (c->base) {
    x->raw_off = (uint32_t)(rec->raw - c->base);
  } else {
    x->raw_off = (uint32_t)c->data.len;
    (void)txf_buf_append(&c->data, rec->raw, rec->raw_len);
  }
  x->raw_len = (uint32_t)rec->raw_len;
  x->crlf = rec->term[0] == '\r';
  x->has_term = rec->term[0] != '\0';
  x->bad_quote = (uint8_t)rec->bad_quote;
  x->too_long = (uint8_t)rec->too_long;
  x->record_no = rec->record_no;
  x->off = at;
  x->n_fields = rec->n_fields > 0xffff ? 0xffff : (uint16_t)rec->n_fields;
  x->f_off = (uint32_t)c->n_fields;
  if (rec->n_fields != want)
    return;
  if (c->n_fields + 2 * want > c->cap_fields) {
    c->cap_fields = c->cap_fields ? 2 * c->cap_fields : 4096;
    c->fields = txf_xrealloc(c->fields, c->cap_fields * sizeof *c->fields);
  }
  for (size_t i = 0; i < want; i++) {
    const char *f = rec->field[i];
    uint32_t off;
    if (f >= rec->raw && f + rec->field_len[i] <= rec->raw + rec->raw_len) {
      off = x->raw_off + (uint32_t)(f - rec->raw);
    } else { /* unescaped copy: keep it in the chunk */
      off = (uint32_t)c->data.len | (c->base ? IN_DATA : 0);
      (void)txf_buf_append(&c->data, f, rec->field_len[i]);
    }
    c->fields[c->n_fields++] = off;
    c->fields[c->n_fields++] = rec->field_len[i];
  }
}

typedef struct vjob {
  chunk *c;
  const txf_tz *tz;
  const txf_feed_format *format;   /* NULL: bronze */
  const txf_feed_binding *binding; /* the file's, with FORMAT */
  int hdr;                         /* 1: the file has a header line */
  const txf_pan_key *key;          /* a card feed's: its card_number's */
  uint32_t fi;              /* the file: lineage of the rows */
  txf_clean_buckets *lane;  /* this thread's buckets for the valid rows */
} vjob;

/* The valid rows of records B..B+M of C (validated into c->rows) as
 * spill records, grouped by index shard (the spill's buckets), each group
 * in file order. */
static void serialize_rows(chunk *c, size_t b, size_t m, uint32_t fi, int hdr) {
  uint32_t cnt[IDX_SHARDS + 1];
  memset(cnt, 0, sizeof cnt);
  for (size_t i = 0; i < m; i++) {
    c->rec_size[i] = 0; /* a reject's: no record */
    if (c->recs[b + i].why == TXF_REJ_NONE) {
      crow *row = &c->rows[i];
      row->src = fi;
      row->rec = (uint32_t)(c->recs[b + i].record_no - hdr);
      c->rec_size[i] = (uint16_t)txf_clean_rec_size(row);
      cnt[IDX_SHARD(row->idh) + 1] += c->rec_size[i];
    }
  }
  for (unsigned k = 1; k <= IDX_SHARDS; k++)
    cnt[k] += cnt[k - 1];
  memcpy(c->shard_at, cnt, sizeof cnt);
  txf_buf_reset(&c->out);
  (void)txf_buf_grow(&c->out, cnt[IDX_SHARDS] + 1);
  for (size_t i = 0; i < m; i++)
    if (c->rec_size[i]) {
      const crow *row = &c->rows[i];
      unsigned k = IDX_SHARD(row->idh);
      txf_clean_rec_put(c->out.data + cnt[k], row);
      cnt[k] += c->rec_size[i];
    }
  c->out.len = c->shard_at[IDX_SHARDS];
  c->out.data[c->out.len] = 0;
}

/* Validate the records of J's chunk, CHUNK_RECS at a time (a span of
 * short lines holds more: the rows being built stay bounded), and file
 * the valid ones into J's lane; each record keeps its reason, a reject
 * its detail. */
static void validate_chunk(const vjob *j) {
  chunk *c = j->c;
  /* Kept from chunk to chunk: no new pages to fault in. */
  if (!c->rows) {
    c->rows = txf_xmalloc(CHUNK_RECS * sizeof *c->rows);
    c->rec_size = txf_xmalloc(CHUNK_RECS * sizeof *c->rec_size);
  }
  txf_buf_reset(&c->rej);
  size_t want = j->format ? j->binding->n_fields
                : j->key  ? TXF_BRONZE_N_COLS + 1
                          : TXF_BRONZE_N_COLS;
  txf_csv_record rec;
  memset(&rec, 0, sizeof rec);
  char detail[160];
  for (size_t b = 0; b < c->n; b += CHUNK_RECS) {
    size_t m = c->n - b < CHUNK_RECS ? c->n - b : CHUNK_RECS;
    txf_arena_reset(&c->strings);
    for (size_t i = 0; i < m; i++) {
      crec *x = &c->recs[b + i];
      rec.raw = chunk_ptr(c, x->raw_off);
      rec.raw_len = x->raw_len;
      rec.n_fields = x->n_fields;
      rec.bad_quote = x->bad_quote;
      rec.too_long = x->too_long;
      rec.record_no = x->record_no;
      if (x->n_fields == want)
        for (size_t k = 0; k < want; k++) {
          rec.field[k] = chunk_ptr(c, c->fields[x->f_off + 2 * k]);
          rec.field_len[k] = c->fields[x->f_off + 2 * k + 1];
        }
      crow *row = &c->rows[i];
      detail[0] = '\0';
      txf_reject_reason why;
      if (j->key)
        why = txf_clean_validate_card(&rec, row, &c->strings, j->tz, j->key,
                                      detail, sizeof detail);
      else if (j->format)
        why = txf_clean_validate_mapped(j->format, j->binding, &rec, row,
                                        &c->strings, j->tz, detail,
                                        sizeof detail);
      else
        why = txf_clean_validate(&rec, row, &c->strings, j->tz, detail,
                                 sizeof detail);
      x->why = (uint8_t)why;
      if (why == TXF_REJ_NONE) {
        x->idh = row->idh;
      } else {
        x->det = (uint32_t)c->rej.len;
        (void)txf_buf_append(&c->rej, detail, strlen(detail) + 1);
      }
    }
    serialize_rows(c, b, m, j->fi, j->hdr);
    for (unsigned k = 0; k < IDX_SHARDS; k++)
      if (c->shard_at[k + 1] > c->shard_at[k])
        txf_clean_buckets_add(j->lane, k, c->out.data + c->shard_at[k],
                              c->shard_at[k + 1] - c->shard_at[k]);
  }
}

static void chunk_reset(chunk *c) {
  txf_buf_reset(&c->data);
  c->n = 0;
  c->n_fields = 0;
}

static void chunk_release(chunk *c) {
  chunk_reset(c);
  free(c->rows);
  free(c->rec_size);
  txf_buf_release(&c->data);
  txf_buf_release(&c->rej);
  txf_buf_release(&c->out);
  txf_arena_release(&c->strings);
  free(c->recs);
  free(c->fields);
}

/* A rejected line of a card feed as quarantine keeps it: its card number
 * field masked to BIN and last 4 whatever it holds (a malformed number is
 * still one), then any other run of 12..19 digits, valid or not (a line
 * whose columns are not where they belong). In place: the chunk's copy,
 * or the file's private mapping. */
static void mask_line(chunk *c, const crec *x, size_t want) {
  char *raw = chunk_ptr(c, x->raw_off);
  if (x->n_fields == want) {
    uint32_t off = c->fields[x->f_off + 2 * (want - 1)];
    uint32_t len = c->fields[x->f_off + 2 * (want - 1) + 1];
    if (off >= x->raw_off && off + len <= x->raw_off + x->raw_len) {
      char *f = chunk_ptr(c, off);
      size_t nd = 0, k = 0;
      for (uint32_t i = 0; i < len; i++)
        nd += f[i] >= '0' && f[i] <= '9';
      for (uint32_t i = 0; i < len; i++)
        if (f[i] >= '0' && f[i] <= '9') {
          /* the first 6 and last 4 stay, when that leaves any masked */
          if (nd <= 10 ? k < nd - (nd > 4 ? 4 : nd) || nd <= 4
                       : k >= 6 && k < nd - 4)
            f[i] = '*';
          k++;
        }
    }
  }
  txf_pan_mask_text(raw, x->raw_len, TXF_PAN_MASK_ANY);
}

/* Collect chunk C (validated) in order: its rejects to the quarantine
 * files (its rows went to their shard's bucket on the thread that
 * validated it). No card number reaches them: a card feed's lines are
 * masked (mask_line), and every detail, which may quote a value, too. */
static int collect(run *r, chunk *c, uint32_t fi, int hdr, txf_err *err) {
  (void)err;
  const char *rel = r->src.v[fi].path;
  for (size_t i = 0; i < c->n; i++) {
    const crec *x = &c->recs[i];
    if (x->why == TXF_REJ_NONE) {
      txf_clean_hist_add(&r->hist, x->idh, fi, x->off);
      continue;
    }
    txf_reject_reason why = (txf_reject_reason)x->why;
    char *detail = c->rej.data + x->det;
    r->by_reason[why]++;
    r->quarantined++;
    if (r->cards)
      mask_line(c, x, TXF_BRONZE_N_COLS + 1);
    txf_pan_mask_text(detail, strlen(detail),
                      r->cards ? TXF_PAN_MASK_ANY : TXF_PAN_MASK_FOUND);
    fwrite(chunk_ptr(c, x->raw_off), 1, x->raw_len, r->q_lines);
    fputs(x->crlf ? "\r\n" : "\n", r->q_lines);
    csv_field(r->q_rejects, rel, strlen(rel));
    fprintf(r->q_rejects, ",%lld,%s,", (long long)(x->record_no - hdr),
            txf_reject_reason_name(why));
    csv_field(r->q_rejects, detail, strlen(detail));
    fputc('\n', r->q_rejects);
  }
  return 0;
}

static int threads_of(const run *r);

/* The read pipeline of one file (read_file): a ring of chunks, numbered
 * in file order. A thread takes the next number, splits its chunk, waits
 * until the chunk before it is split (a mapped span: speculatively
 * before, then checked), then validates it; the main thread collects the
 * chunks in order, and takes chunks itself when it has none to collect.
 * So no thread waits while there is a chunk to split or validate. */
enum { VP_BUSY, VP_VALID };
typedef struct vpipe {
  pthread_mutex_t mu;
  pthread_cond_t work;  /* a chunk may be taken, or stop */
  pthread_cond_t split; /* a chunk's records are known */
  pthread_cond_t done;  /* a chunk was validated */
  chunk ch[16];
  uint8_t state[16];
  int ring;                             /* chunks in use, <= 16 */
  size_t n_taken, n_split, n_collected; /* chunk numbers */
  size_t n_chunks; /* mapped: its spans; else SIZE_MAX until the end */
  int stop;
  const vjob *proto; /* the file's validation settings */
  size_t want;       /* fields per record */
  const txf_csv_opts *copts;
  /* mapped: the file, its spans' cuts from B0 */
  const char *map;
  size_t map_len, b0;
  /* else: the reader, read by the thread whose chunk is next */
  txf_csv_reader *rd;
  int has, rc;
  txf_err err;
  /* where the last split chunk stopped, and the records so far (mapped:
   * the ones before B0 included) */
  uint64_t end;
  int64_t recs;
  size_t n_again;  /* spans read again */
  size_t released; /* the mapping's pages before it are given back */
} vpipe;

static int can_take(const vpipe *p) {
  return !p->stop && p->n_taken < p->n_chunks &&
         p->n_taken < p->n_collected + (size_t)p->ring;
}

static size_t span_cut(const vpipe *p, size_t k) {
  uint64_t c = (uint64_t)p->b0 + (uint64_t)k * SPAN_BYTES;
  return c < p->map_len ? (size_t)c : p->map_len;
}

typedef struct span_ctx {
  chunk *c;
  size_t want;
} span_ctx;

static void span_rec(void *ctx, const txf_csv_record *rec, uint64_t at) {
  span_ctx *s = ctx;
  chunk_add(s->c, rec, s->want, at);
}

/* Chunk K's records: those of span K read from FROM. */
static void span_fill(vpipe *p, chunk *c, size_t k, uint64_t from) {
  chunk_reset(c);
  c->base = p->map + from;
  span_ctx s = {c, p->want};
  c->end =
      txf_csv_span_read(p->map, p->map_len, (size_t)from, span_cut(p, k + 1),
                        p->want, p->copts, span_rec, &s);
}

/* The next CHUNK_RECS records of the reader into C. */
static void stream_fill(vpipe *p, chunk *c) {
  chunk_reset(c);
  c->base = NULL;
  txf_csv_record rec;
  while (p->has && !p->rc && c->n < CHUNK_RECS) {
    uint64_t at = txf_csv_reader_offset(p->rd);
    p->rc = txf_csv_reader_next(p->rd, &rec, &p->has, &p->err);
    if (p->rc || !p->has)
      break;
    chunk_add(c, &rec, p->want, at);
  }
  c->end = txf_csv_reader_offset(p->rd);
}

/* Take chunk K (called without the lock): split, wait for its turn,
 * validate into LANE. */
static void take_chunk(vpipe *p, size_t k, txf_clean_buckets *lane) {
  chunk *c = &p->ch[k % (size_t)p->ring];
  uint64_t guess = 0;
  if (p->map) {
    guess =
        k == 0 ? p->b0 : txf_csv_span_start(p->map, p->map_len, span_cut(p, k));
    span_fill(p, c, k, guess);
  }
  pthread_mutex_lock(&p->mu);
  while (p->n_split < k)
    pthread_cond_wait(&p->split, &p->mu);
  uint64_t start = p->end;
  int64_t before = p->recs;
  pthread_mutex_unlock(&p->mu);
  if (p->map) {
    /* the span before ended elsewhere (a quoted newline, an over-long
     * line across the cut): read again from where it did */
    if (start != guess) {
      span_fill(p, c, k, start);
      pthread_mutex_lock(&p->mu);
      p->n_again++;
      pthread_mutex_unlock(&p->mu);
    }
    for (size_t i = 0; i < c->n; i++)
      c->recs[i].record_no += before;
  } else {
    stream_fill(p, c);
  }
  pthread_mutex_lock(&p->mu);
  p->end = c->end;
  p->recs = before + (int64_t)c->n;
  p->n_split = k + 1;
  if (!p->map && (!p->has || p->rc) && p->n_chunks > k + 1) {
    p->n_chunks = k + 1;
    pthread_cond_broadcast(&p->work);
  }
  pthread_cond_broadcast(&p->split);
  pthread_mutex_unlock(&p->mu);
  vjob j = *p->proto;
  j.c = c;
  j.lane = lane;
  validate_chunk(&j);
  pthread_mutex_lock(&p->mu);
  p->state[k % (size_t)p->ring] = VP_VALID;
  pthread_cond_signal(&p->done);
  pthread_mutex_unlock(&p->mu);
}

typedef struct vworker {
  vpipe *p;
  txf_clean_buckets *lane; /* this thread's */
} vworker;

static void *vworker_main(void *arg) {
  vworker *w = arg;
  vpipe *p = w->p;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->stop && !can_take(p))
      pthread_cond_wait(&p->work, &p->mu);
    if (!can_take(p))
      break; /* stopped */
    size_t k = p->n_taken++;
    p->state[k % (size_t)p->ring] = VP_BUSY;
    pthread_mutex_unlock(&p->mu);
    take_chunk(p, k, w->lane);
    pthread_mutex_lock(&p->mu);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* The mapped pages before END, collected, leave the process (not the page
 * cache): its memory is then what it holds, not the file's size. A page
 * a card feed's masking wrote is dropped too: its lines are written. */
static void unmap_read(vpipe *p, uint64_t end) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t upto = (size_t)end / page * page;
  if (upto > p->released) {
    (void)madvise((char *)p->map + p->released, upto - p->released,
                  MADV_DONTNEED);
    p->released = upto;
  }
}

/* The rest of the file after what RD has read, as one mapping, if RD
 * reads it byte for byte: *MAP (NULL: read it from RD) and its length. */
static void map_rest(txf_csv_reader *rd, const char *path, char **map,
                     size_t *len) {
  *map = NULL;
  *len = 0;
  if (!txf_csv_reader_splittable(rd))
    return;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  struct stat st;
  /* private and writable: a card feed's rejected lines are masked in
   * place (mask_line), which copies only the pages it writes */
  if (fstat(fd, &st) == 0 && st.st_size > 0 &&
      (uint64_t)st.st_size > txf_csv_reader_offset(rd)) {
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE, fd, 0);
    if (m != MAP_FAILED) {
      *map = m;
      *len = (size_t)st.st_size;
    }
  }
  close(fd);
}

/* Read and validate one file: valid rows into r->rows, bad lines to the
 * quarantine files. */
static int read_file(run *r, uint32_t fi, const char *abs_path, txf_err *err) {
  const txf_feed_format *fmt = r->o->format;
  txf_csv_reader *rd;
  int rc = txf_csv_reader_open_opts(&rd, abs_path, fmt ? 0 : TXF_BRONZE_N_COLS,
                                    fmt ? &fmt->csv : NULL, err);
  if (rc)
    return rc;
  txf_csv_record rec;
  int has = 1, hdr = 1;
  txf_feed_binding binding;
  size_t want = TXF_BRONZE_N_COLS + (r->cards ? 1 : 0);
  rc = txf_csv_reader_next(rd, &rec, &has, err);
  if (!rc && !fmt)
    rc = txf_clean_header_check(has ? &rec : NULL, err);
  if (!rc && !fmt && txf_clean_header_cards(&rec) != r->cards)
    rc = txf_err_set(err, TXF_EPARSE,
                     "the header %s a card_number column, the batch's first "
                     "file's %s",
                     r->cards ? "lacks" : "has", r->cards ? "has" : "does not");
  if (!rc && !fmt && r->cards)
    txf_csv_reader_expect(rd, want);
  if (!rc && fmt && has) {
    /* the processor's layout: its header (or first line) says where
     * each column is (the file is named by the caller's wrap below) */
    rc = txf_feed_bind(&binding, fmt, &rec, NULL, err);
    want = binding.n_fields;
    if (!rc && fmt->header && fi == 0) {
      /* rejected lines keep the processor's header */
      fwrite(rec.raw, 1, rec.raw_len, r->q_lines);
      fputs(rec.term[0] == '\r' ? "\r\n" : "\n", r->q_lines);
    }
    if (!rc && !fmt->header) {
      /* no header: the first line was data; read it again */
      hdr = 0;
      txf_csv_reader_free(rd);
      rc = txf_csv_reader_open_opts(&rd, abs_path, want, &fmt->csv, err);
      if (rc)
        return txf_err_wrap(err, "%s", r->src.v[fi].path);
    }
    txf_csv_reader_expect(rd, want);
  }
  int nt = threads_of(r);
  vpipe vp;
  memset(&vp, 0, sizeof vp);
  vp.ring = nt == 1 ? 1 : 2 * nt;
  for (int t = 0; t < vp.ring; t++) {
    txf_buf_init(&vp.ch[t].data, 0);
    txf_buf_init(&vp.ch[t].rej, 0);
    txf_buf_init(&vp.ch[t].out, 0);
    /* one block holds a chunk's strings: reused, never freed */
    txf_arena_init(&vp.ch[t].strings, 4 << 20);
  }
  vjob proto = {NULL,     r->tz, fmt,
                &binding, hdr,   r->cards ? r->o->pan_key : NULL,
                fi,       NULL};
  vp.proto = &proto;
  vp.want = want;
  vp.copts = fmt ? &fmt->csv : NULL;
  vp.rd = rd;
  vp.has = has;
  vp.rc = rc;
  vp.n_chunks = rc || !has ? 0 : SIZE_MAX;
  char *map = NULL;
  if (!rc && has) {
    map_rest(rd, abs_path, &map, &vp.map_len);
    vp.end = vp.b0 = (size_t)txf_csv_reader_offset(rd);
    vp.recs = hdr; /* the header, when read (else nothing yet) */
    if (map) {
      vp.map = map;
      vp.n_chunks = (vp.map_len - vp.b0 + SPAN_BYTES - 1) / SPAN_BYTES;
    }
  }
  pthread_mutex_init(&vp.mu, NULL);
  pthread_cond_init(&vp.work, NULL);
  pthread_cond_init(&vp.split, NULL);
  pthread_cond_init(&vp.done, NULL);
  vworker wk[8];
  pthread_t tid[8];
  int n_started = 0;
  for (int t = 0; t + 1 < nt && vp.n_chunks > 0; t++) {
    wk[t] = (vworker){&vp, r->m.rows[t]};
    if (pthread_create(&tid[t], NULL, vworker_main, &wk[t]) != 0)
      break;
    n_started++;
  }
  txf_clean_buckets *own = r->m.rows[nt - 1];
  int crc = 0;
  pthread_mutex_lock(&vp.mu);
  for (;;) {
    /* collect what is validated, in file order */
    while (vp.n_collected < vp.n_taken &&
           vp.state[vp.n_collected % (size_t)vp.ring] == VP_VALID) {
      chunk *c = &vp.ch[vp.n_collected % (size_t)vp.ring];
      pthread_mutex_unlock(&vp.mu);
      if (!crc)
        crc = collect(r, c, fi, hdr, err);
      if (r->o->progress)
        txf_progress_update(r->o->progress, c->end);
      if (map)
        unmap_read(&vp, c->end);
      pthread_mutex_lock(&vp.mu);
      vp.state[vp.n_collected % (size_t)vp.ring] = VP_BUSY;
      vp.n_collected++;
      pthread_cond_broadcast(&vp.work);
    }
    if (can_take(&vp)) { /* nothing to collect: split and validate one */
      size_t k = vp.n_taken++;
      vp.state[k % (size_t)vp.ring] = VP_BUSY;
      pthread_mutex_unlock(&vp.mu);
      take_chunk(&vp, k, own);
      pthread_mutex_lock(&vp.mu);
      continue;
    }
    if (vp.n_collected == vp.n_taken && vp.n_taken >= vp.n_chunks)
      break;
    pthread_cond_wait(&vp.done, &vp.mu); /* a chunk is validated */
  }
  vp.stop = 1;
  pthread_cond_broadcast(&vp.work);
  pthread_mutex_unlock(&vp.mu);
  for (int t = 0; t < n_started; t++)
    pthread_join(tid[t], NULL);
  pthread_cond_destroy(&vp.done);
  pthread_cond_destroy(&vp.split);
  pthread_cond_destroy(&vp.work);
  pthread_mutex_destroy(&vp.mu);
  for (int t = 0; t < vp.ring; t++)
    chunk_release(&vp.ch[t]);
  if (map) {
    munmap(map, vp.map_len);
    r->spans += (int64_t)vp.n_chunks;
    r->spans_again += (int64_t)vp.n_again;
  }
  txf_csv_reader_free(rd);
  int64_t n = vp.recs - hdr;
  if (!rc && vp.rc) {
    rc = vp.rc;
    *err = vp.err;
  }
  if (!rc)
    rc = crc;
  r->src_lines[fi] = n < 0 ? 0 : n;
  r->lines_read += r->src_lines[fi];
  if (rc)
    return txf_err_wrap(err, "%s", r->src.v[fi].path);
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_manifest_file(const void *a, const void *b) {
  return strcmp(((const txf_manifest_file *)a)->name,
                ((const txf_manifest_file *)b)->name);
}

/* The batch's files: absolute paths in *ABS, lineage names in r->src. */
static int list_files(run *r, char ***abs_out, txf_err *err) {
  const txf_clean_opts *o = r->o;
  char **abs = NULL;
  size_t n = 0;
  if (o->inputs) {
    n = o->n_inputs;
    abs = txf_xcalloc(n ? n : 1, sizeof *abs);
    for (size_t i = 0; i < n; i++) {
      abs[i] = txf_path_abs(NULL, o->inputs[i]);
      if (!txf_fs_exists(abs[i])) {
        int rc = txf_err_set(err, TXF_ENOTFOUND, "%s: no such file",
                             o->inputs[i]);
        for (size_t k = 0; k <= i; k++)
          free(abs[k]);
        free(abs);
        return rc;
      }
    }
  } else {
    char *dir = txf_xasprintf("%s/bronze/transactions/ingest_date=%s",
                              o->data_dir, r->date_str);
    txf_manifest m;
    memset(&m, 0, sizeof m);
    int rc = txf_manifest_load(&m, dir, err);
    if (rc == TXF_ENOTFOUND && !txf_fs_is_dir(dir))
      rc = txf_err_set(err, TXF_ENOTFOUND,
                       "no bronze batch for %s (%s does not exist)",
                       r->date_str, dir);
    /* the files' SHA-256 are checked as they are read (hash_files) */
    if (!rc)
      rc = txf_manifest_verify_listing(&m, dir, err);
    /* which batch this clean read: a batch replaced later (land
     * --replace) is told from it, and cleaned again */
    if (!rc)
      rc = txf_bronze_batch_sha256(o->data_dir, o->ingest_date, r->batch_sha,
                                   err);
    if (rc) {
      txf_manifest_release(&m);
      free(dir);
      return rc;
    }
    /* in name order, as the files are read (the sort below keeps it) */
    n = m.n_files;
    qsort(m.files, n, sizeof *m.files, cmp_manifest_file);
    abs = txf_xcalloc(n ? n : 1, sizeof *abs);
    r->want_lines = txf_xcalloc(n ? n : 1, sizeof *r->want_lines);
    for (size_t i = 0; i < n; i++) {
      abs[i] = txf_path_join(dir, m.files[i].name);
      r->want_lines[i] = m.files[i].rows;
    }
    r->manifest = m;
    r->bronze_dir = dir;
  }
  qsort(abs, n, sizeof *abs, cmp_str);
  size_t dl = strlen(o->data_dir);
  for (size_t i = 0; i < n; i++) {
    const char *rel = abs[i];
    if (strncmp(rel, o->data_dir, dl) == 0 && rel[dl] == '/')
      rel += dl + 1;
    txf_clean_sources_intern(&r->src, rel, strlen(rel), o->ingest_date.days);
  }
  r->n_files = n;
  r->src_lines = txf_xcalloc(n ? n : 1, sizeof *r->src_lines);
  *abs_out = abs;
  return 0;
}

/* The index remembers the zone it was built in: partitions are event dates
 * in that zone, so changing it would scatter one day over two files. */
/* So does a card feed's lake the key of its tokens (card_key_id): a
 * batch with cards goes into a lake with them, under the same key, and a
 * batch without into one without (docs/card-data.md). */
static int check_index_meta(run *r, txf_err *err) {
  char *tz = NULL, *key = NULL;
  const char *want = r->cards ? txf_pan_key_id(r->o->pan_key) : NULL;
  int rc = txf_clean_meta_zone(r->o->data_dir, &tz, &key, err);
  if (!rc && tz && strcmp(tz, r->o->timezone) != 0)
    rc = txf_err_set(err, TXF_ECONFIG,
                     "the silver lake is partitioned in time zone '%s', "
                     "not '%s'",
                     tz, r->o->timezone);
  else if (!rc && tz && !want != !key)
    rc = txf_err_set(err, TXF_ECONFIG,
                     "the batch %s card numbers (card_number) and the silver "
                     "lake %s card columns: a lake is made with the feed's "
                     "'pan' setting and keeps it (start a new data directory)",
                     want ? "has" : "has no", key ? "has" : "has no");
  else if (!rc && tz && want && strcmp(key, want) != 0)
    rc = txf_err_set(err, TXF_ECONFIG,
                     "the silver lake's card tokens are under key '%s', the "
                     "key given is '%s': give the lake's key, or move the "
                     "lake to this one with 'txnflow keys rotate'",
                     key, want);
  else if (!rc && !tz) {
    char *st = txf_path_join(r->staging, "index/_meta.json");
    rc = txf_clean_meta_write(st, r->o->timezone, want, err);
    free(st);
    if (!rc)
      add_op(r, STAGING "/index/_meta.json",
             "silver/_index/transactions/_meta.json");
  }
  free(tz);
  free(key);
  return rc;
}

/* Is the batch a card feed's (its files' header ends in card_number)? Its
 * first file says; read_file holds the others to it. Then the key must
 * be there, before anything is written. */
static int detect_cards(run *r, char **abs, txf_err *err) {
  r->cards = 0;
  if (r->o->format || r->n_files == 0)
    return 0; /* a processor's layout maps the bronze columns only */
  txf_csv_reader *rd;
  int rc = txf_csv_reader_open_opts(&rd, abs[0], 0, NULL, err);
  if (rc)
    return txf_err_wrap(err, "%s", r->src.v[0].path);
  txf_csv_record rec;
  int has = 0;
  rc = txf_csv_reader_next(rd, &rec, &has, err);
  if (!rc && has)
    r->cards = txf_clean_header_cards(&rec);
  txf_csv_reader_free(rd);
  if (rc)
    return txf_err_wrap(err, "%s", r->src.v[0].path);
  if (r->cards && !r->o->pan_key)
    return txf_err_set(
        err, TXF_ECONFIG,
        "%s: the feed has a card_number column, and card numbers are "
        "tokenized under a key that is not given%s%s (set "
        "TXNFLOW_PAN_KEY_FILE to a file of mode 0600 holding it, or "
        "TXNFLOW_PAN_KEY; docs/card-data.md); nothing was written",
        r->src.v[0].path, r->o->pan_key_problem ? ": " : "",
        r->o->pan_key_problem ? r->o->pan_key_problem : "");
  r->m.cards = r->cards;
  r->m.key_id = r->cards ? txf_pan_key_id(r->o->pan_key) : NULL;
  return 0;
}

/* ---------------------------------------------------------------- phases */

/* FN(ARG, i) for every i < N, on up to NT threads; the first error
 * stops the others taking more. */
typedef int (*item_fn)(void *arg, size_t i, txf_err *err);

typedef struct pfor {
  item_fn fn;
  void *arg;
  size_t n, next;
  pthread_mutex_t mu;
  int rc;
  txf_err err;
} pfor;

static void *pfor_worker(void *a) {
  pfor *p = a;
  txf_err err;
  txf_err_clear(&err);
  for (;;) {
    pthread_mutex_lock(&p->mu);
    size_t i = p->rc ? p->n : p->next++;
    pthread_mutex_unlock(&p->mu);
    if (i >= p->n)
      break;
    int rc = p->fn(p->arg, i, &err);
    if (rc) {
      pthread_mutex_lock(&p->mu);
      if (!p->rc) {
        p->rc = rc;
        p->err = err;
      }
      pthread_mutex_unlock(&p->mu);
      break;
    }
  }
  return NULL;
}

static int parallel_for(int nt, size_t n, item_fn fn, void *arg,
                        txf_err *err) {
  pfor p = {.fn = fn, .arg = arg, .n = n};
  pthread_mutex_init(&p.mu, NULL);
  pthread_t tid[8];
  int started = 0;
  for (int t = 1; t < nt && (size_t)t < n; t++)
    if (pthread_create(&tid[started], NULL, pfor_worker, &p) == 0)
      started++;
  pfor_worker(&p);
  for (int t = 0; t < started; t++)
    pthread_join(tid[t], NULL);
  pthread_mutex_destroy(&p.mu);
  if (p.rc)
    *err = p.err;
  return p.rc;
}

static int threads_of(const run *r) {
  return r->o->threads < 1 ? 1 : r->o->threads > 8 ? 8 : r->o->threads;
}

static int shard_item(void *arg, size_t i, txf_err *err) {
  run *r = arg;
  uint64_t bytes = 0;
  for (int t = 0; t < r->m.n_lanes; t++)
    bytes += txf_clean_buckets_bytes(r->m.rows[t], (unsigned)i);
  if (!bytes)
    return 0; /* no row of the batch in this shard */
  int rc = txf_clean_merge_shard(&r->m, (unsigned)i, err);
  return rc ? txf_err_wrap(err, "index shard %zu", i) : 0;
}

typedef struct resolve_job {
  run *r;
  int32_t *days;
} resolve_job;

static int resolve_item(void *arg, size_t i, txf_err *err) {
  resolve_job *j = arg;
  int rc = txf_clean_resolve_day(&j->r->m, j->days[i], err);
  if (rc) {
    char ds[11];
    txf_clean_damage_hint(err);
    txf_err_wrap(err, "partition %s",
                 txf_date_format((txf_date){j->days[i]}, ds));
  }
  return rc;
}

static int pending_item(void *arg, size_t i, txf_err *err) {
  run *r = arg;
  if (!r->m.n_pending[i])
    return 0;
  int rc = txf_clean_merge_pending(&r->m, (unsigned)i, err);
  return rc ? txf_err_wrap(err, "index shard %zu", i) : 0;
}

static int cmp_cand(const void *pa, const void *pb) {
  const cand_ent *a = pa, *b = pb;
  if (a->day != b->day)
    return a->day < b->day ? -1 : 1;
  return (a->idh > b->idh) - (a->idh < b->idh);
}

/* The ids the index found: read their partitions, then decide them. */
static int resolve(run *r, txf_err *err) {
  txf_clean_merge *m = &r->m;
  if (!m->n_cand)
    return 0;
  txf_clean_merge_index_pending(m);
  qsort(m->cand, m->n_cand, sizeof *m->cand, cmp_cand);
  /* each partition the index names, once; the biggest first */
  int32_t *days = txf_xmalloc(m->n_cand * sizeof *days);
  size_t nd = 0;
  int64_t *size = txf_xmalloc(m->n_cand * sizeof *size);
  for (size_t i = 0; i < m->n_cand; i++)
    if (!nd || days[nd - 1] != m->cand[i].day) {
      char *path = txf_clean_partition_path(r->o->data_dir, m->cand[i].day);
      struct stat st;
      size[nd] = stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
      free(path);
      days[nd++] = m->cand[i].day;
    }
  for (size_t i = 1; i < nd; i++) /* insertion sort: a few dozen days */
    for (size_t k = i; k > 0 && size[k] > size[k - 1]; k--) {
      int64_t t = size[k];
      size[k] = size[k - 1];
      size[k - 1] = t;
      int32_t d = days[k];
      days[k] = days[k - 1];
      days[k - 1] = d;
    }
  free(size);
  /* One partition a thread: a reader holds a row group's column chunks
   * and a decoded page a column (a boolean's or a mostly-null column's
   * page is the whole row group of 717,000 rows, 11 MiB of 16-byte
   * values), at the clean's peak, the whole batch in runs. With 24-byte
   * values a second reader made a daily job's 1,033 MiB of 932-940, so
   * this ran on one thread until the values became 16 bytes
   * (docs/silver.md, "Memory"; decision 1701). */
  resolve_job rj = {r, days};
  int64_t c0 = txf_cpu_us();
  int rc = parallel_for(threads_of(r), nd, resolve_item, &rj, err);
  int64_t c1 = txf_cpu_us();
  if (!rc)
    rc = parallel_for(threads_of(r), IDX_SHARDS, pending_item, r, err);
  /* the phase's two parts: the partitions read by the reach, the index's
   * shards (read again and written) by the lake */
  txf_log_debug(r->o->log,
                "index: %zu partitions read for %zu pending ids in %lld ms "
                "CPU, the shards merged in %lld ms",
                nd, m->n_cand, (long long)((c1 - c0) / 1000),
                (long long)((txf_cpu_us() - c1) / 1000));
  free(days);
  return rc;
}

/* The history store, written to PATH (in staging) and released. */
typedef struct hist_job {
  run *r;
  char *path;
  int rc;
  txf_err err;
} hist_job;

static void *hist_write(void *arg) {
  hist_job *j = arg;
  pthread_setname_np(pthread_self(), "txf-history");
  j->rc = txf_clean_hist_write(&j->r->hist, j->r->o->data_dir, j->r->src.v,
                               j->r->n_files, j->path, &j->err);
  txf_clean_hist_release(&j->r->hist);
  return NULL;
}

static int run_partitions(run *r, json_t *rep, txf_err *err) {
  txf_clean_stage_parts p = {.data_dir = r->o->data_dir,
                             .staging = r->staging,
                             .version = r->version,
                             .now_us = r->o->now_us,
                             .threads = threads_of(r),
                             .crash = &r->crash,
                             .crash_counter = &r->stage_crash,
                             .add_op = snap_op,
                             .ctx = r};
  return txf_clean_partitions_stage(&r->m, &p, rep, err);
}

/* ---------------------------------------------------------------- versions */

int txf_clean_last_version(const char *data_dir, int64_t *version,
                           txf_err *err) {
  char *dir = txf_path_join(data_dir, TXF_SILVER_CHANGES_DIR);
  int rc = txf_fs_max_numbered(dir, "version=", version, err);
  free(dir);
  return rc;
}

/* ---------------------------------------------------------------- main */

int txf_clean_recover(const char *data_dir, txf_store *store, int *recovered,
                      txf_err *err) {
  return txf_clean_journal_finish(data_dir, store, NULL, recovered, err);
}

static int open_quarantine(run *r, txf_err *err) {
  char *p1 = txf_path_join(r->staging, "quarantine/rejected_lines.csv");
  char *p2 = txf_path_join(r->staging, "quarantine/rejects.csv");
  int rc = 0;
  r->q_lines = fopen(p1, "wb");
  r->q_rejects = fopen(p2, "wb");
  if (!r->q_lines || !r->q_rejects)
    rc = txf_err_errno(err, TXF_EIO, "%s: cannot create", p1);
  else {
    /* (a processor's layout: its own header, written as its first file
     * is read) */
    for (int i = 0; i < TXF_BRONZE_N_COLS && !r->o->format; i++)
      fprintf(r->q_lines, "%s%s", i ? "," : "", txf_bronze_columns[i]);
    if (!r->o->format)
      fputs(r->cards ? ",card_number\n" : "\n", r->q_lines);
    fputs("file,line,reason,detail\n", r->q_rejects);
  }
  free(p1);
  free(p2);
  return rc;
}

static int close_quarantine(run *r, txf_err *err) {
  int rc = 0;
  FILE *fps[2] = {r->q_lines, r->q_rejects};
  for (int i = 0; i < 2; i++) {
    if (!fps[i])
      continue;
    if (fflush(fps[i]) != 0 && !rc)
      rc = txf_err_errno(err, TXF_EIO, "quarantine: cannot write");
    if (fclose(fps[i]) != 0 && !rc)
      rc = txf_err_errno(err, TXF_EIO, "quarantine: cannot close");
  }
  r->q_lines = r->q_rejects = NULL;
  return rc;
}

/* The batch files' SHA-256 against the manifest, in file order. */
typedef struct hash_job {
  const run *r;
  int rc;
  txf_err err;
} hash_job;

static void *hash_files(void *arg) {
  hash_job *h = arg;
  const run *r = h->r;
  for (size_t i = 0; i < r->manifest.n_files && !h->rc; i++)
    h->rc = txf_manifest_verify_file(&r->manifest, r->bronze_dir, i, &h->err);
  return NULL;
}

/* The report's phases (read_validate, dedup, index, partitions) in ms from
 * the clock readings at their edges. */
static json_t *phases_ms(int64_t t0, int64_t t1, int64_t t2, int64_t t3,
                         int64_t t4) {
  return json_pack("{s:I,s:I,s:I,s:I}", "read_validate",
                   (json_int_t)((t1 - t0) / 1000), "dedup",
                   (json_int_t)((t2 - t1) / 1000), "index",
                   (json_int_t)((t3 - t2) / 1000), "partitions",
                   (json_int_t)((t4 - t3) / 1000));
}

static int do_run(run *r, txf_store *store, char **report_json,
                  txf_err *err) {
  const txf_clean_opts *o = r->o;
  int64_t started = o->now_us;
  int64_t t0 = txf_mono_us(), c0 = txf_cpu_us(), cmain0 = txf_thread_cpu_us();
  char **abs = NULL;
  int rc = list_files(r, &abs, err);
  if (!rc)
    rc = detect_cards(r, abs, err);
  if (rc) {
    for (size_t i = 0; abs && i < r->n_files; i++)
      free(abs[i]);
    free(abs);
    return rc;
  }
  /* The files are hashed (a second read, from the page cache) on a thread
   * of their own while they are read and validated, not before: with
   * two cores that is a second of wall time on a 1.4 GB batch. Nothing
   * is committed before the hashes are known. */
  hash_job hj = {.r = r};
  pthread_t hash_tid;
  int hashing = 0;
  if (r->bronze_dir) {
    if (threads_of(r) > 1 &&
        pthread_create(&hash_tid, NULL, hash_files, &hj) == 0)
      hashing = 1;
    else
      hash_files(&hj);
    if (hj.rc) {
      *err = hj.err;
      rc = hj.rc;
    }
  }
  static const char *const sub[] = {"index", "part", "quarantine",
                                    "changes"};
  for (int i = 0; i < 4 && !rc; i++) {
    char *d = txf_path_join(r->staging, sub[i]);
    rc = txf_fs_mkdirs(d, err);
    free(d);
  }
  /* the history store's full buffers wait in an unlinked file there */
  r->hist.spill_dir = r->staging;
  if (!rc)
    rc = check_index_meta(r, err);
  if (!rc)
    rc = txf_clean_manifest_load(&r->lake, o->data_dir, err);
  if (!rc)
    rc = txf_clean_last_version(o->data_dir, &r->version, err);
  r->version++;
  if (!rc)
    rc = open_quarantine(r, err);
  /* The batch is kept as compact records as it is validated, bucketed
   * by index shard. */
  txf_clean_merge *m = &r->m;
  m->data_dir = o->data_dir;
  m->manifest = &r->lake;
  m->staging_dir = r->staging;
  m->src = &r->src;
  m->pool = txf_clean_pool_new();
  m->n_lanes = threads_of(r);
  for (int t = 0; t < m->n_lanes; t++)
    m->rows[t] = txf_clean_buckets_new(m->pool, IDX_SHARDS);
  for (size_t i = 0; i < r->n_files && !rc; i++) {
    rc = read_file(r, (uint32_t)i, abs[i], err);
    if (!rc && r->want_lines && r->src_lines[i] != r->want_lines[i])
      rc = txf_err_set(err, TXF_ECORRUPT,
                       "%s: %lld data records, the manifest says %lld",
                       r->src.v[i].path, (long long)r->src_lines[i],
                       (long long)r->want_lines[i]);
  }
  for (size_t i = 0; i < r->n_files; i++)
    free(abs[i]);
  free(abs);
  int rc2 = close_quarantine(r, err);
  if (!rc)
    rc = rc2;
  if (hashing) {
    pthread_join(hash_tid, NULL);
    /* a file that is not the manifest's explains any error reading it */
    if (hj.rc) {
      *err = hj.err;
      rc = hj.rc;
    }
  }
  if (rc)
    return rc;
  /* What the read freed (chunks) is not needed again: give it back. */
  malloc_trim(0);
  uint64_t batch_bytes = 0;
  for (int t = 0; t < m->n_lanes; t++)
    for (unsigned k = 0; k < IDX_SHARDS; k++)
      batch_bytes += txf_clean_buckets_bytes(m->rows[t], k);
  txf_log_debug(o->log, "batch: %lld valid lines in %llu bytes of records",
                (long long)(r->lines_read - r->quarantined),
                (unsigned long long)batch_bytes);
  int64_t t_read = txf_mono_us(), cread = txf_cpu_us();
  /* the split's thread bounds the phase as the main thread bounds the
   * partitions' (below) */
  txf_log_debug(o->log, "read_validate: %lld ms CPU on the main thread of %lld",
                (long long)((txf_thread_cpu_us() - cmain0) / 1000),
                (long long)((cread - c0) / 1000));
  txf_log_debug(o->log,
                "read_validate: %lld spans split in parallel, %lld "
                "of them again from where the one before stopped",
                (long long)r->spans, (long long)r->spans_again);

  /* dedup within the batch and look the ids up, a shard at a time */
  rc = parallel_for(threads_of(r), IDX_SHARDS, shard_item, r, err);
  if (rc)
    return rc;
  for (int t = 0; t < m->n_lanes; t++) {
    txf_clean_buckets_free(m->rows[t]);
    m->rows[t] = NULL;
  }
  txf_clean_pool_trim(m->pool); /* what the runs did not reuse */
  malloc_trim(0);
  int64_t t_dedup = txf_mono_us(), cdedup = txf_cpu_us();

  /* the ids the lake holds: their versions, from their partitions */
  rc = resolve(r, err);
  if (rc)
    return rc;
  malloc_trim(0);
  for (unsigned s = 0; s < IDX_SHARDS; s++) {
    if (!m->touched[s])
      continue;
    char from[64], to[IDX_SHARD_REL_MAX];
    snprintf(from, sizeof from, STAGING "/index/shard-%03u.idx", s);
    txf_clean_index_shard_rel(s, to);
    add_op(r, from, to);
  }
  int64_t t_index = txf_mono_us(), cindex = txf_cpu_us();

  json_t *rep = json_object();
  int64_t cmain = txf_thread_cpu_us();
  /* The history store is sorted and written on a thread of its own while
   * the partitions are: that phase leaves part of a core idle (the main
   * thread bounds it), and the store was the clean's serial tail. */
  hist_job hw = {.r = r, .path = txf_path_join(r->staging, "history.idx")};
  pthread_t hist_tid;
  int hist_thread = threads_of(r) > 1 &&
                    pthread_create(&hist_tid, NULL, hist_write, &hw) == 0;
  if (!hist_thread)
    hist_write(&hw);
  rc = run_partitions(r, rep, err);
  if (hist_thread)
    pthread_join(hist_tid, NULL);
  free(hw.path);
  if (!rc && hw.rc) {
    *err = hw.err;
    rc = hw.rc;
  }
  if (rc) {
    json_decref(rep);
    return rc;
  }
  int staged = 0;
  rc = txf_clean_manifest_stage(&r->lake, o->data_dir, r->staging,
                                m->touched, m->shard_file, rep, &staged, err);
  if (rc) {
    json_decref(rep);
    return rc;
  }
  if (staged)
    add_op(r, STAGING "/index/_manifest.json", TXF_CLEAN_MANIFEST);
  int64_t t_parts = txf_mono_us(), cparts = txf_cpu_us();
  /* Whether the main thread (merging, and encoding when it waits) or the
   * pool bounds the phase, whatever else the machine runs. */
  txf_log_debug(o->log, "partitions: %lld ms CPU on the main thread of %lld",
                (long long)((txf_thread_cpu_us() - cmain) / 1000),
                (long long)((cparts - cindex) / 1000));
  /* the phases' edges, for a trace of the process's threads */
  txf_log_debug(o->log,
                "phases at monotonic us: read %lld dedup %lld index %lld "
                "partitions %lld end %lld",
                (long long)t0, (long long)t_read, (long long)t_dedup,
                (long long)t_index, (long long)t_parts);
  char qdir[64];
  snprintf(qdir, sizeof qdir, "quarantine/transactions/ingest_date=%s",
           r->date_str);
  char to[128];
  snprintf(to, sizeof to, "%s/rejected_lines.csv", qdir);
  add_op(r, STAGING "/quarantine/rejected_lines.csv", to);
  snprintf(to, sizeof to, "%s/rejects.csv", qdir);
  add_op(r, STAGING "/quarantine/rejects.csv", to);
  /* where every valid line is, for a revert (docs/silver.md, "History") */
  snprintf(to, sizeof to, TXF_HIST_DIR "/ingest_date=%s.idx", r->date_str);
  add_op(r, STAGING "/history.idx", to);

  /* the reconciliation */
  const merge_stats *ms = &m->st;
  int64_t accounted = ms->inserted + ms->updated + ms->duplicates +
                      ms->stale + r->quarantined;
  char run_id[64];
  snprintf(run_id, sizeof run_id, "clean-%s-%lld-%ld", r->date_str,
           (long long)txf_wall_us(), (long)getpid());
  json_object_set_new(rep, "run_id", json_string(run_id));
  json_object_set_new(rep, "ingest_date", json_string(r->date_str));
  json_object_set_new(rep, "timezone", json_string(o->timezone));
  if (r->batch_sha[0])
    json_object_set_new(rep, "batch_sha256", json_string(r->batch_sha));
  json_t *files = json_array();
  for (size_t i = 0; i < r->n_files; i++)
    json_array_append_new(files, json_pack("{s:s,s:I}", "path",
                                           r->src.v[i].path, "lines",
                                           (json_int_t)r->src_lines[i]));
  json_object_set_new(rep, "files", files);
  json_object_set_new(rep, "lines_read", json_integer(r->lines_read));
  json_object_set_new(rep, "inserted", json_integer(ms->inserted));
  json_object_set_new(rep, "updated", json_integer(ms->updated));
  json_object_set_new(rep, "duplicates", json_integer(ms->duplicates));
  json_object_set_new(rep, "stale", json_integer(ms->stale));
  json_object_set_new(rep, "quarantined", json_integer(r->quarantined));
  json_t *qr = json_object();
  for (int i = 1; i < TXF_REJ_N; i++)
    if (r->by_reason[i])
      json_object_set_new(qr, txf_reject_reason_name((txf_reject_reason)i),
                          json_integer(r->by_reason[i]));
  json_object_set_new(rep, "quarantined_by_reason", qr);
  json_object_set_new(rep, "ties", json_integer(ms->ties));
  json_object_set_new(rep, "lineage_moves", json_integer(ms->lineage_moves));
  json_object_set_new(rep, "reconciled", json_boolean(accounted ==
                                                      r->lines_read));
  int64_t t_end = txf_mono_us();
  json_object_set_new(rep, "started_at_us", json_integer(started));
  json_object_set_new(rep, "ended_at_us",
                      json_integer(started + (t_end - t0)));
  /* Per phase, wall time and the CPU time of every thread (steadier than
   * wall time on a shared machine). */
  json_object_set_new(rep, "timings_ms",
                      phases_ms(t0, t_read, t_dedup, t_index, t_parts));
  json_object_set_new(rep, "cpu_ms",
                      phases_ms(c0, cread, cdedup, cindex, cparts));
  if (accounted != r->lines_read) {
    json_decref(rep);
    return txf_err_set(err, TXF_EINTERNAL,
                       "reconciliation does not add up: lines_read %lld != "
                       "inserted + updated + duplicates + stale + "
                       "quarantined = %lld; nothing committed",
                       (long long)r->lines_read, (long long)accounted);
  }
  /* the reconciliation first, then the partitions, then the rest */
  static const char *const order[] = {
      "run_id", "ingest_date", "timezone", "lines_read", "inserted",
      "updated", "duplicates", "stale", "quarantined",
      "quarantined_by_reason", "ties", "lineage_moves", "reconciled",
      "partitions_rewritten", "rows_per_partition", "commit_version",
      "changes", "files", NULL};
  json_t *out = json_object();
  for (const char *const *k = order; *k; k++)
    json_object_set(out, *k, json_object_get(rep, *k));
  json_object_update_missing(out, rep);
  json_decref(rep);
  txf_clean_snap_in si = {.data_dir = o->data_dir,
                          .staging = r->staging,
                          .version = r->version,
                          .now_us = o->now_us,
                          .operation = "clean",
                          .run_id = run_id,
                          .ingest_date = r->date_str,
                          .manifest = &r->lake,
                          .store = store,
                          .add_op = snap_op,
                          .ctx = r};
  return txf_clean_run_commit(&si, out, &r->ops, &r->n_ops, &r->crash,
                              &r->stage_crash, report_json, err);
}

int txf_clean_run(const txf_clean_opts *o, txf_store *store,
                  char **report_json, txf_err *err) {
  *report_json = NULL;
  run r;
  memset(&r, 0, sizeof r);
  r.o = o;
  r.crash = (txf_clean_crash){o->crash_step, o->crash_n};
  pthread_mutex_init(&r.m.mu, NULL);
  txf_arena_init(&r.m.rm_ids, 1 << 16);
  for (unsigned s = 0; s < IDX_SHARDS; s++)
    txf_buf_init(&r.m.pending[s], 0);
  txf_date_format(o->ingest_date, r.date_str);
  int lock_fd = -1;
  int rc = txf_fs_mkdirs(o->data_dir, err);
  if (!rc)
    rc = txf_clean_lake_enter(o->data_dir, store, o->log, &lock_fd, err);
  if (rc)
    goto out;
  rc = txf_tz_load(&r.tz, o->timezone, err);
  if (rc)
    goto out;
  r.staging = txf_path_join(o->data_dir, STAGING);
  rc = do_run(&r, store, report_json, err);
  if (rc) {
    /* Uncommitted work is discarded; committed work was finished above or
     * will be by the next clean. */
    char *j = txf_path_join(o->data_dir, ".clean/journal.json");
    if (!txf_fs_exists(j)) {
      txf_err e2;
      if (r.q_lines)
        close_quarantine(&r, &e2);
      if (txf_fs_rmtree(r.staging, &e2) != 0)
        txf_log_warn(o->log, "%s", e2.msg);
    }
    free(j);
  }
out:
  if (r.q_lines || r.q_rejects) {
    txf_err e3;
    close_quarantine(&r, &e3);
  }
  for (size_t i = 0; i < r.n_ops; i++) {
    free(r.ops[i].from);
    free(r.ops[i].to);
  }
  free(r.ops);
  for (int t = 0; t < 8; t++)
    txf_clean_buckets_free(r.m.rows[t]);
  for (unsigned s = 0; s < IDX_SHARDS; s++) {
    txf_buf_release(&r.m.pending[s]);
    free(r.m.dec[s]);
    free(r.m.fresh[s]);
  }
  free(r.m.pmap);
  free(r.m.pfilter.w);
  txf_clean_pool_free(r.m.pool);
  free(r.m.run);
  free(r.m.cand);
  free(r.m.rm);
  txf_arena_release(&r.m.rm_ids);
  pthread_mutex_destroy(&r.m.mu);
  txf_clean_sources_release(&r.src);
  txf_clean_manifest_release(&r.lake);
  txf_clean_hist_release(&r.hist);
  free(r.src_lines);
  free(r.want_lines);
  txf_manifest_release(&r.manifest);
  free(r.bronze_dir);
  free(r.staging);
  txf_tz_free(r.tz);
  close(lock_fd);
  return rc;
}
