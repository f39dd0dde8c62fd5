/* The macros and doc blocks of a project's parsed files, shared by
 * renders (txf_tpl_env). */
#include <stdlib.h>
#include <string.h>

#include "template/internal.h"

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' ||
                                  c == '\r'; }

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
  TXF_FREE_ALL(env->macros, env->doc_names, env->doc_texts, env);
}

txf_arena *txf_tpl_env_arena(txf_tpl_env *env) { return &env->arena; }

const node *txf_tpl_env_macro(const txf_tpl_env *env, const char *name) {
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

int txf_tpl_env_has_macro(const txf_tpl_env *env, const char *name) {
  return txf_tpl_env_macro(env, name) != NULL;
}

size_t txf_tpl_env_n_macros(const txf_tpl_env *env) {
  return env ? env->n_macros : 0;
}

static void put_macro(txf_tpl_env *env, const char *name, const node *n) {
  if (env->n_macros == env->cap_macros) {
    env->cap_macros = env->cap_macros ? env->cap_macros * 2 : 16;
    env->macros =
        txf_xrealloc(env->macros, env->cap_macros * sizeof *env->macros);
  }
  env->macros[env->n_macros].name = name;
  env->macros[env->n_macros++].n = n;
}

int txf_tpl_env_add(txf_tpl_env *env, const txf_tpl *tpl, txf_err *err) {
  return txf_tpl_env_add_ns(env, tpl, NULL, 0, err);
}

int txf_tpl_env_add_ns(txf_tpl_env *env, const txf_tpl *tpl, const char *ns,
                       int shared, txf_err *err) {
  for (node *n = tpl->body; n; n = n->next) {
    if (n->kind == N_MACRO) {
      const char *q = NULL;
      if (ns) {
        char *t = txf_xasprintf("%s.%s", ns, n->var1);
        q = txf_arena_strdup(&env->arena, t);
        free(t);
      }
      if ((!shared && txf_tpl_env_macro(env, n->var1)) ||
          (q && txf_tpl_env_macro(env, q)))
        return txf_tpl_errat(err, TXF_ECONFIG, tpl->file, tpl->src, n->off,
                             "macro '%s' is defined twice", q ? q : n->var1);
      ((node *)n)->tpl = tpl;
      if (!shared || !txf_tpl_env_macro(env, n->var1))
        put_macro(env, n->var1, n);
      if (q)
        put_macro(env, q, n);
    } else if (n->kind == N_DOCS) {
      if (shared && txf_tpl_env_doc(env, n->var1))
        continue; /* a package's doc: the root project's wins */
      if (txf_tpl_env_doc(env, n->var1))
        return txf_tpl_errat(err, TXF_ECONFIG, tpl->file, tpl->src, n->off,
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
