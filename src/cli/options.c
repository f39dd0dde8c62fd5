/* Option tables: each command declares its options (cli.h) and this file
 * parses argv into them on getopt_long, so every command gets the same
 * permutation, abbreviations and usage errors. */
#include <assert.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* getopt_long's value for a long name without a short one: above any
 * char, so the two never collide. */
#define LONG_ONLY 256
#define MAX_OPTIONS 48

/* One step of getopt_long. Returns -1 at the end, the option's value
 * otherwise, and '?' after printing a usage error for an unknown option
 * (naming the closest known one), a missing value or a value given to a
 * flag. */
static int next_option(const char *cmd, int argc, char **argv,
                       const char *shortopts, const struct option *longopts) {
  opterr = 0;
  int prev = optind ? optind : 1;
  int c = getopt_long(argc, argv, shortopts, longopts, NULL);
  if (c != '?' && c != ':')
    return c;
  /* The offending word: the last one getopt consumed. */
  const char *word = optind - 1 >= 1 && optind - 1 < argc ? argv[optind - 1]
                     : prev < argc                        ? argv[prev]
                                                          : "?";
  if (c == ':') {
    txf_cli_usage_error(cmd, "option '%s' requires a value", word);
    return '?';
  }
  char name[128];
  if (optopt && !(word[0] == '-' && word[1] == '-')) {
    snprintf(name, sizeof name, "-%c", optopt);
  } else {
    const char *eq = strchr(word, '=');
    size_t l = eq ? (size_t)(eq - word) : strlen(word);
    if (l >= sizeof name)
      l = sizeof name - 1;
    memcpy(name, word, l);
    name[l] = '\0';
  }
  /* Closest long option, for "did you mean". */
  const char *cands[64];
  char bufs[64][64];
  size_t n = 0;
  for (const struct option *o = longopts; o && o->name && n < 64; o++, n++) {
    snprintf(bufs[n], sizeof bufs[n], "--%s", o->name);
    cands[n] = bufs[n];
    /* getopt says '?' for "--json=1" when --json takes no value */
    if (word[0] == '-' && word[1] == '-' && strchr(word, '=') &&
        o->has_arg == no_argument && !strcmp(name, bufs[n])) {
      txf_cli_usage_error(cmd, "option '%s' does not take a value", name);
      return '?';
    }
  }
  const char *close = txf_str_closest(name, cands, n);
  if (close)
    txf_cli_usage_error(cmd, "unknown option '%s' (did you mean '%s'?)", name,
                        close);
  else
    txf_cli_usage_error(cmd, "unknown option '%s'", name);
  return '?';
}

/* Store V in the integer of O->size bytes at O->value. */
static void store_int(const txf_cli_option *o, uint64_t v) {
  switch (o->size) {
  case 1: {
    uint8_t x = (uint8_t)v;
    memcpy(o->value, &x, 1);
    break;
  }
  case 2: {
    uint16_t x = (uint16_t)v;
    memcpy(o->value, &x, 2);
    break;
  }
  case 4: {
    uint32_t x = (uint32_t)v;
    memcpy(o->value, &x, 4);
    break;
  }
  default: {
    assert(o->size == 8);
    memcpy(o->value, &v, 8);
    break;
  }
  }
}

/* "a, b or c" */
static void choice_list(const txf_cli_choice *ch, char *out, size_t cap) {
  size_t n = 0, len = 0;
  while (ch[n].name)
    n++;
  out[0] = '\0';
  for (size_t i = 0; i < n && len < cap; i++)
    len += (size_t)snprintf(out + len, cap - len, "%s%s",
                            i == 0       ? ""
                            : i + 1 == n ? " or "
                                         : ", ",
                            ch[i].name);
}

/* Parse ARG (NULL for a flag) into O. Returns 0 or the exit status after a
 * usage error. */
static int apply(const char *cmd, const txf_cli_option *o, const char *arg) {
  switch (o->kind) {
  case TXF_CLI_OPT_FLAG:
    *(int *)o->value = 1;
    break;
  case TXF_CLI_OPT_STRING:
    *(const char **)o->value = arg;
    break;
  case TXF_CLI_OPT_UINT: {
    uint64_t v;
    if (txf_parse_u64(arg, &v) || v < o->min || v > o->max)
      return txf_cli_usage_error(cmd, "--%s: '%s' is not %s", o->long_name, arg,
                                 o->what);
    store_int(o, v);
    break;
  }
  case TXF_CLI_OPT_DATE: {
    char opt[72];
    snprintf(opt, sizeof opt, "--%s", o->long_name);
    int rc = txf_cli_parse_date(cmd, opt, arg, o->value);
    if (rc)
      return rc;
    break;
  }
  case TXF_CLI_OPT_TIME:
    if (txf_ts_parse(arg, SIZE_MAX, o->value, NULL))
      return txf_cli_usage_error(
          cmd, "--%s: '%s' is not an ISO 8601 timestamp with offset",
          o->long_name, arg);
    break;
  case TXF_CLI_OPT_CHOICE: {
    const txf_cli_choice *ch = o->choices;
    while (ch->name && strcmp(ch->name, arg))
      ch++;
    if (!ch->name) {
      char names[256];
      choice_list(o->choices, names, sizeof names);
      return txf_cli_usage_error(cmd, "--%s: '%s' is not %s", o->long_name, arg,
                                 names);
    }
    store_int(o, (uint64_t)(uint32_t)ch->value);
    break;
  }
  case TXF_CLI_OPT_CALLBACK: {
    int rc = o->fn(cmd, o, arg);
    if (rc)
      return rc;
    break;
  }
  case TXF_CLI_OPT_END:
    assert(0);
    break;
  }
  if (o->given)
    *o->given = 1;
  return 0;
}

int txf_cli_options_parse(const char *cmd, const char *usage,
                          const txf_cli_option *opts, unsigned flags, int *argc,
                          char **argv) {
  /* The getopt_long tables, in the order of OPTS (the order "did you
   * mean" breaks ties in), --help last. */
  struct option longopts[MAX_OPTIONS + 2];
  char shortopts[3 * MAX_OPTIONS + 4] = ":h";
  size_t n = 0, sl = 2;
  for (; opts[n].kind != TXF_CLI_OPT_END; n++) {
    assert(n < MAX_OPTIONS);
    const txf_cli_option *o = &opts[n];
    longopts[n] = (struct option){
        o->long_name, o->argh ? required_argument : no_argument, NULL,
        o->short_name ? o->short_name : LONG_ONLY + (int)n};
    if (o->short_name) {
      shortopts[sl++] = o->short_name;
      if (o->argh)
        shortopts[sl++] = ':';
    }
  }
  shortopts[sl] = '\0';
  longopts[n] = (struct option){"help", no_argument, NULL, 'h'};
  longopts[n + 1] = (struct option){NULL, 0, NULL, 0};

  optind = 0; /* GNU: reinitialise, including the permutation state */
  int c;
  while ((c = next_option(cmd, *argc, argv, shortopts, longopts)) != -1) {
    if (c == 'h')
      return txf_cli_help(usage);
    if (c == '?')
      return TXF_EXIT_USAGE;
    size_t i = 0;
    if (c >= LONG_ONLY)
      i = (size_t)(c - LONG_ONLY);
    else
      while (opts[i].short_name != c)
        i++;
    int rc = apply(cmd, &opts[i], opts[i].argh ? optarg : NULL);
    if (rc)
      return rc;
  }
  if ((flags & TXF_CLI_NO_OPERANDS) && optind < *argc)
    return txf_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
  int n_operands = *argc - optind;
  memmove(argv, argv + optind, (size_t)n_operands * sizeof *argv);
  *argc = n_operands;
  return TXF_CLI_GO_ON;
}

int txf_cli_subcommand_parse(const char *cmd, const char *usage,
                             const txf_cli_option *opts,
                             const char *const *subs, unsigned flags,
                             size_t *which, int *argc, char **argv) {
  int ec = txf_cli_options_parse(cmd, usage, opts, 0, argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  size_t n = 0;
  while (subs[n])
    n++;
  if (*argc == 0) {
    txf_buf b;
    txf_buf_init(&b, 0);
    for (size_t i = 0; i < n; i++)
      (void)txf_buf_printf(&b, "%s%s", i ? ", " : "", subs[i]);
    ec = txf_cli_usage_error(cmd, "missing subcommand (%s)", b.data);
    txf_buf_release(&b);
    return ec;
  }
  for (*which = 0; *which < n; (*which)++)
    if (!strcmp(argv[0], subs[*which]))
      return (flags & TXF_CLI_NO_OPERANDS) && *argc > 1
                 ? txf_cli_usage_error(cmd, "unexpected operand '%s'", argv[1])
                 : TXF_CLI_GO_ON;
  return txf_cli_unknown_subcommand(cmd, argv[0], subs, n);
}
