/* The Jinja subset: parser and renderer (see template.h).
 *
 * Why our own and not an embedded interpreter: the templates come from
 * project files, and a model compile must never be able to read files, open
 * sockets or loop forever. A small tree-walking evaluator with no host object
 * access and hard limits makes that easy to check. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "template/template.h"

/* ---------------------------------------------------------------- tree */

typedef enum {
  E_LIT, E_NAME, E_ATTR, E_INDEX, E_CALL, E_FILTER, E_NEG, E_NOT, E_BIN,
  E_AND, E_OR, E_COND, E_LIST, E_DICT, E_TEST
} ekind;

typedef enum {
  OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN, OP_NOTIN, OP_ADD, OP_SUB,
  OP_MUL, OP_DIV, OP_FDIV, OP_MOD, OP_CAT
} binop;

typedef struct expr expr;
struct expr {
  ekind kind;
  size_t off; /* source offset, for messages */
  int op;
  int negate; /* E_TEST: "is not" */
  const char *name; /* NAME, ATTR, FILTER, TEST */
  txf_tval *lit;
  expr *a, *b, *c;
  size_t n;
  expr **items; /* LIST items, DICT values, CALL/FILTER args */
  expr **keys;  /* DICT keys */
  size_t n_kw;
  const char **kw_names;
  expr **kw;
};

typedef enum { N_TEXT, N_OUT, N_IF, N_FOR, N_SET, N_SETBLOCK, N_MACRO, N_DO,
               N_DOCS } nkind;

typedef struct node node;
struct node {
  nkind kind;
  size_t off;
  node *next;
  const char *text; /* TEXT */
  size_t len;
  expr *e;          /* OUT, SET, DO, FOR iterable */
  /* IF: conds[i] guards bodies[i]; else_body when none holds */
  size_t n_conds;
  expr **conds;
  node **bodies;
  node *else_body;
  node *body;        /* FOR, SETBLOCK, MACRO, DOCS */
  const char *var1;  /* FOR target, SET name, MACRO/DOCS name */
  const char *var2;  /* FOR second target */
  size_t n_params;   /* MACRO */
  const char **params;
  expr **defaults;
  const struct txf_tpl *tpl; /* MACRO/DOCS: defining template */
};

struct txf_tpl {
  const char *file;
  const char *src;
  size_t len;
  node *body;
};

/* ---------------------------------------------------------------- values */

static txf_tval *tv_new(txf_arena *a, txf_tval_type t) {
  txf_tval *v = txf_arena_alloc(a, sizeof *v);
  memset(v, 0, sizeof *v);
  v->type = t;
  return v;
}

txf_tval *txf_tval_str(txf_arena *a, const char *s) {
  txf_tval *v = tv_new(a, TXF_TV_STR);
  v->len = strlen(s);
  v->s = txf_arena_strndup(a, s, v->len);
  return v;
}

static txf_tval *tv_strn(txf_arena *a, const char *s, size_t n) {
  txf_tval *v = tv_new(a, TXF_TV_STR);
  v->len = n;
  v->s = txf_arena_strndup(a, s, n);
  return v;
}

txf_tval *txf_tval_num(txf_arena *a, double x) {
  txf_tval *v = tv_new(a, TXF_TV_NUM);
  v->num = x;
  return v;
}

txf_tval *txf_tval_bool(txf_arena *a, int b) {
  txf_tval *v = tv_new(a, TXF_TV_BOOL);
  v->b = !!b;
  return v;
}

txf_tval *txf_tval_none(txf_arena *a) { return tv_new(a, TXF_TV_NONE); }
txf_tval *txf_tval_list(txf_arena *a) { return tv_new(a, TXF_TV_LIST); }
txf_tval *txf_tval_dict(txf_arena *a) { return tv_new(a, TXF_TV_DICT); }

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

static const char *type_name(const txf_tval *v) {
  static const char *const names[] = {"undefined", "none", "bool", "number",
                                      "string", "list", "dict"};
  return names[v->type];
}

/* ---------------------------------------------------------------- errors */

static void line_col(const char *src, size_t off, int *line, int *col) {
  int l = 1, c = 1;
  for (size_t i = 0; i < off; i++) {
    if (src[i] == '\n') {
      l++;
      c = 1;
    } else {
      c++;
    }
  }
  *line = l;
  *col = c;
}

static int errat(txf_err *err, int code, const char *file, const char *src,
                 size_t off, const char *fmt, ...) TXF_PRINTF(6, 7);
static int errat(txf_err *err, int code, const char *file, const char *src,
                 size_t off, const char *fmt, ...) {
  int line, col;
  line_col(src, off, &line, &col);
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return txf_err_set(err, code, "%s:%d:%d: %s", file, line, col, msg);
}

/* ---------------------------------------------------------------- lexer */

typedef enum { T_EOF, T_NAME, T_NUM, T_STR, T_OP, T_END } tkind;

typedef struct {
  tkind kind;
  size_t off;
  size_t len; /* of the token text in the source */
  const char *text;
  char op[4];  /* T_OP */
  int trim;    /* T_END: '-' before it */
  double num;
  char *str;   /* T_STR decoded (arena) */
} token;

typedef struct {
  const char *file;
  const char *src;
  size_t len;
  size_t pos;
  txf_arena *a;
  txf_err *err;
  int depth;
  int braces;      /* open '{' inside the current tag */
  char close;      /* '}' for {{ }}, '%' for {% %} */
  int trim_next;   /* the last tag ended with '-' */
  token tok;       /* current token */
  int failed;
} parser;

static int perr(parser *p, size_t off, const char *fmt, ...) TXF_PRINTF(3, 4);
static int perr(parser *p, size_t off, const char *fmt, ...) {
  if (p->failed)
    return TXF_EPARSE;
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  p->failed = 1;
  return errat(p->err, TXF_EPARSE, p->file, p->src, off, "%s", msg);
}

static const char *tag_end_text(const parser *p) {
  return p->close == '}' ? "}}" : "%}";
}

/* Read the next token inside a tag. */
static int lex(parser *p) {
  const char *s = p->src;
  while (p->pos < p->len && isspace((unsigned char)s[p->pos]))
    p->pos++;
  token *t = &p->tok;
  memset(t, 0, sizeof *t);
  t->off = p->pos;
  t->text = s + p->pos;
  if (p->pos >= p->len) {
    t->kind = T_EOF;
    return 0;
  }
  char c = s[p->pos];
  size_t rest = p->len - p->pos;
  /* tag end, with optional '-' */
  int dash = c == '-' && rest >= 3 && s[p->pos + 1] == p->close &&
             s[p->pos + 2] == '}';
  if (dash || (c == p->close && rest >= 2 && s[p->pos + 1] == '}' &&
               (p->close == '%' || p->braces == 0))) {
    t->kind = T_END;
    t->trim = dash;
    t->len = dash ? 3 : 2;
    p->pos += t->len;
    return 0;
  }
  if (isalpha((unsigned char)c) || c == '_') {
    size_t b = p->pos;
    while (p->pos < p->len &&
           (isalnum((unsigned char)s[p->pos]) || s[p->pos] == '_'))
      p->pos++;
    t->kind = T_NAME;
    t->len = p->pos - b;
    t->str = txf_arena_strndup(p->a, s + b, t->len);
    return 0;
  }
  if (isdigit((unsigned char)c)) {
    size_t b = p->pos;
    while (p->pos < p->len && (isdigit((unsigned char)s[p->pos]) ||
                               s[p->pos] == '_'))
      p->pos++;
    if (p->pos + 1 < p->len && s[p->pos] == '.' &&
        isdigit((unsigned char)s[p->pos + 1])) {
      p->pos++;
      while (p->pos < p->len && isdigit((unsigned char)s[p->pos]))
        p->pos++;
    }
    if (p->pos < p->len &&
        (isalpha((unsigned char)s[p->pos]) || s[p->pos] == '_'))
      return perr(p, b, "malformed number");
    t->kind = T_NUM;
    t->len = p->pos - b;
    char tmp[64];
    size_t k = 0;
    for (size_t i = b; i < p->pos && k < sizeof tmp - 1; i++)
      if (s[i] != '_')
        tmp[k++] = s[i];
    tmp[k] = 0;
    t->num = strtod(tmp, NULL);
    return 0;
  }
  if (c == '\'' || c == '"') {
    size_t b = p->pos++;
    txf_buf sb;
    txf_buf_init(&sb, 0);
    for (;;) {
      if (p->pos >= p->len) {
        txf_buf_release(&sb);
        return perr(p, b, "unterminated string");
      }
      char d = s[p->pos++];
      if (d == c)
        break;
      if (d == '\\' && p->pos < p->len) {
        char e = s[p->pos++];
        switch (e) {
        case 'n': d = '\n'; break;
        case 't': d = '\t'; break;
        case 'r': d = '\r'; break;
        case '\\': case '\'': case '"': d = e; break;
        default:
          (void)txf_buf_putc(&sb, '\\');
          d = e;
        }
      }
      (void)txf_buf_putc(&sb, d);
    }
    t->kind = T_STR;
    t->len = p->pos - b;
    t->str = txf_arena_strndup(p->a, sb.data ? sb.data : "", sb.len);
    txf_buf_release(&sb);
    return 0;
  }
  static const char *const ops[] = {"==", "!=", "<=", ">=", "//", "**", "(",
                                    ")",  "[",  "]",  "{",  "}",  ",",  ":",
                                    ".",  "|",  "=",  "<",  ">",  "+",  "-",
                                    "*",  "/",  "%",  "~"};
  for (size_t i = 0; i < TXF_ARRAY_LEN(ops); i++) {
    size_t n = strlen(ops[i]);
    if (rest >= n && !memcmp(s + p->pos, ops[i], n)) {
      t->kind = T_OP;
      memcpy(t->op, ops[i], n);
      t->len = n;
      p->pos += n;
      if (!strcmp(t->op, "{"))
        p->braces++;
      else if (!strcmp(t->op, "}") && p->braces > 0)
        p->braces--;
      return 0;
    }
  }
  return perr(p, p->pos, "unexpected character '%c'", c);
}

static int is_op(const parser *p, const char *op) {
  return p->tok.kind == T_OP && !strcmp(p->tok.op, op);
}

static int is_name(const parser *p, const char *name) {
  return p->tok.kind == T_NAME && !strcmp(p->tok.str, name);
}

static const char *tok_desc(const parser *p, char *buf, size_t n) {
  const token *t = &p->tok;
  if (t->kind == T_EOF)
    return "end of file";
  if (t->kind == T_END)
    return "end of tag";
  snprintf(buf, n, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->text);
  return buf;
}

static int expect_op(parser *p, const char *op) {
  if (!is_op(p, op)) {
    char b[64];
    return perr(p, p->tok.off, "expected '%s', got %s", op,
                tok_desc(p, b, sizeof b));
  }
  return lex(p);
}

/* ---------------------------------------------------------------- expressions */

static expr *enew(parser *p, ekind k, size_t off) {
  expr *e = txf_arena_alloc(p->a, sizeof *e);
  memset(e, 0, sizeof *e);
  e->kind = k;
  e->off = off;
  return e;
}

static const char *const known_filters[] = {
    "lower", "upper", "join",  "replace", "default", "d",    "trim",
    "length", "string", "int", "float",  "title",   "first", "last",
    "list", "unique", "sort",  NULL};

static const char *const known_tests[] = {"none",   "defined", "undefined",
                                          "string", "number",  "mapping",
                                          "sequence", NULL};

static int parse_expr(parser *p, expr **out);

/* Collect "(a, b, k=v)" after the '(' already consumed. */
static int parse_args(parser *p, expr *e) {
  size_t cap = 0, kcap = 0;
  while (!is_op(p, ")")) {
    if (p->tok.kind == T_EOF || p->tok.kind == T_END) {
      char b[64];
      return perr(p, p->tok.off, "expected ')', got %s",
                  tok_desc(p, b, sizeof b));
    }
    /* keyword argument? name '=' (not '==') */
    if (p->tok.kind == T_NAME) {
      size_t save = p->pos;
      token t = p->tok;
      int braces = p->braces;
      if (lex(p))
        return TXF_EPARSE;
      if (is_op(p, "=")) {
        if (lex(p))
          return TXF_EPARSE;
        expr *v;
        if (parse_expr(p, &v))
          return TXF_EPARSE;
        if (e->n_kw == kcap) {
          kcap = kcap ? kcap * 2 : 4;
          const char **nn = txf_arena_alloc(p->a, kcap * sizeof *nn);
          expr **vv = txf_arena_alloc(p->a, kcap * sizeof *vv);
          if (e->n_kw) {
            memcpy(nn, e->kw_names, e->n_kw * sizeof *nn);
            memcpy(vv, e->kw, e->n_kw * sizeof *vv);
          }
          e->kw_names = nn;
          e->kw = vv;
        }
        e->kw_names[e->n_kw] = t.str;
        e->kw[e->n_kw++] = v;
        goto next;
      }
      p->pos = save;
      p->tok = t;
      p->braces = braces;
    }
    if (e->n_kw)
      return perr(p, p->tok.off, "positional argument after keyword argument");
    expr *v;
    if (parse_expr(p, &v))
      return TXF_EPARSE;
    if (e->n == cap) {
      cap = cap ? cap * 2 : 4;
      expr **ii = txf_arena_alloc(p->a, cap * sizeof *ii);
      if (e->n)
        memcpy(ii, e->items, e->n * sizeof *ii);
      e->items = ii;
    }
    e->items[e->n++] = v;
  next:
    if (is_op(p, ",")) {
      if (lex(p))
        return TXF_EPARSE;
    } else if (!is_op(p, ")")) {
      char b[64];
      return perr(p, p->tok.off, "expected ',' or ')', got %s",
                  tok_desc(p, b, sizeof b));
    }
  }
  return lex(p);
}

static void push_expr(parser *p, expr *e, expr *item, expr *key,
                      size_t *cap) {
  if (e->n == *cap) {
    *cap = *cap ? *cap * 2 : 4;
    expr **ii = txf_arena_alloc(p->a, *cap * sizeof *ii);
    expr **kk = txf_arena_alloc(p->a, *cap * sizeof *kk);
    if (e->n) {
      memcpy(ii, e->items, e->n * sizeof *ii);
      if (e->keys)
        memcpy(kk, e->keys, e->n * sizeof *kk);
    }
    e->items = ii;
    e->keys = kk;
  }
  e->items[e->n] = item;
  e->keys[e->n++] = key;
}

static int parse_primary(parser *p, expr **out) {
  token t = p->tok;
  char b[64];
  switch (t.kind) {
  case T_NUM: {
    expr *e = enew(p, E_LIT, t.off);
    e->lit = txf_tval_num(p->a, t.num);
    *out = e;
    return lex(p);
  }
  case T_STR: {
    expr *e = enew(p, E_LIT, t.off);
    e->lit = txf_tval_str(p->a, t.str);
    *out = e;
    return lex(p);
  }
  case T_NAME: {
    expr *e;
    if (!strcmp(t.str, "true") || !strcmp(t.str, "True") ||
        !strcmp(t.str, "false") || !strcmp(t.str, "False")) {
      e = enew(p, E_LIT, t.off);
      e->lit = txf_tval_bool(p->a, t.str[0] == 't' || t.str[0] == 'T');
    } else if (!strcmp(t.str, "none") || !strcmp(t.str, "None")) {
      e = enew(p, E_LIT, t.off);
      e->lit = txf_tval_none(p->a);
    } else {
      e = enew(p, E_NAME, t.off);
      e->name = t.str;
    }
    *out = e;
    return lex(p);
  }
  case T_OP:
    if (!strcmp(t.op, "(")) {
      if (lex(p) || parse_expr(p, out))
        return TXF_EPARSE;
      return expect_op(p, ")");
    }
    if (!strcmp(t.op, "[")) {
      expr *e = enew(p, E_LIST, t.off);
      size_t cap = 0;
      if (lex(p))
        return TXF_EPARSE;
      while (!is_op(p, "]")) {
        expr *v;
        if (parse_expr(p, &v))
          return TXF_EPARSE;
        push_expr(p, e, v, NULL, &cap);
        if (is_op(p, ",")) {
          if (lex(p))
            return TXF_EPARSE;
        } else if (!is_op(p, "]")) {
          return perr(p, p->tok.off, "expected ',' or ']', got %s",
                      tok_desc(p, b, sizeof b));
        }
      }
      *out = e;
      return lex(p);
    }
    if (!strcmp(t.op, "{")) {
      expr *e = enew(p, E_DICT, t.off);
      size_t cap = 0;
      if (lex(p))
        return TXF_EPARSE;
      while (!is_op(p, "}")) {
        expr *k, *v;
        if (parse_expr(p, &k) || expect_op(p, ":") || parse_expr(p, &v))
          return TXF_EPARSE;
        push_expr(p, e, v, k, &cap);
        if (is_op(p, ",")) {
          if (lex(p))
            return TXF_EPARSE;
        } else if (!is_op(p, "}")) {
          return perr(p, p->tok.off, "expected ',' or '}', got %s",
                      tok_desc(p, b, sizeof b));
        }
      }
      *out = e;
      return lex(p);
    }
    break;
  default:
    break;
  }
  return perr(p, t.off, "expected an expression, got %s",
              tok_desc(p, b, sizeof b));
}

static int parse_postfix(parser *p, expr **out) {
  if (parse_primary(p, out))
    return TXF_EPARSE;
  for (;;) {
    size_t off = p->tok.off;
    if (is_op(p, ".")) {
      if (lex(p))
        return TXF_EPARSE;
      if (p->tok.kind != T_NAME) {
        char b[64];
        return perr(p, p->tok.off, "expected a name after '.', got %s",
                    tok_desc(p, b, sizeof b));
      }
      expr *e = enew(p, E_ATTR, off);
      e->a = *out;
      e->name = p->tok.str;
      *out = e;
      if (lex(p))
        return TXF_EPARSE;
    } else if (is_op(p, "[")) {
      expr *e = enew(p, E_INDEX, off);
      e->a = *out;
      if (lex(p) || parse_expr(p, &e->b) || expect_op(p, "]"))
        return TXF_EPARSE;
      *out = e;
    } else if (is_op(p, "(")) {
      expr *e = enew(p, E_CALL, (*out)->off);
      e->a = *out;
      if ((*out)->kind != E_NAME && (*out)->kind != E_ATTR)
        return perr(p, off, "only named functions and methods can be called");
      if (lex(p) || parse_args(p, e))
        return TXF_EPARSE;
      *out = e;
    } else {
      return 0;
    }
  }
}

static int parse_unary(parser *p, expr **out);

static int parse_filtered(parser *p, expr **out) {
  if (parse_postfix(p, out))
    return TXF_EPARSE;
  while (is_op(p, "|")) {
    if (lex(p))
      return TXF_EPARSE;
    if (p->tok.kind != T_NAME) {
      char b[64];
      return perr(p, p->tok.off, "expected a filter name, got %s",
                  tok_desc(p, b, sizeof b));
    }
    int known = 0;
    for (size_t i = 0; known_filters[i]; i++)
      known |= !strcmp(known_filters[i], p->tok.str);
    if (!known)
      return perr(p, p->tok.off, "unknown filter '%s'", p->tok.str);
    expr *e = enew(p, E_FILTER, p->tok.off);
    e->a = *out;
    e->name = p->tok.str;
    if (lex(p))
      return TXF_EPARSE;
    if (is_op(p, "(")) {
      if (lex(p) || parse_args(p, e))
        return TXF_EPARSE;
    }
    *out = e;
  }
  return 0;
}

static int parse_unary(parser *p, expr **out) {
  if (++p->depth > TXF_TPL_MAX_NEST)
    return perr(p, p->tok.off, "expression nested too deeply");
  int rc;
  if (is_op(p, "-")) {
    expr *e = enew(p, E_NEG, p->tok.off);
    rc = lex(p) || parse_unary(p, &e->a);
    *out = e;
  } else {
    rc = parse_filtered(p, out);
  }
  p->depth--;
  return rc ? TXF_EPARSE : 0;
}

static int parse_mul(parser *p, expr **out) {
  if (parse_unary(p, out))
    return TXF_EPARSE;
  for (;;) {
    int op;
    if (is_op(p, "*"))
      op = OP_MUL;
    else if (is_op(p, "/"))
      op = OP_DIV;
    else if (is_op(p, "//"))
      op = OP_FDIV;
    else if (is_op(p, "%"))
      op = OP_MOD;
    else
      return 0;
    expr *e = enew(p, E_BIN, p->tok.off);
    e->op = op;
    e->a = *out;
    if (lex(p) || parse_unary(p, &e->b))
      return TXF_EPARSE;
    *out = e;
  }
}

static int parse_add(parser *p, expr **out) {
  if (parse_mul(p, out))
    return TXF_EPARSE;
  for (;;) {
    int op;
    if (is_op(p, "+"))
      op = OP_ADD;
    else if (is_op(p, "-"))
      op = OP_SUB;
    else if (is_op(p, "~"))
      op = OP_CAT;
    else
      return 0;
    expr *e = enew(p, E_BIN, p->tok.off);
    e->op = op;
    e->a = *out;
    if (lex(p) || parse_mul(p, &e->b))
      return TXF_EPARSE;
    *out = e;
  }
}

static int parse_cmp(parser *p, expr **out) {
  if (parse_add(p, out))
    return TXF_EPARSE;
  for (;;) {
    int op = -1;
    size_t off = p->tok.off;
    if (is_op(p, "=="))
      op = OP_EQ;
    else if (is_op(p, "!="))
      op = OP_NE;
    else if (is_op(p, "<"))
      op = OP_LT;
    else if (is_op(p, "<="))
      op = OP_LE;
    else if (is_op(p, ">"))
      op = OP_GT;
    else if (is_op(p, ">="))
      op = OP_GE;
    else if (is_name(p, "in"))
      op = OP_IN;
    else if (is_name(p, "not")) {
      /* "a not in b" */
      size_t save = p->pos;
      token t = p->tok;
      if (lex(p))
        return TXF_EPARSE;
      if (!is_name(p, "in")) {
        p->pos = save;
        p->tok = t;
        return 0;
      }
      op = OP_NOTIN;
    } else if (is_name(p, "is")) {
      expr *e = enew(p, E_TEST, off);
      e->a = *out;
      if (lex(p))
        return TXF_EPARSE;
      if (is_name(p, "not")) {
        e->negate = 1;
        if (lex(p))
          return TXF_EPARSE;
      }
      if (p->tok.kind != T_NAME) {
        char b[64];
        return perr(p, p->tok.off, "expected a test name after 'is', got %s",
                    tok_desc(p, b, sizeof b));
      }
      int known = 0;
      for (size_t i = 0; known_tests[i]; i++)
        known |= !strcmp(known_tests[i], p->tok.str);
      if (!known)
        return perr(p, p->tok.off, "unknown test '%s'", p->tok.str);
      e->name = p->tok.str;
      if (lex(p))
        return TXF_EPARSE;
      *out = e;
      continue;
    }
    if (op < 0)
      return 0;
    expr *e = enew(p, E_BIN, off);
    e->op = op;
    e->a = *out;
    if (lex(p) || parse_add(p, &e->b))
      return TXF_EPARSE;
    *out = e;
  }
}

static int parse_not(parser *p, expr **out) {
  if (is_name(p, "not")) {
    if (++p->depth > TXF_TPL_MAX_NEST)
      return perr(p, p->tok.off, "expression nested too deeply");
    expr *e = enew(p, E_NOT, p->tok.off);
    if (lex(p) || parse_not(p, &e->a))
      return TXF_EPARSE;
    p->depth--;
    *out = e;
    return 0;
  }
  return parse_cmp(p, out);
}

static int parse_and(parser *p, expr **out) {
  if (parse_not(p, out))
    return TXF_EPARSE;
  while (is_name(p, "and")) {
    expr *e = enew(p, E_AND, p->tok.off);
    e->a = *out;
    if (lex(p) || parse_not(p, &e->b))
      return TXF_EPARSE;
    *out = e;
  }
  return 0;
}

static int parse_or(parser *p, expr **out) {
  if (parse_and(p, out))
    return TXF_EPARSE;
  while (is_name(p, "or")) {
    expr *e = enew(p, E_OR, p->tok.off);
    e->a = *out;
    if (lex(p) || parse_and(p, &e->b))
      return TXF_EPARSE;
    *out = e;
  }
  return 0;
}

/* expr := or_expr [ 'if' or_expr [ 'else' expr ] ] */
static int parse_expr(parser *p, expr **out) {
  if (++p->depth > TXF_TPL_MAX_NEST)
    return perr(p, p->tok.off, "expression nested too deeply");
  if (parse_or(p, out))
    return TXF_EPARSE;
  if (is_name(p, "if")) {
    expr *e = enew(p, E_COND, p->tok.off);
    e->a = *out;
    if (lex(p) || parse_or(p, &e->b))
      return TXF_EPARSE;
    if (is_name(p, "else")) {
      if (lex(p) || parse_expr(p, &e->c))
        return TXF_EPARSE;
    }
    *out = e;
  }
  p->depth--;
  return 0;
}

/* ---------------------------------------------------------------- statements */

typedef struct {
  const char *name; /* tag that ended the body: "endif", "else", ... */
  size_t off;
} stopper;

static node *nnew(parser *p, nkind k, size_t off) {
  node *n = txf_arena_alloc(p->a, sizeof *n);
  memset(n, 0, sizeof *n);
  n->kind = k;
  n->off = off;
  return n;
}

/* Finish a tag: the current token must be its end. */
static int end_tag(parser *p) {
  if (p->tok.kind != T_END) {
    char b[64];
    return perr(p, p->tok.off, "expected '%s', got %s", tag_end_text(p),
                tok_desc(p, b, sizeof b));
  }
  p->trim_next = p->tok.trim;
  return 0;
}

static int parse_body(parser *p, node **out, const char *const *stops,
                      stopper *st, size_t open_off, const char *open_tag);

static int expect_name_tok(parser *p, const char *what) {
  if (p->tok.kind != T_NAME) {
    char b[64];
    return perr(p, p->tok.off, "expected %s, got %s", what,
                tok_desc(p, b, sizeof b));
  }
  return 0;
}

static int parse_stmt(parser *p, const char *tag, size_t off, node **out) {
  static const char *const if_stops[] = {"elif", "else", "endif", NULL};
  static const char *const else_stops[] = {"endif", NULL};
  static const char *const for_stops[] = {"endfor", NULL};
  static const char *const set_stops[] = {"endset", NULL};
  static const char *const macro_stops[] = {"endmacro", NULL};
  static const char *const docs_stops[] = {"enddocs", NULL};
  stopper st;
  if (!strcmp(tag, "if")) {
    node *n = nnew(p, N_IF, off);
    size_t cap = 0;
    for (;;) {
      expr *c;
      if (parse_expr(p, &c) || end_tag(p))
        return TXF_EPARSE;
      node *body;
      if (parse_body(p, &body, if_stops, &st, off, "if"))
        return TXF_EPARSE;
      if (n->n_conds == cap) {
        cap = cap ? cap * 2 : 4;
        expr **cc = txf_arena_alloc(p->a, cap * sizeof *cc);
        node **bb = txf_arena_alloc(p->a, cap * sizeof *bb);
        if (n->n_conds) {
          memcpy(cc, n->conds, n->n_conds * sizeof *cc);
          memcpy(bb, n->bodies, n->n_conds * sizeof *bb);
        }
        n->conds = cc;
        n->bodies = bb;
      }
      n->conds[n->n_conds] = c;
      n->bodies[n->n_conds++] = body;
      if (!strcmp(st.name, "elif"))
        continue;
      if (!strcmp(st.name, "else")) {
        if (end_tag(p) ||
            parse_body(p, &n->else_body, else_stops, &st, off, "if"))
          return TXF_EPARSE;
      }
      break;
    }
    *out = n;
    return end_tag(p);
  }
  if (!strcmp(tag, "for")) {
    node *n = nnew(p, N_FOR, off);
    if (expect_name_tok(p, "a loop variable"))
      return TXF_EPARSE;
    n->var1 = p->tok.str;
    if (lex(p))
      return TXF_EPARSE;
    if (is_op(p, ",")) {
      if (lex(p) || expect_name_tok(p, "a second loop variable"))
        return TXF_EPARSE;
      n->var2 = p->tok.str;
      if (lex(p))
        return TXF_EPARSE;
    }
    if (!is_name(p, "in")) {
      char b[64];
      return perr(p, p->tok.off, "expected 'in', got %s",
                  tok_desc(p, b, sizeof b));
    }
    if (lex(p) || parse_expr(p, &n->e) || end_tag(p) ||
        parse_body(p, &n->body, for_stops, &st, off, "for"))
      return TXF_EPARSE;
    *out = n;
    return end_tag(p);
  }
  if (!strcmp(tag, "set")) {
    if (expect_name_tok(p, "a variable name"))
      return TXF_EPARSE;
    const char *name = p->tok.str;
    if (lex(p))
      return TXF_EPARSE;
    if (p->tok.kind == T_END) {
      node *n = nnew(p, N_SETBLOCK, off);
      n->var1 = name;
      if (end_tag(p) || parse_body(p, &n->body, set_stops, &st, off, "set"))
        return TXF_EPARSE;
      *out = n;
      return end_tag(p);
    }
    node *n = nnew(p, N_SET, off);
    n->var1 = name;
    if (expect_op(p, "=") || parse_expr(p, &n->e))
      return TXF_EPARSE;
    *out = n;
    return end_tag(p);
  }
  if (!strcmp(tag, "do")) {
    node *n = nnew(p, N_DO, off);
    if (parse_expr(p, &n->e))
      return TXF_EPARSE;
    *out = n;
    return end_tag(p);
  }
  if (!strcmp(tag, "macro")) {
    node *n = nnew(p, N_MACRO, off);
    if (expect_name_tok(p, "a macro name"))
      return TXF_EPARSE;
    n->var1 = p->tok.str;
    if (lex(p) || expect_op(p, "("))
      return TXF_EPARSE;
    size_t cap = 0;
    while (!is_op(p, ")")) {
      if (expect_name_tok(p, "a parameter name"))
        return TXF_EPARSE;
      const char *pn = p->tok.str;
      expr *def = NULL;
      if (lex(p))
        return TXF_EPARSE;
      if (is_op(p, "=")) {
        if (lex(p) || parse_expr(p, &def))
          return TXF_EPARSE;
      }
      if (n->n_params == cap) {
        cap = cap ? cap * 2 : 4;
        const char **pp = txf_arena_alloc(p->a, cap * sizeof *pp);
        expr **dd = txf_arena_alloc(p->a, cap * sizeof *dd);
        if (n->n_params) {
          memcpy(pp, n->params, n->n_params * sizeof *pp);
          memcpy(dd, n->defaults, n->n_params * sizeof *dd);
        }
        n->params = pp;
        n->defaults = dd;
      }
      n->params[n->n_params] = pn;
      n->defaults[n->n_params++] = def;
      if (is_op(p, ","))
        if (lex(p))
          return TXF_EPARSE;
      if (!is_op(p, ")") && p->tok.kind != T_NAME) {
        char b[64];
        return perr(p, p->tok.off, "expected ',' or ')', got %s",
                    tok_desc(p, b, sizeof b));
      }
    }
    if (lex(p) || end_tag(p) ||
        parse_body(p, &n->body, macro_stops, &st, off, "macro"))
      return TXF_EPARSE;
    *out = n;
    return end_tag(p);
  }
  if (!strcmp(tag, "docs")) {
    node *n = nnew(p, N_DOCS, off);
    if (expect_name_tok(p, "a doc name"))
      return TXF_EPARSE;
    n->var1 = p->tok.str;
    if (lex(p) || end_tag(p) ||
        parse_body(p, &n->body, docs_stops, &st, off, "docs"))
      return TXF_EPARSE;
    *out = n;
    return end_tag(p);
  }
  return perr(p, off, "unknown tag '%s'", tag);
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' ||
                                  c == '\r'; }

/* Parse text and tags until one of STOPS (NULL: end of file). On a stop,
 * ST names it and the current token is the first after the tag name. */
static int parse_body(parser *p, node **out, const char *const *stops,
                      stopper *st, size_t open_off, const char *open_tag) {
  if (++p->depth > TXF_TPL_MAX_NEST)
    return perr(p, open_off, "blocks nested too deeply");
  node *head = NULL, **tail = &head;
  const char *s = p->src;
  for (;;) {
    /* text up to the next tag */
    size_t b = p->pos, e = b;
    while (e < p->len && !(s[e] == '{' && e + 1 < p->len &&
                           (s[e + 1] == '{' || s[e + 1] == '%' ||
                            s[e + 1] == '#')))
      e++;
    size_t tb = b, te = e;
    if (p->trim_next)
      while (tb < te && is_ws(s[tb]))
        tb++;
    p->trim_next = 0;
    int at_tag = e < p->len;
    if (at_tag && e + 2 < p->len && s[e + 2] == '-')
      while (te > tb && is_ws(s[te - 1]))
        te--;
    if (te > tb) {
      node *n = nnew(p, N_TEXT, tb);
      n->text = s + tb;
      n->len = te - tb;
      *tail = n;
      tail = &n->next;
    }
    p->pos = e;
    if (!at_tag) {
      if (stops)
        return perr(p, open_off, "unclosed '{%% %s %%}' (no '{%% end%s %%}')",
                    open_tag, open_tag);
      *out = head;
      p->depth--;
      return 0;
    }
    size_t toff = e;
    char kind = s[e + 1];
    p->pos = e + 2;
    if (p->pos < p->len && s[p->pos] == '-')
      p->pos++;
    if (kind == '#') {
      const char *end = NULL;
      for (size_t i = p->pos; i + 1 < p->len; i++)
        if (s[i] == '#' && s[i + 1] == '}') {
          end = s + i;
          break;
        }
      if (!end)
        return perr(p, toff, "unclosed comment");
      p->trim_next = end > s + p->pos && end[-1] == '-';
      p->pos = (size_t)(end - s) + 2;
      continue;
    }
    p->close = kind == '{' ? '}' : '%';
    p->braces = 0;
    if (lex(p))
      return TXF_EPARSE;
    if (kind == '{') {
      if (p->tok.kind == T_END)
        return perr(p, toff, "empty expression");
      node *n = nnew(p, N_OUT, toff);
      if (parse_expr(p, &n->e) || end_tag(p))
        return TXF_EPARSE;
      *tail = n;
      tail = &n->next;
      continue;
    }
    if (p->tok.kind != T_NAME)
      return perr(p, p->tok.off, "expected a tag name");
    const char *tag = p->tok.str;
    size_t tag_off = p->tok.off;
    if (stops)
      for (size_t i = 0; stops[i]; i++)
        if (!strcmp(stops[i], tag)) {
          st->name = stops[i];
          st->off = tag_off;
          *out = head;
          p->depth--;
          return lex(p);
        }
    if (!strncmp(tag, "end", 3) || !strcmp(tag, "else") ||
        !strcmp(tag, "elif")) {
      if (stops)
        return perr(p, tag_off, "unexpected '%s' inside '%s' (expected 'end%s')",
                    tag, open_tag, open_tag);
      return perr(p, tag_off, "unexpected '%s'", tag);
    }
    if (lex(p))
      return TXF_EPARSE;
    node *n = NULL;
    if (parse_stmt(p, tag, toff, &n))
      return TXF_EPARSE;
    *tail = n;
    tail = &n->next;
  }
}

int txf_tpl_parse(txf_tpl **out, txf_arena *arena, const char *file,
                  const char *src, size_t len, txf_err *err) {
  *out = NULL;
  if (len > TXF_TPL_MAX_SRC)
    return txf_err_set(err, TXF_ETOOBIG, "%s: template larger than %u bytes",
                       file, TXF_TPL_MAX_SRC);
  parser p;
  memset(&p, 0, sizeof p);
  p.file = txf_arena_strdup(arena, file);
  p.src = txf_arena_strndup(arena, src, len);
  p.len = len;
  p.a = arena;
  p.err = err;
  for (size_t i = 0; i < len; i++)
    if (!src[i])
      return errat(err, TXF_EPARSE, p.file, p.src, i, "NUL byte in template");
  txf_tpl *t = txf_arena_alloc(arena, sizeof *t);
  t->file = p.file;
  t->src = p.src;
  t->len = len;
  stopper st;
  if (parse_body(&p, &t->body, NULL, &st, 0, NULL))
    return TXF_EPARSE;
  *out = t;
  return 0;
}

/* ---------------------------------------------------------------- env */

typedef struct {
  const char *name;
  const node *n;
} named_node;

struct txf_tpl_env {
  txf_arena arena;
  named_node *macros;
  size_t n_macros, cap_macros;
  const char **doc_names;
  const char **doc_texts;
  size_t n_docs, cap_docs;
};

txf_tpl_env *txf_tpl_env_new(void) {
  txf_tpl_env *e = txf_xcalloc(1, sizeof *e);
  txf_arena_init(&e->arena, 64 * 1024);
  return e;
}

void txf_tpl_env_free(txf_tpl_env *env) {
  if (!env)
    return;
  txf_arena_release(&env->arena);
  free(env->macros);
  free(env->doc_names);
  free(env->doc_texts);
  free(env);
}

txf_arena *txf_tpl_env_arena(txf_tpl_env *env) { return &env->arena; }

static const node *env_macro(const txf_tpl_env *env, const char *name) {
  if (!env)
    return NULL;
  for (size_t i = 0; i < env->n_macros; i++)
    if (!strcmp(env->macros[i].name, name))
      return env->macros[i].n;
  return NULL;
}

const char *txf_tpl_env_doc(const txf_tpl_env *env, const char *name) {
  for (size_t i = 0; env && i < env->n_docs; i++)
    if (!strcmp(env->doc_names[i], name))
      return env->doc_texts[i];
  return NULL;
}

size_t txf_tpl_env_n_macros(const txf_tpl_env *env) {
  return env ? env->n_macros : 0;
}

int txf_tpl_env_add(txf_tpl_env *env, const txf_tpl *tpl, txf_err *err) {
  for (node *n = tpl->body; n; n = n->next) {
    if (n->kind == N_MACRO) {
      if (env_macro(env, n->var1))
        return errat(err, TXF_ECONFIG, tpl->file, tpl->src, n->off,
                     "macro '%s' is defined twice", n->var1);
      if (env->n_macros == env->cap_macros) {
        env->cap_macros = env->cap_macros ? env->cap_macros * 2 : 16;
        env->macros = txf_xrealloc(env->macros,
                                   env->cap_macros * sizeof *env->macros);
      }
      ((node *)n)->tpl = tpl;
      env->macros[env->n_macros].name = n->var1;
      env->macros[env->n_macros++].n = n;
    } else if (n->kind == N_DOCS) {
      if (txf_tpl_env_doc(env, n->var1))
        return errat(err, TXF_ECONFIG, tpl->file, tpl->src, n->off,
                     "doc '%s' is defined twice", n->var1);
      /* A doc block is text; its body is printed without functions. */
      txf_buf b;
      txf_buf_init(&b, TXF_TPL_MAX_OUT);
      for (node *c = n->body; c; c = c->next)
        if (c->kind == N_TEXT)
          (void)txf_buf_append(&b, c->text, c->len);
      const char *txt = b.data ? b.data : "";
      size_t l = b.len;
      while (l && is_ws(txt[l - 1]))
        l--;
      while (l && is_ws(*txt)) {
        txt++;
        l--;
      }
      if (env->n_docs == env->cap_docs) {
        env->cap_docs = env->cap_docs ? env->cap_docs * 2 : 16;
        env->doc_names = txf_xrealloc(env->doc_names,
                                      env->cap_docs * sizeof(char *));
        env->doc_texts = txf_xrealloc(env->doc_texts,
                                      env->cap_docs * sizeof(char *));
      }
      env->doc_names[env->n_docs] = n->var1;
      env->doc_texts[env->n_docs++] = txf_arena_strndup(&env->arena, txt, l);
      txf_buf_release(&b);
    }
  }
  return 0;
}

/* ---------------------------------------------------------------- render */

typedef struct frame frame;
struct frame {
  frame *parent; /* NULL at the template's top (globals are after it) */
  txf_tval *vars; /* DICT */
};

typedef struct {
  const txf_tpl_env *env;
  const txf_tval *globals;
  txf_tpl_host_fn fn;
  void *host;
  txf_arena *a;
  txf_err *err;
  const txf_tpl *tpl; /* template of the code being run (for messages) */
  long steps;
  long iters;
  int call_depth;
  txf_tval *ret;     /* set by return() inside a macro */
  int returning;
  const node **lmacros;   /* macros defined in the rendered template */
  size_t n_lmacros;
} rctx;

static int rerr(rctx *r, size_t off, int code, const char *fmt, ...)
    TXF_PRINTF(4, 5);
static int rerr(rctx *r, size_t off, int code, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return errat(r->err, code, r->tpl->file, r->tpl->src, off, "%s", msg);
}

static int step(rctx *r, size_t off) {
  if (++r->steps > TXF_TPL_MAX_STEPS)
    return rerr(r, off, TXF_ETOOBIG, "template takes more than %d steps",
                TXF_TPL_MAX_STEPS);
  return 0;
}

static txf_tval *lookup(rctx *r, frame *f, const char *name) {
  for (; f; f = f->parent) {
    txf_tval *v = txf_tval_get(f->vars, name);
    if (v)
      return v;
  }
  return txf_tval_get(r->globals, name);
}

static int eval(rctx *r, frame *f, const expr *e, txf_tval **out);
static int render_nodes(rctx *r, frame *f, const node *n, txf_buf *out);

static int defined_or_err(rctx *r, const expr *e, const txf_tval *v) {
  if (v->type != TXF_TV_UNDEF)
    return 0;
  if (e->kind == E_NAME)
    return rerr(r, e->off, TXF_EPARSE, "undefined variable '%s'", e->name);
  if (e->kind == E_ATTR)
    return rerr(r, e->off, TXF_EPARSE, "no attribute '%s'", e->name);
  return rerr(r, e->off, TXF_EPARSE, "undefined value");
}

/* Evaluate E and require a defined value. */
static int eval_def(rctx *r, frame *f, const expr *e, txf_tval **out) {
  if (eval(r, f, e, out))
    return r->err->code;
  return defined_or_err(r, e, *out);
}

static txf_tval *undef(rctx *r) { return tv_new(r->a, TXF_TV_UNDEF); }

static int to_str(rctx *r, size_t off, const txf_tval *v, txf_buf *b) {
  if (txf_tval_print(b, v))
    return rerr(r, off, TXF_ETOOBIG, "output larger than the cap");
  return 0;
}

static txf_tval *stringify(rctx *r, const txf_tval *v) {
  if (v->type == TXF_TV_STR)
    return (txf_tval *)v;
  txf_buf b;
  txf_buf_init(&b, TXF_TPL_MAX_OUT);
  if (txf_tval_print(&b, v))
    txf_buf_reset(&b); /* over the cap: printed as empty */
  txf_tval *s = tv_strn(r->a, b.data ? b.data : "", b.len);
  txf_buf_release(&b);
  return s;
}

static int equal(const txf_tval *a, const txf_tval *b, int depth) {
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
      if (!equal(a->items[i], b->items[i], depth + 1))
        return 0;
    return 1;
  case TXF_TV_DICT:
    if (a->len != b->len)
      return 0;
    for (size_t i = 0; i < a->len; i++) {
      txf_tval *o = txf_tval_get(b, a->keys[i]);
      if (!o || !equal(a->items[i], o, depth + 1))
        return 0;
    }
    return 1;
  default:
    return 0;
  }
}

static int contains(rctx *r, size_t off, const txf_tval *item,
                    const txf_tval *coll, int *out) {
  if (coll->type == TXF_TV_STR) {
    if (item->type != TXF_TV_STR)
      return rerr(r, off, TXF_EPARSE, "'in <string>' needs a string, not %s",
                  type_name(item));
    *out = memmem(coll->s, coll->len, item->s, item->len) != NULL;
    return 0;
  }
  if (coll->type == TXF_TV_LIST) {
    *out = 0;
    for (size_t i = 0; i < coll->len && !*out; i++)
      *out = equal(item, coll->items[i], 0);
    return 0;
  }
  if (coll->type == TXF_TV_DICT) {
    *out = item->type == TXF_TV_STR && txf_tval_get(coll, item->s) != NULL;
    return 0;
  }
  return rerr(r, off, TXF_EPARSE, "'in' needs a string, list or dict, not %s",
              type_name(coll));
}

static int compare(rctx *r, size_t off, int op, const txf_tval *a,
                   const txf_tval *b, int *out) {
  int c;
  if (a->type == TXF_TV_NUM && b->type == TXF_TV_NUM)
    c = a->num < b->num ? -1 : a->num > b->num;
  else if (a->type == TXF_TV_STR && b->type == TXF_TV_STR) {
    c = strcmp(a->s, b->s);
    c = c < 0 ? -1 : c > 0;
  } else
    return rerr(r, off, TXF_EPARSE, "cannot compare %s with %s",
                type_name(a), type_name(b));
  switch (op) {
  case OP_LT: *out = c < 0; break;
  case OP_LE: *out = c <= 0; break;
  case OP_GT: *out = c > 0; break;
  default: *out = c >= 0; break;
  }
  return 0;
}

static int binary(rctx *r, const expr *e, txf_tval *a, txf_tval *b,
                  txf_tval **out) {
  int t = 0;
  switch (e->op) {
  case OP_EQ:
  case OP_NE:
    *out = txf_tval_bool(r->a, equal(a, b, 0) == (e->op == OP_EQ));
    return 0;
  case OP_LT:
  case OP_LE:
  case OP_GT:
  case OP_GE:
    if (compare(r, e->off, e->op, a, b, &t))
      return r->err->code;
    *out = txf_tval_bool(r->a, t);
    return 0;
  case OP_IN:
  case OP_NOTIN:
    if (contains(r, e->off, a, b, &t))
      return r->err->code;
    *out = txf_tval_bool(r->a, e->op == OP_IN ? t : !t);
    return 0;
  case OP_CAT: {
    txf_buf s;
    txf_buf_init(&s, TXF_TPL_MAX_OUT);
    int rc = to_str(r, e->off, a, &s) || to_str(r, e->off, b, &s);
    if (!rc)
      *out = tv_strn(r->a, s.data ? s.data : "", s.len);
    txf_buf_release(&s);
    return rc ? r->err->code : 0;
  }
  case OP_ADD:
    if (a->type == TXF_TV_STR && b->type == TXF_TV_STR) {
      if (a->len + b->len > TXF_TPL_MAX_OUT)
        return rerr(r, e->off, TXF_ETOOBIG, "string too long");
      char *s = txf_arena_alloc(r->a, a->len + b->len + 1);
      memcpy(s, a->s, a->len);
      memcpy(s + a->len, b->s, b->len);
      s[a->len + b->len] = 0;
      txf_tval *v = tv_new(r->a, TXF_TV_STR);
      v->s = s;
      v->len = a->len + b->len;
      *out = v;
      return 0;
    }
    if (a->type == TXF_TV_LIST && b->type == TXF_TV_LIST) {
      txf_tval *v = txf_tval_list(r->a);
      for (size_t i = 0; i < a->len; i++)
        txf_tval_push(r->a, v, a->items[i]);
      for (size_t i = 0; i < b->len; i++)
        txf_tval_push(r->a, v, b->items[i]);
      *out = v;
      return 0;
    }
    break;
  default:
    break;
  }
  if (a->type != TXF_TV_NUM || b->type != TXF_TV_NUM)
    return rerr(r, e->off, TXF_EPARSE,
                "arithmetic needs numbers, got %s and %s", type_name(a),
                type_name(b));
  double x = a->num, y = b->num, z;
  switch (e->op) {
  case OP_ADD: z = x + y; break;
  case OP_SUB: z = x - y; break;
  case OP_MUL: z = x * y; break;
  default:
    if (y == 0)
      return rerr(r, e->off, TXF_EPARSE, "division by zero");
    z = e->op == OP_DIV ? x / y : e->op == OP_FDIV ? floor(x / y)
                                                   : x - y * floor(x / y);
  }
  *out = txf_tval_num(r->a, z);
  return 0;
}

static int want_args(rctx *r, size_t off, const char *what, size_t n,
                     size_t lo, size_t hi) {
  if (n < lo || n > hi)
    return rerr(r, off, TXF_EPARSE, "%s takes %zu%s argument%s, got %zu",
                what, lo, hi > lo ? " or more" : "", hi == 1 ? "" : "s", n);
  return 0;
}

static int want_str(rctx *r, size_t off, const char *what,
                    const txf_tval *v) {
  if (v->type != TXF_TV_STR)
    return rerr(r, off, TXF_EPARSE, "%s needs a string, got %s", what,
                type_name(v));
  return 0;
}

static txf_tval *str_replace(rctx *r, const txf_tval *s, const txf_tval *from,
                             const txf_tval *to) {
  if (!from->len)
    return (txf_tval *)s;
  txf_buf b;
  txf_buf_init(&b, TXF_TPL_MAX_OUT);
  const char *p = s->s, *end = s->s + s->len;
  for (;;) {
    const char *q = memmem(p, (size_t)(end - p), from->s, from->len);
    if (!q) {
      (void)txf_buf_append(&b, p, (size_t)(end - p));
      break;
    }
    (void)txf_buf_append(&b, p, (size_t)(q - p));
    (void)txf_buf_append(&b, to->s, to->len);
    p = q + from->len;
  }
  txf_tval *v = tv_strn(r->a, b.data ? b.data : "", b.len);
  txf_buf_release(&b);
  return v;
}

static txf_tval *str_case(rctx *r, const txf_tval *s, int upper, int title) {
  txf_tval *v = tv_strn(r->a, s->s, s->len);
  char *p = (char *)v->s;
  int start = 1;
  for (size_t i = 0; i < v->len; i++) {
    unsigned char c = (unsigned char)p[i];
    if (title) {
      p[i] = (char)(start ? toupper(c) : tolower(c));
      start = !isalnum(c);
    } else {
      p[i] = (char)(upper ? toupper(c) : tolower(c));
    }
  }
  return v;
}

static txf_tval *str_strip(rctx *r, const txf_tval *s) {
  size_t b = 0, e = s->len;
  while (b < e && isspace((unsigned char)s->s[b]))
    b++;
  while (e > b && isspace((unsigned char)s->s[e - 1]))
    e--;
  return tv_strn(r->a, s->s + b, e - b);
}

static int join(rctx *r, size_t off, const txf_tval *list, const txf_tval *sep,
                txf_tval **out) {
  txf_buf b;
  txf_buf_init(&b, TXF_TPL_MAX_OUT);
  int rc = 0;
  for (size_t i = 0; !rc && i < list->len; i++) {
    if (i && sep)
      rc = to_str(r, off, sep, &b);
    if (!rc)
      rc = to_str(r, off, list->items[i], &b);
  }
  if (!rc)
    *out = tv_strn(r->a, b.data ? b.data : "", b.len);
  txf_buf_release(&b);
  return rc ? r->err->code : 0;
}

static int cmp_vals(const void *a, const void *b) {
  const txf_tval *x = *(txf_tval *const *)a, *y = *(txf_tval *const *)b;
  if (x->type == TXF_TV_NUM && y->type == TXF_TV_NUM)
    return x->num < y->num ? -1 : x->num > y->num;
  if (x->type == TXF_TV_STR && y->type == TXF_TV_STR)
    return strcmp(x->s, y->s);
  return (int)x->type - (int)y->type;
}

static int filter(rctx *r, frame *f, const expr *e, txf_tval **out) {
  txf_tval *v;
  if (eval(r, f, e->a, &v))
    return r->err->code;
  const char *fn = e->name;
  txf_tval *args[4] = {0};
  size_t n = e->n;
  if (n > 3 || e->n_kw)
    return rerr(r, e->off, TXF_EPARSE, "filter '%s': too many arguments", fn);
  for (size_t i = 0; i < n; i++)
    if (eval_def(r, f, e->items[i], &args[i]))
      return r->err->code;
  if (!strcmp(fn, "default") || !strcmp(fn, "d")) {
    if (want_args(r, e->off, "default", n, 0, 2))
      return r->err->code;
    int use_def = v->type == TXF_TV_UNDEF ||
                  (n == 2 && txf_tval_truthy(args[1]) && !txf_tval_truthy(v));
    *out = use_def ? (n ? args[0] : tv_strn(r->a, "", 0)) : v;
    return 0;
  }
  if (defined_or_err(r, e->a, v))
    return r->err->code;
  if (!strcmp(fn, "lower") || !strcmp(fn, "upper") || !strcmp(fn, "title")) {
    if (want_args(r, e->off, fn, n, 0, 0))
      return r->err->code;
    *out = str_case(r, stringify(r, v), fn[0] == 'u', fn[0] == 't');
    return 0;
  }
  if (!strcmp(fn, "trim")) {
    if (want_args(r, e->off, fn, n, 0, 0))
      return r->err->code;
    *out = str_strip(r, stringify(r, v));
    return 0;
  }
  if (!strcmp(fn, "string")) {
    *out = stringify(r, v);
    return 0;
  }
  if (!strcmp(fn, "replace")) {
    if (want_args(r, e->off, "replace", n, 2, 2) ||
        want_str(r, e->off, "replace", args[0]) ||
        want_str(r, e->off, "replace", args[1]))
      return r->err->code;
    *out = str_replace(r, stringify(r, v), args[0], args[1]);
    return 0;
  }
  if (!strcmp(fn, "int") || !strcmp(fn, "float")) {
    double x = 0;
    if (v->type == TXF_TV_NUM)
      x = v->num;
    else if (v->type == TXF_TV_BOOL)
      x = v->b;
    else if (v->type == TXF_TV_STR) {
      char *end;
      errno = 0;
      x = strtod(v->s, &end);
      if (end == v->s || *end)
        x = n ? (args[0]->type == TXF_TV_NUM ? args[0]->num : 0) : 0;
    }
    *out = txf_tval_num(r->a, fn[0] == 'i' ? trunc(x) : x);
    return 0;
  }
  if (!strcmp(fn, "length")) {
    if (v->type != TXF_TV_STR && v->type != TXF_TV_LIST &&
        v->type != TXF_TV_DICT)
      return rerr(r, e->off, TXF_EPARSE, "length of %s", type_name(v));
    *out = txf_tval_num(r->a, (double)v->len);
    return 0;
  }
  if (v->type != TXF_TV_LIST && strcmp(fn, "join") &&
      strcmp(fn, "list"))
    return rerr(r, e->off, TXF_EPARSE, "filter '%s' needs a list, got %s", fn,
                type_name(v));
  if (!strcmp(fn, "join")) {
    if (want_args(r, e->off, "join", n, 0, 1))
      return r->err->code;
    if (v->type != TXF_TV_LIST)
      return rerr(r, e->off, TXF_EPARSE, "join needs a list, got %s",
                  type_name(v));
    return join(r, e->off, v, n ? args[0] : NULL, out);
  }
  if (!strcmp(fn, "list")) {
    if (v->type == TXF_TV_LIST) {
      *out = v;
    } else if (v->type == TXF_TV_DICT) {
      txf_tval *l = txf_tval_list(r->a);
      for (size_t i = 0; i < v->len; i++)
        txf_tval_push(r->a, l, txf_tval_str(r->a, v->keys[i]));
      *out = l;
    } else if (v->type == TXF_TV_STR) {
      txf_tval *l = txf_tval_list(r->a);
      for (size_t i = 0; i < v->len; i++)
        txf_tval_push(r->a, l, tv_strn(r->a, v->s + i, 1));
      *out = l;
    } else {
      return rerr(r, e->off, TXF_EPARSE, "list of %s", type_name(v));
    }
    return 0;
  }
  if (!strcmp(fn, "first") || !strcmp(fn, "last")) {
    *out = v->len ? v->items[fn[0] == 'f' ? 0 : v->len - 1] : undef(r);
    return 0;
  }
  /* sort, unique */
  txf_tval *l = txf_tval_list(r->a);
  for (size_t i = 0; i < v->len; i++) {
    int dup = 0;
    if (fn[0] == 'u')
      for (size_t j = 0; j < l->len && !dup; j++)
        dup = equal(l->items[j], v->items[i], 0);
    if (!dup)
      txf_tval_push(r->a, l, v->items[i]);
  }
  if (fn[0] == 's' && l->len)
    qsort(l->items, l->len, sizeof *l->items, cmp_vals);
  *out = l;
  return 0;
}

static int call_macro(rctx *r, frame *f, const expr *e, const node *m,
                      txf_tval **out);

static int method(rctx *r, frame *f, const expr *e, txf_tval **out) {
  const expr *callee = e->a;
  txf_tval *obj;
  if (eval_def(r, f, callee->a, &obj))
    return r->err->code;
  const char *m = callee->name;
  txf_tval *args[4] = {0};
  if (e->n > 3 || e->n_kw)
    return rerr(r, e->off, TXF_EPARSE, "method '%s': too many arguments", m);
  for (size_t i = 0; i < e->n; i++)
    if (eval_def(r, f, e->items[i], &args[i]))
      return r->err->code;
  size_t n = e->n;
  if (obj->type == TXF_TV_DICT) {
    if (!strcmp(m, "items") || !strcmp(m, "keys") || !strcmp(m, "values")) {
      if (want_args(r, e->off, m, n, 0, 0))
        return r->err->code;
      txf_tval *l = txf_tval_list(r->a);
      for (size_t i = 0; i < obj->len; i++) {
        txf_tval *k = txf_tval_str(r->a, obj->keys[i]);
        if (m[0] == 'k') {
          txf_tval_push(r->a, l, k);
        } else if (m[0] == 'v') {
          txf_tval_push(r->a, l, obj->items[i]);
        } else {
          txf_tval *pair = txf_tval_list(r->a);
          txf_tval_push(r->a, pair, k);
          txf_tval_push(r->a, pair, obj->items[i]);
          txf_tval_push(r->a, l, pair);
        }
      }
      *out = l;
      return 0;
    }
    if (!strcmp(m, "get")) {
      if (want_args(r, e->off, m, n, 1, 2) ||
          want_str(r, e->off, "get", args[0]))
        return r->err->code;
      txf_tval *v = txf_tval_get(obj, args[0]->s);
      *out = v ? v : n > 1 ? args[1] : txf_tval_none(r->a);
      return 0;
    }
  } else if (obj->type == TXF_TV_LIST) {
    if (!strcmp(m, "append")) {
      if (want_args(r, e->off, m, n, 1, 1))
        return r->err->code;
      if (obj->len >= TXF_TPL_MAX_ITER)
        return rerr(r, e->off, TXF_ETOOBIG, "list longer than %d items",
                    TXF_TPL_MAX_ITER);
      txf_tval_push(r->a, obj, args[0]);
      *out = txf_tval_none(r->a);
      return 0;
    }
  } else if (obj->type == TXF_TV_STR) {
    if (!strcmp(m, "upper") || !strcmp(m, "lower") || !strcmp(m, "title")) {
      *out = str_case(r, obj, m[0] == 'u', m[0] == 't');
      return 0;
    }
    if (!strcmp(m, "strip")) {
      *out = str_strip(r, obj);
      return 0;
    }
    if (!strcmp(m, "replace")) {
      if (want_args(r, e->off, m, n, 2, 2) || want_str(r, e->off, m, args[0]) ||
          want_str(r, e->off, m, args[1]))
        return r->err->code;
      *out = str_replace(r, obj, args[0], args[1]);
      return 0;
    }
    if (!strcmp(m, "startswith") || !strcmp(m, "endswith")) {
      if (want_args(r, e->off, m, n, 1, 1) || want_str(r, e->off, m, args[0]))
        return r->err->code;
      const txf_tval *x = args[0];
      int ok = x->len <= obj->len &&
               !memcmp(m[0] == 's' ? obj->s : obj->s + obj->len - x->len,
                       x->s, x->len);
      *out = txf_tval_bool(r->a, ok);
      return 0;
    }
    if (!strcmp(m, "split")) {
      if (want_args(r, e->off, m, n, 0, 1) ||
          (n && want_str(r, e->off, m, args[0])))
        return r->err->code;
      txf_tval *l = txf_tval_list(r->a);
      const char *p = obj->s, *end = obj->s + obj->len;
      if (!n || !args[0]->len) {
        while (p < end) {
          while (p < end && isspace((unsigned char)*p))
            p++;
          const char *q = p;
          while (q < end && !isspace((unsigned char)*q))
            q++;
          if (q > p)
            txf_tval_push(r->a, l, tv_strn(r->a, p, (size_t)(q - p)));
          p = q;
        }
      } else {
        for (;;) {
          const char *q = memmem(p, (size_t)(end - p), args[0]->s,
                                 args[0]->len);
          if (!q) {
            txf_tval_push(r->a, l, tv_strn(r->a, p, (size_t)(end - p)));
            break;
          }
          txf_tval_push(r->a, l, tv_strn(r->a, p, (size_t)(q - p)));
          p = q + args[0]->len;
        }
      }
      *out = l;
      return 0;
    }
  }
  return rerr(r, callee->off, TXF_EPARSE, "unknown method '%s' of %s", m,
              type_name(obj));
}

static int call(rctx *r, frame *f, const expr *e, txf_tval **out) {
  if (e->a->kind == E_ATTR)
    return method(r, f, e, out);
  const char *name = e->a->name;
  /* macros defined in this template, then the project's */
  for (size_t i = r->n_lmacros; i-- > 0;)
    if (!strcmp(r->lmacros[i]->var1, name))
      return call_macro(r, f, e, r->lmacros[i], out);
  const node *m = env_macro(r->env, name);
  if (m)
    return call_macro(r, f, e, m, out);
  txf_tpl_args args;
  memset(&args, 0, sizeof args);
  args.arena = r->a;
  args.n = e->n;
  args.v = txf_arena_alloc(r->a, (e->n + 1) * sizeof *args.v);
  for (size_t i = 0; i < e->n; i++)
    if (eval_def(r, f, e->items[i], &args.v[i]))
      return r->err->code;
  args.n_kw = e->n_kw;
  args.kw_names = e->kw_names;
  args.kw = txf_arena_alloc(r->a, (e->n_kw + 1) * sizeof *args.kw);
  for (size_t i = 0; i < e->n_kw; i++)
    if (eval_def(r, f, e->kw[i], &args.kw[i]))
      return r->err->code;
  if (!strcmp(name, "return")) {
    if (want_args(r, e->off, "return", e->n, 1, 1))
      return r->err->code;
    if (r->call_depth == 0)
      return rerr(r, e->off, TXF_EPARSE, "return() outside a macro");
    r->ret = args.v[0];
    r->returning = 1;
    *out = tv_strn(r->a, "", 0);
    return 0;
  }
  if (!strcmp(name, "range")) {
    if (want_args(r, e->off, "range", e->n, 1, 3))
      return r->err->code;
    double a[3] = {0, 0, 1};
    for (size_t i = 0; i < e->n; i++) {
      if (args.v[i]->type != TXF_TV_NUM)
        return rerr(r, e->off, TXF_EPARSE, "range needs numbers");
      a[i] = args.v[i]->num;
    }
    if (e->n == 1) {
      a[1] = a[0];
      a[0] = 0;
    }
    if (a[2] == 0)
      return rerr(r, e->off, TXF_EPARSE, "range step must not be zero");
    double count = ceil((a[1] - a[0]) / a[2]);
    if (count > TXF_TPL_MAX_ITER)
      return rerr(r, e->off, TXF_ETOOBIG, "range larger than %d items",
                  TXF_TPL_MAX_ITER);
    txf_tval *l = txf_tval_list(r->a);
    for (double x = a[0]; a[2] > 0 ? x < a[1] : x > a[1]; x += a[2])
      txf_tval_push(r->a, l, txf_tval_num(r->a, x));
    *out = l;
    return 0;
  }
  txf_err herr;
  txf_err_clear(&herr);
  int rc = r->fn ? r->fn(r->host, name, &args, out, &herr) : TXF_ENOTFOUND;
  if (rc == TXF_ENOTFOUND && !herr.code)
    return rerr(r, e->a->off, TXF_EPARSE, "unknown function '%s'", name);
  if (rc)
    return rerr(r, e->a->off, rc, "%s", herr.msg);
  return 0;
}

static int call_macro(rctx *r, frame *f, const expr *e, const node *m,
                      txf_tval **out) {
  if (r->call_depth >= TXF_TPL_MAX_CALL_DEPTH)
    return rerr(r, e->off, TXF_ETOOBIG, "macro calls nested deeper than %d",
                TXF_TPL_MAX_CALL_DEPTH);
  if (e->n > m->n_params)
    return rerr(r, e->off, TXF_EPARSE, "macro '%s' takes %zu arguments, got %zu",
                m->var1, m->n_params, e->n);
  frame mf = {NULL, txf_tval_dict(r->a)};
  for (size_t i = 0; i < e->n; i++) {
    txf_tval *v;
    if (eval_def(r, f, e->items[i], &v))
      return r->err->code;
    txf_tval_set(r->a, mf.vars, m->params[i], v);
  }
  for (size_t k = 0; k < e->n_kw; k++) {
    size_t i = 0;
    while (i < m->n_params && strcmp(m->params[i], e->kw_names[k]))
      i++;
    if (i == m->n_params)
      return rerr(r, e->kw[k]->off, TXF_EPARSE,
                  "macro '%s' has no parameter '%s'", m->var1,
                  e->kw_names[k]);
    txf_tval *v;
    if (eval_def(r, f, e->kw[k], &v))
      return r->err->code;
    txf_tval_set(r->a, mf.vars, m->params[i], v);
  }
  const txf_tpl *saved_tpl = r->tpl;
  r->tpl = m->tpl ? m->tpl : r->tpl;
  for (size_t i = 0; i < m->n_params; i++) {
    if (txf_tval_get(mf.vars, m->params[i]))
      continue;
    if (!m->defaults[i]) {
      r->tpl = saved_tpl;
      return rerr(r, e->off, TXF_EPARSE, "macro '%s': missing argument '%s'",
                  m->var1, m->params[i]);
    }
    txf_tval *v;
    if (eval_def(r, &mf, m->defaults[i], &v))
      return r->err->code;
    txf_tval_set(r->a, mf.vars, m->params[i], v);
  }
  txf_buf b;
  txf_buf_init(&b, TXF_TPL_MAX_OUT);
  r->call_depth++;
  txf_tval *saved_ret = r->ret;
  r->ret = NULL;
  int rc = render_nodes(r, &mf, m->body, &b);
  r->call_depth--;
  r->tpl = saved_tpl;
  if (!rc)
    *out = r->ret ? r->ret : tv_strn(r->a, b.data ? b.data : "", b.len);
  r->ret = saved_ret;
  r->returning = 0;
  txf_buf_release(&b);
  return rc;
}

static int eval(rctx *r, frame *f, const expr *e, txf_tval **out) {
  if (step(r, e->off))
    return r->err->code;
  txf_tval *a, *b;
  switch (e->kind) {
  case E_LIT:
    *out = e->lit;
    return 0;
  case E_NAME: {
    txf_tval *v = lookup(r, f, e->name);
    *out = v ? v : undef(r);
    return 0;
  }
  case E_ATTR: {
    if (eval_def(r, f, e->a, &a))
      return r->err->code;
    txf_tval *v = a->type == TXF_TV_DICT ? txf_tval_get(a, e->name) : NULL;
    *out = v ? v : undef(r);
    return 0;
  }
  case E_INDEX:
    if (eval_def(r, f, e->a, &a) || eval_def(r, f, e->b, &b))
      return r->err->code;
    if (a->type == TXF_TV_DICT && b->type == TXF_TV_STR) {
      txf_tval *v = txf_tval_get(a, b->s);
      *out = v ? v : undef(r);
      return 0;
    }
    if ((a->type == TXF_TV_LIST || a->type == TXF_TV_STR) &&
        b->type == TXF_TV_NUM) {
      double i = b->num < 0 ? b->num + (double)a->len : b->num;
      if (i < 0 || i >= (double)a->len || i != floor(i))
        return rerr(r, e->off, TXF_EPARSE, "index %g out of range",
                    b->num);
      *out = a->type == TXF_TV_LIST ? a->items[(size_t)i]
                                    : tv_strn(r->a, a->s + (size_t)i, 1);
      return 0;
    }
    return rerr(r, e->off, TXF_EPARSE, "cannot index %s with %s",
                type_name(a), type_name(b));
  case E_CALL:
    return call(r, f, e, out);
  case E_FILTER:
    return filter(r, f, e, out);
  case E_NEG:
    if (eval_def(r, f, e->a, &a))
      return r->err->code;
    if (a->type != TXF_TV_NUM)
      return rerr(r, e->off, TXF_EPARSE, "cannot negate %s", type_name(a));
    *out = txf_tval_num(r->a, -a->num);
    return 0;
  case E_NOT:
    if (eval_def(r, f, e->a, &a))
      return r->err->code;
    *out = txf_tval_bool(r->a, !txf_tval_truthy(a));
    return 0;
  case E_AND:
  case E_OR:
    if (eval_def(r, f, e->a, &a))
      return r->err->code;
    if (txf_tval_truthy(a) == (e->kind == E_OR)) {
      *out = a;
      return 0;
    }
    return eval_def(r, f, e->b, out);
  case E_COND:
    if (eval_def(r, f, e->b, &b))
      return r->err->code;
    if (txf_tval_truthy(b))
      return eval_def(r, f, e->a, out);
    if (e->c)
      return eval_def(r, f, e->c, out);
    *out = tv_strn(r->a, "", 0);
    return 0;
  case E_BIN:
    if (eval_def(r, f, e->a, &a) || eval_def(r, f, e->b, &b))
      return r->err->code;
    return binary(r, e, a, b, out);
  case E_LIST: {
    txf_tval *l = txf_tval_list(r->a);
    for (size_t i = 0; i < e->n; i++) {
      if (eval_def(r, f, e->items[i], &a))
        return r->err->code;
      txf_tval_push(r->a, l, a);
    }
    *out = l;
    return 0;
  }
  case E_DICT: {
    txf_tval *d = txf_tval_dict(r->a);
    for (size_t i = 0; i < e->n; i++) {
      if (eval_def(r, f, e->keys[i], &a) || eval_def(r, f, e->items[i], &b))
        return r->err->code;
      if (a->type != TXF_TV_STR)
        return rerr(r, e->keys[i]->off, TXF_EPARSE,
                    "dict keys must be strings, got %s", type_name(a));
      txf_tval_set(r->a, d, a->s, b);
    }
    *out = d;
    return 0;
  }
  case E_TEST: {
    if (eval(r, f, e->a, &a))
      return r->err->code;
    int t = 0;
    const char *n = e->name;
    if (!strcmp(n, "defined") || !strcmp(n, "undefined")) {
      t = (a->type != TXF_TV_UNDEF) == (n[0] == 'd');
    } else {
      if (defined_or_err(r, e->a, a))
        return r->err->code;
      t = !strcmp(n, "none")      ? a->type == TXF_TV_NONE
          : !strcmp(n, "string")  ? a->type == TXF_TV_STR
          : !strcmp(n, "number")  ? a->type == TXF_TV_NUM
          : !strcmp(n, "mapping") ? a->type == TXF_TV_DICT
                                  : a->type == TXF_TV_LIST;
    }
    *out = txf_tval_bool(r->a, e->negate ? !t : t);
    return 0;
  }
  }
  return rerr(r, e->off, TXF_EINTERNAL, "bad expression");
}

static int emit(rctx *r, size_t off, txf_buf *out, const char *s, size_t n) {
  if (out->len + n > TXF_TPL_MAX_OUT || txf_buf_append(out, s, n))
    return rerr(r, off, TXF_ETOOBIG, "rendered output larger than %u bytes",
                TXF_TPL_MAX_OUT);
  return 0;
}

static int render_for(rctx *r, frame *f, const node *n, txf_buf *out) {
  txf_tval *it;
  if (eval_def(r, f, n->e, &it))
    return r->err->code;
  txf_tval *items = it;
  if (it->type == TXF_TV_DICT) {
    items = txf_tval_list(r->a);
    for (size_t i = 0; i < it->len; i++) {
      if (n->var2) {
        txf_tval *pair = txf_tval_list(r->a);
        txf_tval_push(r->a, pair, txf_tval_str(r->a, it->keys[i]));
        txf_tval_push(r->a, pair, it->items[i]);
        txf_tval_push(r->a, items, pair);
      } else {
        txf_tval_push(r->a, items, txf_tval_str(r->a, it->keys[i]));
      }
    }
  } else if (it->type == TXF_TV_STR) {
    items = txf_tval_list(r->a);
    for (size_t i = 0; i < it->len; i++)
      txf_tval_push(r->a, items, tv_strn(r->a, it->s + i, 1));
  } else if (it->type != TXF_TV_LIST) {
    return rerr(r, n->e->off, TXF_EPARSE, "cannot loop over %s",
                type_name(it));
  }
  size_t len = items->len;
  for (size_t i = 0; i < len && !r->returning; i++) {
    if (++r->iters > TXF_TPL_MAX_ITER)
      return rerr(r, n->off, TXF_ETOOBIG, "more than %d loop iterations",
                  TXF_TPL_MAX_ITER);
    frame lf = {f, txf_tval_dict(r->a)};
    txf_tval *item = items->items[i];
    if (n->var2) {
      if (item->type != TXF_TV_LIST || item->len != 2)
        return rerr(r, n->off, TXF_EPARSE,
                    "cannot unpack %s into two loop variables",
                    type_name(item));
      txf_tval_set(r->a, lf.vars, n->var1, item->items[0]);
      txf_tval_set(r->a, lf.vars, n->var2, item->items[1]);
    } else {
      txf_tval_set(r->a, lf.vars, n->var1, item);
    }
    txf_tval *loop = txf_tval_dict(r->a);
    txf_tval_set(r->a, loop, "index", txf_tval_num(r->a, (double)i + 1));
    txf_tval_set(r->a, loop, "index0", txf_tval_num(r->a, (double)i));
    txf_tval_set(r->a, loop, "revindex",
                 txf_tval_num(r->a, (double)(len - i)));
    txf_tval_set(r->a, loop, "first", txf_tval_bool(r->a, i == 0));
    txf_tval_set(r->a, loop, "last", txf_tval_bool(r->a, i + 1 == len));
    txf_tval_set(r->a, loop, "length", txf_tval_num(r->a, (double)len));
    txf_tval_set(r->a, lf.vars, "loop", loop);
    int rc = render_nodes(r, &lf, n->body, out);
    if (rc)
      return rc;
  }
  return 0;
}

static int render_nodes(rctx *r, frame *f, const node *n, txf_buf *out) {
  for (; n && !r->returning; n = n->next) {
    if (step(r, n->off))
      return r->err->code;
    txf_tval *v;
    int rc = 0;
    switch (n->kind) {
    case N_TEXT:
      rc = emit(r, n->off, out, n->text, n->len);
      break;
    case N_OUT: {
      if (eval_def(r, f, n->e, &v))
        return r->err->code;
      size_t before = out->len;
      if (txf_tval_print(out, v) || out->len > TXF_TPL_MAX_OUT) {
        out->len = before;
        if (out->data)
          out->data[before] = 0;
        return rerr(r, n->off, TXF_ETOOBIG,
                    "rendered output larger than %u bytes", TXF_TPL_MAX_OUT);
      }
      break;
    }
    case N_IF: {
      const node *body = n->else_body;
      for (size_t i = 0; i < n->n_conds; i++) {
        if (eval_def(r, f, n->conds[i], &v))
          return r->err->code;
        if (txf_tval_truthy(v)) {
          body = n->bodies[i];
          break;
        }
      }
      rc = render_nodes(r, f, body, out);
      break;
    }
    case N_FOR:
      rc = render_for(r, f, n, out);
      break;
    case N_SET:
      if (eval_def(r, f, n->e, &v))
        return r->err->code;
      txf_tval_set(r->a, f->vars, n->var1, v);
      break;
    case N_SETBLOCK: {
      txf_buf b;
      txf_buf_init(&b, TXF_TPL_MAX_OUT);
      rc = render_nodes(r, f, n->body, &b);
      if (!rc)
        txf_tval_set(r->a, f->vars, n->var1,
                     tv_strn(r->a, b.data ? b.data : "", b.len));
      txf_buf_release(&b);
      break;
    }
    case N_DO:
      if (eval_def(r, f, n->e, &v))
        return r->err->code;
      break;
    case N_MACRO: {
      if (r->call_depth)
        return rerr(r, n->off, TXF_EPARSE, "macro defined inside a macro");
      const node **mm = txf_arena_alloc(r->a, (r->n_lmacros + 1) * sizeof *mm);
      if (r->n_lmacros)
        memcpy(mm, r->lmacros, r->n_lmacros * sizeof *mm);
      ((node *)n)->tpl = r->tpl;
      mm[r->n_lmacros++] = n;
      r->lmacros = mm;
      break;
    }
    case N_DOCS:
      break; /* collected by txf_tpl_env_add; prints nothing */
    }
    if (rc)
      return rc;
  }
  return 0;
}

int txf_tpl_render(const txf_tpl *tpl, const txf_tpl_env *env,
                   const txf_tval *globals, txf_tpl_host_fn fn, void *host,
                   txf_arena *arena, txf_buf *out, txf_err *err) {
  rctx r;
  memset(&r, 0, sizeof r);
  r.env = env;
  r.globals = globals;
  r.fn = fn;
  r.host = host;
  r.a = arena;
  r.err = err;
  r.tpl = tpl;
  frame top = {NULL, txf_tval_dict(arena)};
  return render_nodes(&r, &top, tpl->body, out);
}
