/* Allocation that aborts on OOM, growable buffers and arenas. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void oom(size_t n) {
  fprintf(stderr, "txnflow: out of memory allocating %zu bytes\n", n);
  abort();
}

void *txf_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p)
    oom(n);
  return p;
}

void *txf_xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p)
    oom(n * size);
  return p;
}

void *txf_xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q)
    oom(n);
  return q;
}

void txf_free_array(void *const *ptrs, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(ptrs[i]);
}

char *txf_xstrdup(const char *s) { return txf_xstrndup(s, strlen(s)); }

char *txf_xstrndup(const char *s, size_t n) {
  char *p = txf_xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *txf_xasprintf(const char *fmt, ...) {
  txf_buf b;
  txf_buf_init(&b, 0);
  va_list ap;
  va_start(ap, fmt);
  (void)txf_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  return txf_buf_take(&b, NULL);
}

/* ---- txf_buf */

void txf_buf_init(txf_buf *b, size_t max) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max;
}

void txf_buf_release(txf_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}

void txf_buf_reset(txf_buf *b) {
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
}

int txf_buf_grow(txf_buf *b, size_t n) {
  if (b->max && (n > b->max || b->len > b->max - n))
    return TXF_ETOOBIG;
  size_t need = b->len + n + 1;
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap = cap < SIZE_MAX / 2 ? cap * 2 : need;
  b->data = txf_xrealloc(b->data, cap);
  b->cap = cap;
  return 0;
}

int txf_buf_append(txf_buf *b, const void *p, size_t n) {
  if (txf_buf_grow(b, n))
    return TXF_ETOOBIG;
  if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int txf_buf_puts(txf_buf *b, const char *s) {
  return txf_buf_append(b, s, strlen(s));
}

int txf_buf_putc(txf_buf *b, char c) { return txf_buf_append(b, &c, 1); }

void txf_buf_put_escaped(txf_buf *b, const char *s, size_t n,
                         const txf_escape *esc) {
  for (size_t i = 0; i < n; i++) {
    const txf_escape *e = esc;
    while (e->text && e->c != s[i])
      e++;
    if (e->text)
      (void)txf_buf_puts(b, e->text);
    else
      (void)txf_buf_putc(b, s[i]);
  }
}

void txf_buf_put_pgcopy(txf_buf *b, const char *s, size_t n) {
  static const txf_escape esc[] = {{'\\', "\\\\"},
                                   {'\t', "\\t"},
                                   {'\n', "\\n"},
                                   {'\r', "\\r"},
                                   {0, NULL}};
  txf_buf_put_escaped(b, s, n, esc);
}

int txf_buf_vprintf(txf_buf *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  char tmp[256];
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap2);
  va_end(ap2);
  if (n < 0)
    return 0;
  if ((size_t)n < sizeof tmp)
    return txf_buf_append(b, tmp, (size_t)n);
  if (txf_buf_grow(b, (size_t)n))
    return TXF_ETOOBIG;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return 0;
}

int txf_buf_printf(txf_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = txf_buf_vprintf(b, fmt, ap);
  va_end(ap);
  return rc;
}

char *txf_buf_take(txf_buf *b, size_t *len_out) {
  char *p = b->data;
  if (len_out)
    *len_out = b->len;
  if (!p)
    p = txf_xstrdup("");
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  return p;
}

/* ---- txf_arena */

struct txf_arena_block {
  txf_arena_block *next;
  size_t size;
  size_t used;
  _Alignas(16) unsigned char mem[];
};

void txf_arena_init(txf_arena *a, size_t block_size) {
  a->head = NULL;
  a->block_size = block_size ? block_size : 64 * 1024;
  a->used_bytes = 0;
}

void *txf_arena_alloc(txf_arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (!a->head || a->head->size - a->head->used < n) {
    size_t size = n > a->block_size ? n : a->block_size;
    txf_arena_block *blk = txf_xmalloc(sizeof *blk + size);
    blk->size = size;
    blk->used = 0;
    blk->next = a->head;
    a->head = blk;
  }
  void *p = a->head->mem + a->head->used;
  a->head->used += n;
  a->used_bytes += n;
  return p;
}

char *txf_arena_strndup(txf_arena *a, const char *s, size_t n) {
  char *p = txf_arena_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *txf_arena_strdup(txf_arena *a, const char *s) {
  return txf_arena_strndup(a, s, strlen(s));
}

void txf_arena_reset(txf_arena *a) {
  /* Keep the oldest block (normally the standard size) for reuse. */
  txf_arena_block *keep = NULL;
  txf_arena_block *blk = a->head;
  while (blk) {
    txf_arena_block *next = blk->next;
    if (!next && blk->size == a->block_size) {
      keep = blk;
    } else {
      free(blk);
    }
    blk = next;
  }
  if (keep)
    keep->used = 0;
  a->head = keep;
  a->used_bytes = 0;
}

void txf_arena_release(txf_arena *a) {
  txf_arena_block *blk = a->head;
  while (blk) {
    txf_arena_block *next = blk->next;
    free(blk);
    blk = next;
  }
  a->head = NULL;
  a->used_bytes = 0;
}
