/* Small string helpers. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

size_t txf_str_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  size_t *row = txf_xmalloc((lb + 1) * sizeof *row);
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      if (up + 1 < best)
        best = up + 1;
      row[j] = best;
      diag = up;
    }
  }
  size_t d = row[lb];
  free(row);
  return d;
}

const char *txf_str_closest(const char *word, const char *const *cands,
                            size_t n) {
  size_t limit = strlen(word) / 3;
  if (limit < 2)
    limit = 2;
  const char *best = NULL;
  size_t best_d = (size_t)-1;
  for (size_t i = 0; i < n; i++) {
    size_t d = txf_str_distance(word, cands[i]);
    if (d < best_d) {
      best_d = d;
      best = cands[i];
    }
  }
  return best_d <= limit ? best : NULL;
}

int txf_str_has_prefix(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

int txf_str_has_suffix(const char *s, const char *suffix) {
  size_t ls = strlen(s), lx = strlen(suffix);
  return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

int txf_parse_u64(const char *s, uint64_t *out) {
  if (!s || *s < '0' || *s > '9')
    return TXF_EPARSE;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end)
    return TXF_EPARSE;
  *out = v;
  return 0;
}

int txf_parse_i64(const char *s, int64_t *out) {
  if (!s || !*s)
    return TXF_EPARSE;
  errno = 0;
  char *end;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || end == s)
    return TXF_EPARSE;
  *out = v;
  return 0;
}

int txf_parse_double(const char *s, double *out) {
  if (!s || !*s)
    return TXF_EPARSE;
  errno = 0;
  char *end;
  double v = strtod(s, &end);
  if (errno || *end || end == s)
    return TXF_EPARSE;
  *out = v;
  return 0;
}

json_t *txf_json_text(const char *s) {
  json_t *j = json_string(s);
  if (j)
    return j;
  txf_buf b;
  txf_buf_init(&b, 0);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    txf_buf_puts(&b, *p < 0x80 ? (char[]){(char)*p, 0} : "\xef\xbf\xbd");
  j = json_string(b.data ? b.data : "");
  txf_buf_release(&b);
  return j ? j : json_string("");
}

void txf_strlist_push(txf_strlist *l, const char *s) {
  l->v = txf_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
  l->v[l->n++] = txf_xstrdup(s);
}

int txf_strlist_has(const txf_strlist *l, const char *s) {
  for (size_t i = 0; i < l->n; i++)
    if (!strcmp(l->v[i], s))
      return 1;
  return 0;
}

void txf_strlist_release(txf_strlist *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
  l->v = NULL;
  l->n = 0;
}
