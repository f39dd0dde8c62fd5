/* Template values: making, reading, printing and comparing txf_tval. */
#include <math.h>
#include <string.h>

#include "template/internal.h"

txf_tval *txf_tval_new(txf_arena *a, txf_tval_type t) {
  txf_tval *v = txf_arena_alloc(a, sizeof *v);
  memset(v, 0, sizeof *v);
  v->type = t;
  return v;
}

txf_tval *txf_tval_str(txf_arena *a, const char *s) {
  txf_tval *v = txf_tval_new(a, TXF_TV_STR);
  v->len = strlen(s);
  v->s = txf_arena_strndup(a, s, v->len);
  return v;
}

txf_tval *txf_tval_strn(txf_arena *a, const char *s, size_t n) {
  txf_tval *v = txf_tval_new(a, TXF_TV_STR);
  v->len = n;
  v->s = txf_arena_strndup(a, s, n);
  return v;
}

txf_tval *txf_tval_num(txf_arena *a, double x) {
  txf_tval *v = txf_tval_new(a, TXF_TV_NUM);
  v->num = x;
  return v;
}

txf_tval *txf_tval_bool(txf_arena *a, int b) {
  txf_tval *v = txf_tval_new(a, TXF_TV_BOOL);
  v->b = !!b;
  return v;
}

txf_tval *txf_tval_none(txf_arena *a) { return txf_tval_new(a, TXF_TV_NONE); }
txf_tval *txf_tval_list(txf_arena *a) { return txf_tval_new(a, TXF_TV_LIST); }
txf_tval *txf_tval_dict(txf_arena *a) { return txf_tval_new(a, TXF_TV_DICT); }

txf_tval *txf_tval_macro(txf_arena *a, const char *name) {
  txf_tval *v = txf_tval_str(a, name);
  v->type = TXF_TV_MACRO;
  return v;
}

static void tv_reserve(txf_arena *a, txf_tval *v, int dict) {
  if (v->len < v->cap)
    return;
  size_t cap = v->cap ? v->cap * 2 : 4;
  txf_tval **items = txf_arena_alloc(a, cap * sizeof *items);
  if (v->len)
    memcpy(items, v->items, v->len * sizeof *items);
  v->items = items;
  if (dict) {
    const char **keys = txf_arena_alloc(a, cap * sizeof *keys);
    if (v->len)
      memcpy(keys, v->keys, v->len * sizeof *keys);
    v->keys = keys;
  }
  v->cap = cap;
}

void txf_tval_push(txf_arena *a, txf_tval *list, txf_tval *v) {
  tv_reserve(a, list, 0);
  list->items[list->len++] = v;
}

txf_tval *txf_tval_get(const txf_tval *dict, const char *key) {
  if (!dict || dict->type != TXF_TV_DICT)
    return NULL;
  for (size_t i = 0; i < dict->len; i++)
    if (!strcmp(dict->keys[i], key))
      return dict->items[i];
  return NULL;
}

void txf_tval_set(txf_arena *a, txf_tval *dict, const char *key,
                  txf_tval *v) {
  for (size_t i = 0; i < dict->len; i++)
    if (!strcmp(dict->keys[i], key)) {
      dict->items[i] = v;
      return;
    }
  tv_reserve(a, dict, 1);
  dict->keys[dict->len] = txf_arena_strdup(a, key);
  dict->items[dict->len++] = v;
}

int txf_tval_truthy(const txf_tval *v) {
  switch (v->type) {
  case TXF_TV_BOOL:
    return v->b;
  case TXF_TV_NUM:
    return v->num != 0;
  case TXF_TV_STR:
  case TXF_TV_LIST:
  case TXF_TV_DICT:
    return v->len != 0;
  case TXF_TV_MACRO:
    return 1;
  default:
    return 0;
  }
}

static int print_num(txf_buf *b, double x) {
  if (isfinite(x) && x == floor(x) && fabs(x) < 1e15)
    return txf_buf_printf(b, "%.0f", x);
  return txf_buf_printf(b, "%.15g", x);
}

static int print_repr(txf_buf *b, const txf_tval *v, int depth) {
  if (depth > TXF_TPL_MAX_NEST)
    return txf_buf_puts(b, "...");
  int rc = 0;
  if (v->type == TXF_TV_STR) {
    rc = txf_buf_putc(b, '\'');
    for (size_t i = 0; !rc && i < v->len; i++)
      rc = v->s[i] == '\'' ? txf_buf_puts(b, "\\'") : txf_buf_putc(b, v->s[i]);
    return rc ? rc : txf_buf_putc(b, '\'');
  }
  if (v->type == TXF_TV_LIST) {
    rc = txf_buf_putc(b, '[');
    for (size_t i = 0; !rc && i < v->len; i++) {
      if (i)
        rc = txf_buf_puts(b, ", ");
      if (!rc)
        rc = print_repr(b, v->items[i], depth + 1);
    }
    return rc ? rc : txf_buf_putc(b, ']');
  }
  if (v->type == TXF_TV_DICT) {
    rc = txf_buf_putc(b, '{');
    for (size_t i = 0; !rc && i < v->len; i++) {
      rc = txf_buf_printf(b, "%s'%s': ", i ? ", " : "", v->keys[i]);
      if (!rc)
        rc = print_repr(b, v->items[i], depth + 1);
    }
    return rc ? rc : txf_buf_putc(b, '}');
  }
  return txf_tval_print(b, v);
}

int txf_tval_print(txf_buf *b, const txf_tval *v) {
  switch (v->type) {
  case TXF_TV_NONE:
    return txf_buf_puts(b, "None");
  case TXF_TV_BOOL:
    return txf_buf_puts(b, v->b ? "True" : "False");
  case TXF_TV_NUM:
    return print_num(b, v->num);
  case TXF_TV_STR:
    return txf_buf_append(b, v->s, v->len);
  case TXF_TV_LIST:
  case TXF_TV_DICT:
    return print_repr(b, v, 0);
  default:
    return 0;
  }
}

const char *txf_tval_type_name(const txf_tval *v) {
  static const char *const names[] = {"undefined", "none", "bool",  "number",
                                      "string",    "list", "dict", "macro"};
  return names[v->type];
}

int txf_tval_equal(const txf_tval *a, const txf_tval *b, int depth) {
  if (depth > TXF_TPL_MAX_NEST)
    return 0;
  if (a->type == TXF_TV_NUM && b->type == TXF_TV_BOOL)
    return a->num == b->b;
  if (a->type == TXF_TV_BOOL && b->type == TXF_TV_NUM)
    return a->b == b->num;
  if (a->type != b->type)
    return 0;
  switch (a->type) {
  case TXF_TV_NONE:
    return 1;
  case TXF_TV_BOOL:
    return a->b == b->b;
  case TXF_TV_NUM:
    return a->num == b->num;
  case TXF_TV_STR:
    return a->len == b->len && !memcmp(a->s, b->s, a->len);
  case TXF_TV_LIST:
    if (a->len != b->len)
      return 0;
    for (size_t i = 0; i < a->len; i++)
      if (!txf_tval_equal(a->items[i], b->items[i], depth + 1))
        return 0;
    return 1;
  case TXF_TV_DICT:
    if (a->len != b->len)
      return 0;
    for (size_t i = 0; i < a->len; i++) {
      txf_tval *o = txf_tval_get(b, a->keys[i]);
      if (!o || !txf_tval_equal(a->items[i], o, depth + 1))
        return 0;
    }
    return 1;
  default:
    return 0;
  }
}
