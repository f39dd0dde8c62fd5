/* txnflow keys: the card-number tokenization key (docs/card-data.md). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clean/clean.h"
#include "cli/cli.h"
#include "pan/pan.h"

TXF_COMMAND(keys, "the card-number key: check it, show its id, rotate it");

static const char usage[] =
    "usage: txnflow keys id\n"
    "   or: txnflow keys rotate [--data DIR] [--json]\n"
    "\n"
    "id: load the card-number key as clean would and print its id: 'k'\n"
    "and 16 hex digits of HMAC-SHA256(key, \"txnflow pan key id\"), which\n"
    "tells keys apart and says which key made a token without revealing\n"
    "the key. The key comes from TXNFLOW_PAN_KEY_FILE, a file that only its\n"
    "owner may read (chmod 600; anything else is refused), or from\n"
    "TXNFLOW_PAN_KEY; 16 to 4096 bytes, one trailing newline not counted.\n"
    "\n"
    "rotate: move a card feed's silver lake to a new key. The new key is\n"
    "the one clean uses (TXNFLOW_PAN_KEY_FILE or TXNFLOW_PAN_KEY); the old\n"
    "one, the lake's, comes from TXNFLOW_PAN_OLD_KEY_FILE (the same checks)\n"
    "or TXNFLOW_PAN_OLD_KEY. Tokens are keyed hashes, so the card numbers\n"
    "are read again from bronze: every token of the lake must have its\n"
    "number in a bronze file, or nothing changes. Each partition is\n"
    "rewritten with the new tokens and card_key_id, every row an update in\n"
    "one new version of the change log (incremental models follow it), and\n"
    "the lot is committed like a clean: a crash leaves the lake under the\n"
    "old key or the new, never both.\n"
    "\n"
    "Exit status 4 when a key is missing or refused, or the lake's key is\n"
    "not the old key (a configuration to fix: a retry would fail the same\n"
    "way).\n"
    "\n"
    "Options:\n"
    "  --data DIR    data directory (default: the project's)\n"
    "  --json        print rotate's report as JSON\n"
    "  -h, --help    show this help\n"
    "\n"
    "Example:\n"
    "  head -c 32 /dev/urandom | base64 > ~/.txnflow-pan-key\n"
    "  chmod 600 ~/.txnflow-pan-key\n"
    "  TXNFLOW_PAN_KEY_FILE=~/.txnflow-pan-key txnflow keys id\n"
    "  TXNFLOW_PAN_OLD_KEY_FILE=~/old-key TXNFLOW_PAN_KEY_FILE=~/new-key \\\n"
    "    txnflow keys rotate\n";

/* The old key of a rotation: TXNFLOW_PAN_OLD_KEY_FILE or _OLD_KEY. */
static int old_key_from_env(txf_pan_key **k, txf_err *err) {
  const char *f = getenv("TXNFLOW_PAN_OLD_KEY_FILE");
  const char *t = getenv("TXNFLOW_PAN_OLD_KEY");
  if (f && *f && t && *t)
    return txf_err_set(err, TXF_ECONFIG,
                       "both TXNFLOW_PAN_OLD_KEY_FILE and TXNFLOW_PAN_OLD_KEY "
                       "are set: unset one");
  if (!(f && *f) && !(t && *t))
    return txf_err_set(err, TXF_ECONFIG,
                       "no old card-number key: set TXNFLOW_PAN_OLD_KEY_FILE "
                       "(or TXNFLOW_PAN_OLD_KEY) to the lake's key");
  int rc = txf_pan_key_load(k, f, t, err);
  return rc ? txf_err_wrap(err, "the old key") : 0;
}

/* Rotate's REPORT (JSON text) as it is, or as a sentence. */
static void print_rotated(const char *report, int json) {
  json_t *rep = txf_cli_report(report, json);
  if (!rep)
    return;
  const char *new_id = "", *old_id = "";
  json_int_t files = 0, numbers = 0, cards = 0, parts = 0, rows = 0, v = 0;
  (void)json_unpack(rep, "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
                    "new_key_id", &new_id, "old_key_id", &old_id,
                    "bronze_files", &files, "card_numbers", &numbers, "cards",
                    &cards, "partitions", &parts, "rows", &rows,
                    "commit_version", &v);
  printf("the lake is under key %s now (was %s): %lld rows in %lld "
         "partitions re-tokenized, %lld cards from %lld card numbers in "
         "%lld bronze files; change log version %lld\n",
         new_id, old_id, (long long)rows, (long long)parts, (long long)cards,
         (long long)numbers, (long long)files, (long long)v);
  json_decref(rep);
}

static int keys_rotate(const char *data_opt, int json, txf_ctx *ctx) {
  txf_err err;
  txf_err_clear(&err);
  txf_pan_key *old_key = NULL, *new_key = NULL;
  char *data = NULL, *report = NULL;
  txf_store *store = NULL;
  int rc = old_key_from_env(&old_key, &err);
  if (!rc && (rc = txf_pan_key_from_env(&new_key, &err)) != 0)
    txf_err_wrap(&err, "the new key");
  if (!rc)
    rc = txf_ctx_data_store(ctx, data_opt, &data, &store, &err);
  if (!rc) {
    txf_clean_rotate_opts o = {
        .data_dir = data,
        .old_key = old_key,
        .new_key = new_key,
        .log = &ctx->log,
        .now_us = txf_ctx_now(ctx),
        .crash_at = getenv("TXNFLOW_CRASH_AT"), /* the recovery test's */
    };
    rc = txf_clean_keys_rotate(&o, store, &report, &err);
  }
  if (!rc)
    print_rotated(report, json);
  txf_pan_key_free(old_key);
  txf_pan_key_free(new_key);
  txf_store_close(store);
  TXF_FREE_ALL(report, data);
  return rc ? txf_cli_fail("keys rotate", &err) : TXF_EXIT_OK;
}

int cmd_keys(int argc, char **argv, txf_ctx *ctx) {
  const char *data_opt = NULL;
  int json = 0;
  const txf_cli_option opts[] = {TXF_OPT_STRING(0, "data", &data_opt, "DIR"),
                                 TXF_OPT_FLAG(0, "json", &json), TXF_OPT_END};
  static const char *const subs[] = {"id", "rotate", NULL};
  size_t which;
  int ec = txf_cli_subcommand_parse("keys", usage, opts, subs,
                                    TXF_CLI_NO_OPERANDS, &which, &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  if (which == 1)
    return keys_rotate(data_opt, json, ctx);
  txf_err err;
  txf_err_clear(&err);
  txf_pan_key *k;
  if (txf_pan_key_from_env(&k, &err))
    return txf_cli_fail("keys id", &err);
  printf("%s\n", txf_pan_key_id(k));
  txf_pan_key_free(k);
  return TXF_EXIT_OK;
}
