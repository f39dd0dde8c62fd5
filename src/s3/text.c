/* S3's text: URI encoding, canonical queries, and the small XML reader
 * for S3's and STS's answers (the few elements needed, entities
 * resolved). */
#include <stdlib.h>
#include <string.h>

#include "s3/internal.h"

static int unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

void txf_s3_uri_encode(txf_buf *b, const char *s, int keep_slash) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (unreserved(*p) || (keep_slash && *p == '/')) {
      (void)txf_buf_putc(b, (char)*p);
    } else {
      char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      (void)txf_buf_append(b, e, 3);
    }
  }
}

typedef struct qpair {
  char *name, *value; /* encoded */
} qpair;

static int qpair_cmp(const void *a, const void *b) {
  const qpair *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : strcmp(x->value, y->value);
}

void txf_s3_query_build(txf_buf *b, const char *const *pairs, size_t n) {
  qpair *q = txf_xcalloc(n ? n : 1, sizeof *q);
  for (size_t i = 0; i < n; i++) {
    txf_buf t;
    txf_buf_init(&t, 0);
    txf_s3_uri_encode(&t, pairs[2 * i], 0);
    q[i].name = txf_buf_take(&t, NULL);
    txf_s3_uri_encode(&t, pairs[2 * i + 1] ? pairs[2 * i + 1] : "", 0);
    q[i].value = txf_buf_take(&t, NULL);
  }
  qsort(q, n, sizeof *q, qpair_cmp);
  for (size_t i = 0; i < n; i++) {
    (void)txf_buf_printf(b, "%s%s=%s", i ? "&" : "", q[i].name, q[i].value);
    free(q[i].name);
    free(q[i].value);
  }
  free(q);
}

static void put_utf8(txf_buf *out, unsigned long cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) {
    u[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    u[0] = (char)(0xC0 | (cp >> 6));
    u[1] = (char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12));
    u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    u[0] = (char)(0xF0 | (cp >> 18));
    u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  (void)txf_buf_append(out, u, n);
}

/* Append the text of [s, e) to OUT with entities decoded. */
static void xml_decode(txf_buf *out, const char *s, const char *e) {
  while (s < e) {
    if (*s != '&') {
      const char *amp = memchr(s, '&', (size_t)(e - s));
      const char *stop = amp ? amp : e;
      (void)txf_buf_append(out, s, (size_t)(stop - s));
      s = stop;
      continue;
    }
    const char *semi = memchr(s, ';', (size_t)(e - s));
    size_t n = semi ? (size_t)(semi - s - 1) : 0;
    const char *name = s + 1;
    int ok = 1;
    if (semi && n == 3 && !memcmp(name, "amp", 3))
      (void)txf_buf_putc(out, '&');
    else if (semi && n == 2 && !memcmp(name, "lt", 2))
      (void)txf_buf_putc(out, '<');
    else if (semi && n == 2 && !memcmp(name, "gt", 2))
      (void)txf_buf_putc(out, '>');
    else if (semi && n == 4 && !memcmp(name, "quot", 4))
      (void)txf_buf_putc(out, '"');
    else if (semi && n == 4 && !memcmp(name, "apos", 4))
      (void)txf_buf_putc(out, '\'');
    else if (semi && n >= 2 && n <= 9 && name[0] == '#') {
      int hexa = name[1] == 'x' || name[1] == 'X';
      unsigned long cp = 0;
      const char *d = name + 1 + hexa;
      if (d == semi)
        ok = 0;
      for (; ok && d < semi; d++) {
        int v;
        if (*d >= '0' && *d <= '9')
          v = *d - '0';
        else if (hexa && *d >= 'a' && *d <= 'f')
          v = *d - 'a' + 10;
        else if (hexa && *d >= 'A' && *d <= 'F')
          v = *d - 'A' + 10;
        else {
          ok = 0;
          break;
        }
        cp = cp * (hexa ? 16 : 10) + (unsigned long)v;
      }
      if (ok && (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)))
        ok = 0;
      if (ok)
        put_utf8(out, cp);
    } else {
      ok = 0;
    }
    if (!ok) { /* not an entity we know: keep the text as it is */
      (void)txf_buf_putc(out, '&');
      s++;
      continue;
    }
    s = semi + 1;
  }
}

int txf_s3_xml_next(const char **p, const char *end, const char *tag,
                    txf_buf *out) {
  size_t tl = strlen(tag);
  const char *s = *p;
  for (;;) {
    const char *lt = s < end ? memchr(s, '<', (size_t)(end - s)) : NULL;
    if (!lt)
      return 0;
    s = lt + 1;
    /* "<TAG>" or "<TAG attr...>" but not "<TAGMore>" */
    if ((size_t)(end - s) < tl + 1 || memcmp(s, tag, tl) != 0)
      continue;
    char after = s[tl];
    if (after != '>' && after != ' ' && after != '/' && after != '\t' &&
        after != '\n' && after != '\r')
      continue;
    const char *gt = memchr(s, '>', (size_t)(end - s));
    if (!gt)
      return 0;
    if (gt[-1] == '/') { /* <TAG/>: empty */
      *p = gt + 1;
      return 1;
    }
    const char *body = gt + 1;
    /* The matching close tag, counting nested elements of the same name. */
    int depth = 1;
    const char *q = body;
    while (q < end) {
      const char *l2 = memchr(q, '<', (size_t)(end - q));
      if (!l2)
        return 0;
      q = l2 + 1;
      if ((size_t)(end - q) > tl + 1 && q[0] == '/' &&
          !memcmp(q + 1, tag, tl) && q[1 + tl] == '>') {
        if (--depth == 0) {
          if (out)
            xml_decode(out, body, l2);
          *p = q + tl + 2;
          return 1;
        }
      } else if ((size_t)(end - q) > tl && !memcmp(q, tag, tl) &&
                 (q[tl] == '>' || q[tl] == ' ')) {
        depth++;
      }
    }
    return 0;
  }
}

void txf_s3_xml_escape(txf_buf *b, const char *s) {
  static const char *const ent[] = {['&'] = "&amp;",
                                    ['<'] = "&lt;",
                                    ['>'] = "&gt;",
                                    ['"'] = "&quot;",
                                    ['\''] = "&apos;"};
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c < sizeof ent / sizeof ent[0] && ent[c])
      (void)txf_buf_puts(b, ent[c]);
    else
      (void)txf_buf_putc(b, *s);
  }
}
