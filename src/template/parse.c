/* Parsing a template: the lexer and a recursive-descent parser from
 * source to the tree of internal.h, with "file:line:column" errors. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "template/internal.h"

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

int txf_tpl_errat(txf_err *err, int code, const char *file, const char *src,
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
  return txf_tpl_errat(p->err, TXF_EPARSE, p->file, p->src, off, "%s", msg);
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
      /* f(...)(...) calls what f returned: adapter.dispatch('m')(x) */
      if ((*out)->kind != E_NAME && (*out)->kind != E_ATTR &&
          (*out)->kind != E_CALL)
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
    if (!txf_tpl_filter_known(p->tok.str))
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

/* The binary operators of one precedence level: token and OP_*; a list
 * ends with {NULL, 0}. */
typedef struct op_token {
  const char *tok;
  binop op;
} op_token;

static const op_token mul_ops[] = {
    {"*", OP_MUL}, {"/", OP_DIV}, {"//", OP_FDIV}, {"%", OP_MOD}, {NULL, 0}};
static const op_token add_ops[] = {
    {"+", OP_ADD}, {"-", OP_SUB}, {"~", OP_CAT}, {NULL, 0}};
static const op_token cmp_ops[] = {{"==", OP_EQ}, {"!=", OP_NE}, {"<", OP_LT},
                                {"<=", OP_LE}, {">", OP_GT},  {">=", OP_GE},
                                {NULL, 0}};

/* The OP_* of the current token in OPS, or -1. */
static int op_of(const parser *p, const op_token *ops) {
  for (; ops->tok; ops++)
    if (is_op(p, ops->tok))
      return ops->op;
  return -1;
}

typedef int (*parse_fn)(parser *p, expr **out);

/* NEXT's operands joined, left to right, by the operators OPS. */
static int parse_binary(parser *p, const op_token *ops, parse_fn next,
                        expr **out) {
  if (next(p, out))
    return TXF_EPARSE;
  for (;;) {
    int op = op_of(p, ops);
    if (op < 0)
      return 0;
    expr *e = enew(p, E_BIN, p->tok.off);
    e->op = op;
    e->a = *out;
    if (lex(p) || next(p, &e->b))
      return TXF_EPARSE;
    *out = e;
  }
}

static int parse_mul(parser *p, expr **out) {
  return parse_binary(p, mul_ops, parse_unary, out);
}

static int parse_add(parser *p, expr **out) {
  return parse_binary(p, add_ops, parse_mul, out);
}

static int parse_cmp(parser *p, expr **out) {
  if (parse_add(p, out))
    return TXF_EPARSE;
  for (;;) {
    int op = op_of(p, cmp_ops); /* or one of the words below */
    size_t off = p->tok.off;
    if (is_name(p, "in"))
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
      if (!txf_tpl_test_known(p->tok.str))
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

/* NEXT's operands joined, left to right, by the word WORD into KIND. */
static int parse_logic(parser *p, const char *word, ekind kind, parse_fn next,
                       expr **out) {
  if (next(p, out))
    return TXF_EPARSE;
  while (is_name(p, word)) {
    expr *e = enew(p, kind, p->tok.off);
    e->a = *out;
    if (lex(p) || next(p, &e->b))
      return TXF_EPARSE;
    *out = e;
  }
  return 0;
}

static int parse_and(parser *p, expr **out) {
  return parse_logic(p, "and", E_AND, parse_not, out);
}

static int parse_or(parser *p, expr **out) {
  return parse_logic(p, "or", E_OR, parse_and, out);
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
        return perr(p, tag_off,
                    "unexpected '%s' inside '%s' (expected 'end%s')", tag,
                    open_tag, open_tag);
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
      return txf_tpl_errat(err, TXF_EPARSE, p.file, p.src, i,
                           "NUL byte in template");
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
