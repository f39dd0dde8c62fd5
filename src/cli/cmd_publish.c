/* txnflow publish: the lake and the marts to S3; and a few object commands
 * (ls, get, put, head, rm) on the configured bucket. `--only warehouse` is
 * the warehouse load's older name (cmd_load.c). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clean/clean.h"
#include "cli/cli.h"
#include "publish/publish.h"

TXF_COMMAND(publish, "upload the lake and the marts to S3");

static const char usage[] =
    "usage: txnflow publish --date D [--only s3|warehouse] [--target T]\n"
    "                       [--print-sql] [--dry-run] [--json] [--data DIR]\n"
    "       txnflow publish --whoami [--json]\n"
    "       txnflow publish ls [PREFIX]\n"
    "       txnflow publish get KEY\n"
    "       txnflow publish put FILE KEY\n"
    "       txnflow publish head KEY\n"
    "       txnflow publish rm KEY...\n"
    "\n"
    "Upload the silver partitions and the marts (mart_* tables exported as\n"
    "Parquet) to the bucket in txnflow.yml's publish.s3, skipping objects\n"
    "whose SHA-256 already matches, deleting objects superseded by a\n"
    "rewrite, and writing PREFIX_manifest.json last (every key with its size\n"
    "and SHA-256), so readers can tell a complete publish from a partial\n"
    "one. A second publish of the same state uploads nothing.\n"
    "The warehouse load is its own command, `txnflow load` (docs/load.md);\n"
    "`--only warehouse` still runs it, with --target and --print-sql.\n"
    "Credentials come from the AWS SDKs' chain: the environment, the shared\n"
    "files (~/.aws/credentials, ~/.aws/config, AWS_PROFILE), web identity,\n"
    "the container endpoint, the instance metadata service; --whoami says\n"
    "which one gives them (never the secret). See docs/publish.md.\n"
    "\n"
    "The object commands work on bucket keys (with the prefix): ls lists\n"
    "key, size and ETag; get writes the object to stdout; head prints its\n"
    "size and SHA-256; rm deletes.\n"
    "\n"
    "Options:\n"
    "  --date D       the logical date published (YYYY-MM-DD)\n"
    "  --only WHAT    s3: the S3 upload (the default); warehouse: the\n"
    "                 warehouse load instead, as `txnflow load`\n"
    "  --target T     (--only warehouse) load into output T of profiles.yml\n"
    "  --print-sql    (--only warehouse) print the load (Redshift SQL, or the\n"
    "                 plan) without running it\n"
    "  --dry-run      show what would be uploaded and deleted; change nothing\n"
    "  --whoami       where the AWS credentials come from, and which key\n"
    "  --json         machine-readable summary\n"
    "  -v, --verbose  list each object uploaded and deleted\n"
    "  --data DIR     data directory (default: the project's)\n"
    "  -h, --help     show this help\n"
    "\n"
    "Example:\n"
    "  txnflow publish --date 2025-09-01\n";

static void human_bytes(uint64_t n, char *out, size_t cap) {
  if (n < 1024)
    snprintf(out, cap, "%llu B", (unsigned long long)n);
  else if (n < (1u << 20))
    snprintf(out, cap, "%.1f KiB", (double)n / 1024);
  else if (n < (1u << 30))
    snprintf(out, cap, "%.1f MiB", (double)n / (1 << 20));
  else
    snprintf(out, cap, "%.2f GiB", (double)n / (1u << 30));
}

static void print_report(const txf_publish_report *r, int dry, int verbose) {
  char ub[32], sb[32];
  human_bytes(r->uploaded_bytes, ub, sizeof ub);
  human_bytes(r->skipped_bytes, sb, sizeof sb);
  printf("publish %s to %s%s\n", r->date, r->target, dry ? " (dry run)" : "");
  if (r->n_changed >= 0) {
    printf("  partitions changed by the clean of %s: %lld\n", r->date,
           (long long)r->n_changed);
  }
  printf("  uploaded  %llu objects, %llu bytes (%s)\n",
         (unsigned long long)r->uploaded,
         (unsigned long long)r->uploaded_bytes, ub);
  printf("  skipped   %llu objects, %llu bytes (%s): checksum matches\n",
         (unsigned long long)r->skipped, (unsigned long long)r->skipped_bytes,
         sb);
  printf("  deleted   %llu objects (superseded)\n",
         (unsigned long long)r->deleted);
  printf("  manifest  %s (%s)\n", r->manifest_key,
         r->manifest_uploaded ? (dry ? "would be written" : "written")
                              : "unchanged");
  if (r->retries)
    printf("  retries   %llu of %llu requests\n",
           (unsigned long long)r->retries, (unsigned long long)r->requests);
  if (verbose) {
    for (size_t i = 0; i < r->n_uploaded_keys; i++)
      printf("  + %s\n", r->uploaded_keys[i]);
    for (size_t i = 0; i < r->n_deleted_keys; i++)
      printf("  - %s\n", r->deleted_keys[i]);
  }
}

static void print_json(const txf_publish_report *r, int dry) {
  json_t *o = json_object();
  json_object_set_new(o, "date", json_string(r->date));
  json_object_set_new(o, "target", json_string(r->target));
  json_object_set_new(o, "dry_run", json_boolean(dry));
  json_object_set_new(o, "objects", json_integer((json_int_t)r->n_local));
  json_object_set_new(o, "uploaded", json_integer((json_int_t)r->uploaded));
  json_object_set_new(o, "uploaded_bytes",
                      json_integer((json_int_t)r->uploaded_bytes));
  json_object_set_new(o, "skipped", json_integer((json_int_t)r->skipped));
  json_object_set_new(o, "skipped_bytes",
                      json_integer((json_int_t)r->skipped_bytes));
  json_object_set_new(o, "deleted", json_integer((json_int_t)r->deleted));
  json_object_set_new(o, "manifest", json_string(r->manifest_key));
  json_object_set_new(o, "manifest_uploaded",
                      json_boolean(r->manifest_uploaded));
  if (r->n_changed >= 0) {
    json_t *a = json_array();
    for (int64_t i = 0; i < r->n_changed; i++)
      json_array_append_new(a, json_string(r->changed[i]));
    json_object_set_new(o, "partitions_changed", a);
  } else {
    json_object_set_new(o, "partitions_changed", json_null());
  }
  json_t *up = json_array(), *del = json_array();
  for (size_t i = 0; i < r->n_uploaded_keys; i++)
    json_array_append_new(up, json_string(r->uploaded_keys[i]));
  for (size_t i = 0; i < r->n_deleted_keys; i++)
    json_array_append_new(del, json_string(r->deleted_keys[i]));
  json_object_set_new(o, "uploaded_keys", up);
  json_object_set_new(o, "deleted_keys", del);
  json_object_set_new(o, "requests", json_integer((json_int_t)r->requests));
  json_object_set_new(o, "retries", json_integer((json_int_t)r->retries));
  char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  printf("%s\n", s);
  free(s);
  json_decref(o);
}

static int load_settings(txf_ctx *ctx, txf_publish_settings *set,
                         txf_project **p, txf_err *err) {
  int rc = txf_ctx_project(ctx, p, err);
  if (rc == TXF_ENOTFOUND)
    return txf_err_set(err, TXF_ENOTFOUND,
                       "not in a txnflow project (no txnflow.yml in %s)",
                       ctx->cwd);
  if (!rc)
    rc = txf_publish_settings_load(set, *p, err);
  return rc;
}

/* The S3 client for the project's publish.s3 settings. */
static int open_s3(txf_ctx *ctx, txf_publish_settings *set, txf_s3 **s3,
                   txf_err *err) {
  txf_project *p;
  int rc = load_settings(ctx, set, &p, err);
  if (!rc && !set->s3.configured)
    return txf_err_set(err, TXF_ECONFIG,
                       "%s: no publish.s3 section (see docs/publish.md)",
                       p->config_path);
  if (!rc)
    rc = txf_s3_new(s3, &set->s3.cfg, &ctx->log, err);
  return rc;
}

/* --whoami: resolve the credential chain as a publish would (with
 * publish.s3's region and refresh margin when the project has them) and
 * say which source gave the keys. */
static int whoami(txf_ctx *ctx, int json) {
  txf_err err;
  txf_err_clear(&err);
  txf_publish_settings set = {0};
  txf_project *p = NULL;
  int rc = load_settings(ctx, &set, &p, &err);
  if (rc == TXF_ENOTFOUND) /* outside a project: the chain's defaults */
    rc = 0;
  txf_s3_creds *c = NULL;
  if (!rc) {
    txf_s3_creds_opts o = {
        .region = set.s3.configured ? set.s3.cfg.region : NULL,
        .refresh_margin_s =
            set.s3.configured ? set.s3.cfg.credential_refresh_s : 0,
        .log = &ctx->log};
    rc = txf_s3_creds_new(&c, &o, &err);
  }
  if (rc)
    return txf_cli_fail("publish", &err);
  txf_s3_creds_info in;
  txf_s3_creds_describe(c, &in);
  txf_s3_creds_free(c);
  char exp[40] = "";
  if (in.expires_us)
    txf_ts_format(in.expires_us / TXF_US_PER_S * TXF_US_PER_S, 0, 1, exp);
  if (json) {
    json_t *o = json_object();
    json_object_set_new(o, "source", json_string(in.source));
    json_object_set_new(o, "detail", txf_json_text(in.detail));
    json_object_set_new(o, "access_key_id", txf_json_text(in.access_key_hint));
    json_object_set_new(o, "renewable", json_boolean(in.renewable));
    json_object_set_new(o, "expires", exp[0] ? json_string(exp) : json_null());
    char *t = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", t);
    free(t);
    json_decref(o);
  } else {
    printf("credentials from %s\n", in.source);
    printf("  where       %s\n", in.detail);
    printf("  access key  %s\n", in.access_key_hint);
    if (exp[0])
      printf("  expires     %s%s\n", exp,
             in.renewable ? " (renewed before then)" : " (not renewable)");
    else
      printf("  expires     never (long-term keys)\n");
  }
  return TXF_EXIT_OK;
}

/* OPS: the operands, the op word first. */
static int object_command(txf_ctx *ctx, int n_ops, char **ops) {
  const char *op = ops[0];
  int n = n_ops - 1; /* operands after the op word */
  char **a = ops + 1;
  int bad = (!strcmp(op, "ls") && n > 1) || (!strcmp(op, "get") && n != 1) ||
            (!strcmp(op, "head") && n != 1) || (!strcmp(op, "put") && n != 2) ||
            (!strcmp(op, "rm") && n < 1);
  if (bad)
    return txf_cli_usage_error("publish", "%s: wrong number of operands", op);
  txf_err err;
  txf_err_clear(&err);
  txf_publish_settings set;
  txf_s3 *s3 = NULL;
  int rc = open_s3(ctx, &set, &s3, &err);
  if (!rc && !strcmp(op, "ls")) {
    txf_s3_list l = {0};
    rc = txf_s3_list_prefix(s3, n ? a[0] : set.s3.prefix, &l, &err);
    for (size_t i = 0; !rc && i < l.n; i++)
      printf("%s\t%llu\t%s\n", l.items[i].key,
             (unsigned long long)l.items[i].size_bytes, l.items[i].etag);
    txf_s3_list_release(&l);
  } else if (!rc && !strcmp(op, "get")) {
    txf_buf b;
    txf_buf_init(&b, 0);
    rc = txf_s3_get(s3, a[0], &b, &err);
    if (!rc && b.len && fwrite(b.data, 1, b.len, stdout) != b.len)
      rc = txf_err_errno(&err, TXF_EIO, "stdout");
    txf_buf_release(&b);
  } else if (!rc && !strcmp(op, "head")) {
    txf_s3_object o;
    rc = txf_s3_head(s3, a[0], &o, &err);
    if (!rc) {
      printf("key %s\nsize %llu\netag %s\nsha256 %s\n", o.key,
             (unsigned long long)o.size_bytes, o.etag,
             o.sha256[0] ? o.sha256 : "-");
      printf("sse %s%s%s\nchecksum_sha256 %s\n", o.sse[0] ? o.sse : "-",
             o.kms_key_id[0] ? " " : "", o.kms_key_id,
             o.checksum_sha256[0] ? o.checksum_sha256 : "-");
    }
    txf_s3_object_release(&o);
  } else if (!rc && !strcmp(op, "put")) {
    char *path = txf_path_abs(ctx->cwd, a[0]);
    rc = txf_s3_put_file(s3, a[1], path, NULL, NULL, &err);
    free(path);
    if (!rc)
      printf("put %s (%llu requests, %llu retries)\n", a[1],
             (unsigned long long)txf_s3_get_stats(s3)->requests,
             (unsigned long long)txf_s3_get_stats(s3)->retries);
  } else if (!rc) {
    rc = txf_s3_delete(s3, (const char *const *)a, (size_t)n, &err);
  }
  txf_s3_free(s3);
  return rc ? txf_cli_fail("publish", &err) : TXF_EXIT_OK;
}

int cmd_publish(int argc, char **argv, txf_ctx *ctx) {
  static const txf_cli_choice only_choices[] = {
      {"s3", 1}, {"warehouse", 2}, {NULL, 0}};
  const char *data_opt = NULL, *date_opt = NULL, *target_opt = NULL;
  int json = 0, dry = 0, verbose = 0, print_sql = 0, who = 0;
  int only = 0; /* 0 or 1: s3; 2: the warehouse load */
  const txf_cli_option opts[] = {
      TXF_OPT_STRING(0, "date", &date_opt, "D"),
      TXF_OPT_FLAG(0, "dry-run", &dry),
      TXF_OPT_FLAG(0, "whoami", &who),
      TXF_OPT_CHOICE(0, "only", &only, "s3|warehouse", only_choices),
      TXF_OPT_STRING(0, "target", &target_opt, "T"),
      TXF_OPT_FLAG(0, "print-sql", &print_sql),
      TXF_OPT_FLAG(0, "json", &json),
      TXF_OPT_FLAG('v', "verbose", &verbose),
      TXF_OPT_STRING(0, "data", &data_opt, "DIR"),
      TXF_OPT_END};
  int ec = txf_cli_options_parse("publish", usage, opts, 0, &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  if (who) {
    if (argc > 0 || date_opt || dry || only || target_opt || print_sql ||
        verbose || data_opt)
      return txf_cli_usage_error("publish", "--whoami takes only --json");
    return whoami(ctx, json);
  }
  if (argc > 0) {
    const char *op = argv[0];
    static const char *const ops[] = {"ls", "get", "put", "head", "rm"};
    for (size_t i = 0; i < TXF_ARRAY_LEN(ops); i++)
      if (!strcmp(op, ops[i]))
        return object_command(ctx, argc, argv);
    const char *close = txf_str_closest(op, ops, TXF_ARRAY_LEN(ops));
    return txf_cli_usage_error("publish", "unknown operand '%s'%s%s%s", op,
                               close ? " (did you mean '" : "",
                               close ? close : "", close ? "'?)" : "");
  }
  if (!date_opt)
    return txf_cli_usage_error("publish", "--date is required");
  txf_date date;
  int urc = txf_cli_parse_date("publish", "--date", date_opt, &date);
  if (urc)
    return urc;
  /* The load was publish's second step; --print-sql only ever printed it. */
  if (only == 2 || (print_sql && only != 1)) {
    txf_cli_load_args la = {.target = target_opt,
                            .data_dir = data_opt,
                            .print_sql = print_sql,
                            .dry_run = dry,
                            .json = json,
                            .json_wrap = "warehouse"};
    return txf_cli_load(ctx, "publish", &la);
  }
  if (target_opt || print_sql)
    return txf_cli_usage_error("publish",
                               "%s is the warehouse load's: use `txnflow "
                               "load` (or publish --only warehouse)",
                               target_opt ? "--target" : "--print-sql");

  txf_err err;
  txf_err_clear(&err);
  txf_publish_settings set;
  txf_project *proj = NULL;
  txf_s3 *s3 = NULL;
  char *data = NULL;
  txf_store *store = NULL;
  txf_publish_report rep = {0};
  int rc = load_settings(ctx, &set, &proj, &err);
  if (!rc && !set.s3.configured && only == 1)
    rc = txf_err_set(&err, TXF_ECONFIG, "%s: no publish.s3 section",
                     proj->config_path);
  else if (!rc && !set.s3.configured)
    rc = txf_err_set(&err, TXF_ECONFIG,
                     "%s: nothing to publish: configure publish.s3 (see "
                     "docs/publish.md; the warehouse load is `txnflow load`)",
                     proj->config_path);
  if (!rc)
    rc = txf_s3_new(&s3, &set.s3.cfg, &ctx->log, &err);
  if (!rc)
    rc = txf_ctx_data_dir(ctx, data_opt, &data, &err);
  if (!rc) /* never a half-applied commit to the bucket */
    rc = txf_clean_commit_settled(data, NULL, &err);
  if (!rc)
    rc = txf_ctx_open_store(ctx, data, &store, &err);
  if (!rc) {
    txf_publish_opts po = {.data_dir = data, .date = date, .dry_run = dry,
                           .log = &ctx->log, .now_us = txf_ctx_now(ctx)};
    rc = txf_publish_run(s3, store, &set, &po, &rep, &err);
  }
  if (!rc && json)
    print_json(&rep, dry);
  else if (!rc)
    print_report(&rep, dry, verbose);
  txf_publish_report_release(&rep);
  txf_store_close(store);
  free(data);
  txf_s3_free(s3);
  return rc ? txf_cli_fail("publish", &err) : TXF_EXIT_OK;
}
