#include "../../lib/unit.h"
#include "template/template.h"
#include <stdlib.h>

/* A host with three functions: ref('x') -> "main"."x", var('k', d),
 * env_var. */
static int test_host(void *h, const char *name, const txf_tpl_args *a,
                     txf_tval **out, txf_err *err) {
  (void)h;
  if (!strcmp(name, "ref")) {
    if (a->n != 1 || a->v[0]->type != TXF_TV_STR)
      return txf_err_set(err, TXF_EPARSE, "ref() takes one string");
    char *s = txf_xasprintf("\"main\".\"%s\"", a->v[0]->s);
    *out = txf_tval_str(a->arena, s);
    free(s);
    return 0;
  }
  if (!strcmp(name, "var")) {
    if (a->n == 2) {
      *out = a->v[1];
      return 0;
    }
    return txf_err_set(err, TXF_ECONFIG, "required var '%s' is not set",
                       a->n ? a->v[0]->s : "?");
  }
  if (!strcmp(name, "env_var"))
    return txf_tpl_env_var(a, out, err);
  if (!strcmp(name, "adapter.dispatch")) { /* default__NAME, unchecked */
    char *s = txf_xasprintf("default__%s", a->n ? a->v[0]->s : "?");
    *out = txf_tval_macro(a->arena, s);
    free(s);
    return 0;
  }
  return TXF_ENOTFOUND;
}

/* Render SRC with ENV (may be NULL); returns malloc'd output, or NULL with
 * ERR set. */
static char *render_env(const char *src, txf_tpl_env *env, txf_err *err) {
  txf_arena a;
  txf_arena_init(&a, 4096);
  txf_tpl *t;
  txf_buf out;
  txf_buf_init(&out, 0);
  int rc = txf_tpl_parse(&t, &a, "m.sql", src, strlen(src), err);
  if (!rc)
    rc = txf_tpl_render(t, env, NULL, test_host, NULL, &a, &out, err);
  txf_arena_release(&a);
  if (rc) {
    txf_buf_release(&out);
    return NULL;
  }
  return txf_buf_take(&out, NULL);
}

static char *render(const char *src, txf_err *err) {
  return render_env(src, NULL, err);
}

static void expect_out(const char *src, const char *want) {
  txf_err err;
  txf_err_clear(&err);
  char *got = render(src, &err);
  if (!got)
    unit_fail(__FILE__, __LINE__, "render '%s' failed: %s", src, err.msg);
  if (strcmp(got, want))
    unit_fail(__FILE__, __LINE__, "render '%s': got \"%s\", want \"%s\"", src,
              got, want);
  free(got);
}

static void expect_err(const char *src, const char *want) {
  txf_err err;
  txf_err_clear(&err);
  char *got = render(src, &err);
  if (got)
    unit_fail(__FILE__, __LINE__, "render '%s' should fail, got \"%s\"", src,
              got);
  if (!strstr(err.msg, want))
    unit_fail(__FILE__, __LINE__, "render '%s': error \"%s\" lacks \"%s\"",
              src, err.msg, want);
}

TEST(tpl_text_and_expressions) {
  expect_out("select 1", "select 1");
  expect_out("{{ 1 + 2 * 3 }}", "7");
  expect_out("{{ (1 + 2) * 3 }}", "9");
  expect_out("{{ 7 / 2 }} {{ 7 // 2 }} {{ 7 % 3 }} {{ -4 }}", "3.5 3 1 -4");
  expect_out("{{ 'a' ~ 1 ~ \"b\" }}", "a1b");
  expect_out("{{ 'x' + 'y' }}", "xy");
  expect_out("{{ [1, 'a', none, true] }}", "[1, 'a', None, True]");
  expect_out("{{ {'k': 1}['k'] }}", "1");
  expect_out("{{ [10, 20, 30][-1] }}", "30");
  expect_out("{{ 'yes' if 1 < 2 else 'no' }}", "yes");
  expect_out("{{ 'it\\'s' }}", "it's");
  expect_out("{{ ref('orders') }}", "\"main\".\"orders\"");
  expect_out("{{ var('x', 'dflt') }}", "dflt");
  expect_out("{{ 3 in [1, 2, 3] }} {{ 'b' in 'abc' }} {{ 'k' in {'k': 1} }} "
             "{{ 4 not in [1] }}",
             "True True True True");
}

TEST(tpl_set_for_loop_vars) {
  expect_out("{% set xs = ['a', 'b', 'c'] %}"
             "{% for x in xs %}{{ loop.index }}{{ x }}"
             "{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %}"
             "{% if not loop.last %},{% endif %}{% endfor %}",
             "1aF,2b,3cL");
  expect_out("{% set d = {'a': 1, 'b': 2} %}"
             "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
             "a=1;b=2;");
  expect_out("{% for k in {'x': 1} %}{{ k }}{% endfor %}", "x");
  expect_out("{% for i in range(3) %}{{ i }}{% endfor %}", "012");
  /* set inside a loop does not leak out */
  expect_out("{% set n = 0 %}{% for i in [1,2] %}{% set n = i %}{% endfor %}"
             "{{ n }}",
             "0");
  expect_out("{% set q %}select {{ 1 }}{% endset %}[{{ q }}]", "[select 1]");
  expect_out("{% set l = [] %}{% do l.append(5) %}{{ l }}", "[5]");
}

TEST(tpl_if_elif_else_and_logic) {
  const char *t = "{% if x == 1 %}one{% elif x == 2 and not y %}two"
                  "{% elif x >= 3 or y %}many{% else %}none{% endif %}";
  char src[512];
  snprintf(src, sizeof src, "{%% set x = 1 %%}{%% set y = false %%}%s", t);
  expect_out(src, "one");
  snprintf(src, sizeof src, "{%% set x = 2 %%}{%% set y = false %%}%s", t);
  expect_out(src, "two");
  snprintf(src, sizeof src, "{%% set x = 2 %%}{%% set y = true %%}%s", t);
  expect_out(src, "many");
  snprintf(src, sizeof src, "{%% set x = 0 %%}{%% set y = '' %%}%s", t);
  expect_out(src, "none");
  expect_out("{% if u is defined %}d{% else %}u{% endif %}", "u");
  expect_out("{% if none is none %}n{% endif %}", "n");
  expect_out("{% if 'a' != 'b' and 2 > 1 and 1 <= 1 %}ok{% endif %}", "ok");
}

TEST(tpl_whitespace_control) {
  expect_out("a  {{- 'b' -}}  c", "abc");
  expect_out("x\n  {%- if true -%}\n  y\n  {%- endif -%}\n z", "xyz");
  expect_out("a {#- comment -#} b", "ab");
  expect_out("a {# comment #} b", "a  b");
  expect_out("{% if true %}\nkeep\n{% endif %}", "\nkeep\n");
}

TEST(tpl_filters_and_methods) {
  expect_out("{{ 'AbC' | lower }} {{ 'abc' | upper }}", "abc ABC");
  expect_out("{{ ['a', 'b'] | join(', ') }}", "a, b");
  expect_out("{{ 'a-b-c' | replace('-', '_') }}", "a_b_c");
  expect_out("{{ missing | default('d') }}", "d");
  expect_out("{{ '' | default('d', true) }}", "d");
  expect_out("{{ [3, 1, 2] | sort | join }}", "123");
  expect_out("{{ [1, 2] | length }} {{ ' x ' | trim }}", "2 x");
  expect_out("{{ 'a,b'.split(',') }} {{ 'Ab'.upper() }}", "['a', 'b'] AB");
  expect_out("{{ {'a': 1}.get('b', 7) }}", "7");
  expect_out("{{ 'abc'.startswith('ab') }}", "True");
}

TEST(tpl_macros_defaults_kwargs_return) {
  expect_out("{% macro money(col, scale=2) %}round({{ col }}, {{ scale }})"
             "{% endmacro %}{{ money('amt') }} {{ money('x', scale=0) }}",
             "round(amt, 2) round(x, 0)");
  expect_out("{% macro pick(xs) %}{{ return(xs[0]) }}{% endmacro %}"
             "{% set v = pick([4, 5]) %}{{ v + 1 }}",
             "5");
  /* project macros live in an env */
  txf_tpl_env *env = txf_tpl_env_new();
  txf_tpl *t;
  txf_err err;
  const char *lib = "{% macro cents(c) -%}({{ c }} / 100.0){%- endmacro %}\n"
                    "{% docs orders %}\nOne row per order.\n{% enddocs %}";
  ASSERT_OK(txf_tpl_parse(&t, txf_tpl_env_arena(env), "macros/m.sql", lib,
                          strlen(lib), &err),
            &err);
  ASSERT_OK(txf_tpl_env_add(env, t, &err), &err);
  ASSERT_EQ_I64(txf_tpl_env_n_macros(env), 1);
  ASSERT_EQ_STR(txf_tpl_env_doc(env, "orders"), "One row per order.");
  char *out = render_env("select {{ cents('amount') }}", env, &err);
  ASSERT_EQ_STR(out, "select (amount / 100.0)");
  free(out);
  /* a second definition of the same macro is refused */
  ASSERT(txf_tpl_env_add(env, t, &err) == TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "macros/m.sql:1:1: macro 'cents' is defined twice");
  txf_tpl_env_free(env);
}

TEST(tpl_macro_values_and_qualified_host_calls) {
  txf_tpl_env *env = txf_tpl_env_new();
  txf_tpl *t;
  txf_err err;
  const char *lib = "{% macro default__cents(c) -%}({{ c }} / 100.0)"
                    "{%- endmacro %}"
                    "{% macro cents(c) -%}"
                    "{{ return(adapter.dispatch('cents')(c)) }}"
                    "{%- endmacro %}";
  ASSERT_OK(txf_tpl_parse(&t, txf_tpl_env_arena(env), "macros/m.sql", lib,
                          strlen(lib), &err),
            &err);
  ASSERT_OK(txf_tpl_env_add(env, t, &err), &err);
  ASSERT(txf_tpl_env_has_macro(env, "cents"));
  ASSERT(!txf_tpl_env_has_macro(env, "redshift__cents"));
  /* OBJ.NAME(...) on a name that is no variable goes to the host; what it
   * returns is called with the next arguments */
  const char *ok[][2] = {
      {"{{ cents('amt') }}", "(amt / 100.0)"},
      {"{{ adapter.dispatch('cents')('x') }}", "(x / 100.0)"},
      {"{% set impl = adapter.dispatch('cents') %}{{ impl(c='y') }}",
       "(y / 100.0)"},
      {"{% if adapter.dispatch('cents') %}t{% endif %}", "t"},
      /* a variable named like the object is a dict, not the host's */
      {"{% set adapter = {'k': 1} %}{{ adapter.get('k') }}", "1"},
  };
  for (size_t i = 0; i < TXF_ARRAY_LEN(ok); i++) {
    char *out = render_env(ok[i][0], env, &err);
    if (!out)
      unit_fail(__FILE__, __LINE__, "render '%s': %s", ok[i][0], err.msg);
    ASSERT_EQ_STR(out, ok[i][1]);
    free(out);
  }
  const char *bad[][2] = {
      {"{{ adapter.dispatch('nope')(1) }}", "no macro 'default__nope'"},
      {"{{ adapter.dispatch('cents') }}",
       "macro 'default__cents' is printed, not called"},
      {"{{ range(2)(1) }}", "cannot call a list"},
      {"{{ nothing.method(1) }}", "undefined variable 'nothing'"},
      {"{{ adapter.dispatch('cents')(1, 2) }}",
       "macro 'default__cents' takes 1 arguments, got 2"},
  };
  for (size_t i = 0; i < TXF_ARRAY_LEN(bad); i++) {
    txf_err_clear(&err);
    char *out = render_env(bad[i][0], env, &err);
    if (out)
      unit_fail(__FILE__, __LINE__, "render '%s' should fail, got \"%s\"",
                bad[i][0], out);
    ASSERT_CONTAINS(err.msg, bad[i][1]);
  }
  txf_tpl_env_free(env);
}

TEST(tpl_env_var_for_hosts_that_offer_it) {
  setenv("TXF_UNIT_TPL_ENV", "v1", 1);
  unsetenv("TXF_UNIT_TPL_NOPE");
  expect_out("{{ env_var('TXF_UNIT_TPL_ENV') }}", "v1");
  expect_out("{{ env_var(\"TXF_UNIT_TPL_ENV\", 'd') }}", "v1");
  expect_out("{{ env_var('TXF_UNIT_TPL_NOPE', 'd') }}", "d");
  expect_err("{{ env_var('TXF_UNIT_TPL_NOPE') }}",
             "m.sql:1:4: environment variable 'TXF_UNIT_TPL_NOPE' is not set");
  expect_err("{{ env_var(1) }}", "m.sql:1:4: env_var('NAME'[, default])");
  unsetenv("TXF_UNIT_TPL_ENV");
}

TEST(tpl_errors_name_file_line_column) {
  expect_err("select\n  {{ foo(1) }}", "m.sql:2:6: unknown function 'foo'");
  expect_err("{{ x | shout }}", "m.sql:1:8: unknown filter 'shout'");
  expect_err("a\n{{ 1 + }}", "m.sql:2:8: expected an expression");
  expect_err("{{ 1 ", "m.sql:1:6: expected '}}'");
  expect_err("{% if true %}x", "m.sql:1:1: unclosed '{% if %}'");
  expect_err("{% for x in [1] %}", "m.sql:1:1: unclosed '{% for %}'");
  expect_err("x {% endif %}", "m.sql:1:6: unexpected 'endif'");
  expect_err("{% if 1 %}{% endfor %}{% endif %}",
             "unexpected 'endfor' inside 'if'");
  expect_err("{% include 'x' %}", "m.sql:1:1: unknown tag 'include'");
  expect_err("{{ 'abc }}", "m.sql:1:4: unterminated string");
  expect_err("{# never closed", "m.sql:1:1: unclosed comment");
  expect_err("{{ nope }}", "m.sql:1:4: undefined variable 'nope'");
  expect_err("{{ {'a': 1}.b }}", "no attribute 'b'");
  expect_err("{{ 1 / 0 }}", "division by zero");
  expect_err("{{ 'a' < 1 }}", "cannot compare string with number");
  expect_err("{% for x in 5 %}{% endfor %}", "cannot loop over number");
  expect_err("{{ var('must') }}", "m.sql:1:4: required var 'must' is not set");
  expect_err("{{ 1 @ 2 }}", "m.sql:1:6: unexpected character '@'");
  expect_err("{{ }}", "m.sql:1:1: empty expression");
  expect_err("{{ f(a=1, 2) }}", "positional argument after keyword");
  expect_err("{{ [1, 2 }}", "expected ',' or ']'");
  expect_err("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}",
             "macro 'm' takes 1 arguments, got 2");
  expect_err("{{ x.__class__ }}", "undefined variable 'x'");
  expect_err("{{ ''.__class__() }}", "unknown method '__class__' of string");
  expect_err("{{ return(1) }}", "return() outside a macro");
}

TEST(tpl_limits_are_enforced) {
  expect_err("{% for i in range(200000) %}{% endfor %}",
             "range larger than 100000 items");
  expect_err("{% for i in range(1000) %}{% for j in range(1000) %}"
             "{% endfor %}{% endfor %}",
             "more than 100000 loop iterations");
  expect_err("{% macro r(n) %}{{ r(n) }}{% endmacro %}{{ r(1) }}",
             "macro calls nested deeper than 32");
  /* 16 MiB output cap: 90000 x 200 bytes = 18 MB */
  expect_err("{% set s = 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
             "xxxxxxxxxxxxxxxxxxxxxxxxxx' %}"
             "{% for i in range(90000) %}{{ s }}{% endfor %}",
             "rendered output larger than");
  /* nesting depth */
  char deep[1024];
  size_t k = 0;
  k += (size_t)snprintf(deep + k, sizeof deep - k, "{{ ");
  for (int i = 0; i < 100; i++)
    deep[k++] = '(';
  deep[k++] = '1';
  for (int i = 0; i < 100; i++)
    deep[k++] = ')';
  snprintf(deep + k, sizeof deep - k, " }}");
  expect_err(deep, "nested too deeply");
  char blocks[4096];
  k = 0;
  for (int i = 0; i < 80; i++)
    k += (size_t)snprintf(blocks + k, sizeof blocks - k, "{%% if 1 %%}");
  expect_err(blocks, "nested too deeply");
}

/* Mutation fuzz: random edits of valid templates must parse or fail with a
 * message, never crash, leak or overrun (the ASan build checks that). */
TEST(tpl_mutation_fuzz) {
  static const char *const seeds[] = {
      "{% set xs = ['a', 'b'] %}select {% for x in xs -%}{{ x | upper }}"
      "{% if not loop.last %}, {% endif %}{%- endfor %} from {{ ref('t') }}",
      "{% macro m(a, b=2) %}{{ a ~ b }}{% endmacro %}{{ m(1, b=3) }}"
      "{# note #}{% if 1 in [1] and not false %}y{% elif 2 %}z{% else %}"
      "w{% endif %}",
      "{{ {'k': [1, {'j': none}]}['k'][1].j | default('d') }} "
      "{% set q %}a{{ 'b'.replace('b', 'c') }}{% endset %}{{ q }}",
      "{%- for k, v in {'a': 1}.items() -%}{{ k }}={{ v * 2 - 1 }}"
      "{%- endfor -%}{{ var('x', 3) }}"};
  const char alphabet[] = "{}%#-()[]'\",.|=<>!+*/~ \nabcifelsendforx0123";
  uint64_t st = 0x9e3779b97f4a7c15ULL;
  int n_ok = 0, n_err = 0;
  for (int iter = 0; iter < 3000; iter++) {
    const char *seed = seeds[iter % TXF_ARRAY_LEN(seeds)];
    size_t len = strlen(seed);
    char buf[512];
    memcpy(buf, seed, len + 1);
    int edits = 1 + (int)(st % 4);
    for (int e = 0; e < edits; e++) {
      st ^= st << 13;
      st ^= st >> 7;
      st ^= st << 17;
      size_t pos = (size_t)(st % len);
      int op = (int)((st >> 20) % 3);
      char c = alphabet[(st >> 32) % (sizeof alphabet - 1)];
      if (op == 0) {
        buf[pos] = c;
      } else if (op == 1 && len > 1) {
        memmove(buf + pos, buf + pos + 1, len - pos);
        len--;
      } else if (len + 1 < sizeof buf) {
        memmove(buf + pos + 1, buf + pos, len - pos + 1);
        buf[pos] = c;
        len++;
      }
    }
    buf[len] = 0;
    txf_err err;
    txf_err_clear(&err);
    char *out = render(buf, &err);
    if (out) {
      n_ok++;
      free(out);
    } else {
      n_err++;
      /* every failure names a place or a limit */
      if (!strstr(err.msg, "m.sql:"))
        unit_fail(__FILE__, __LINE__, "error without a position for '%s': %s",
                  buf, err.msg);
    }
  }
  ASSERT(n_ok > 100);
  ASSERT(n_err > 100);
}
