/* txnflow keys: the card-number tokenization key (docs/card-data.md). */
#include <string.h>

#include "cli/cli.h"
#include "pan/pan.h"

TXF_COMMAND(keys, "the card-number key: check it, show its id");

static const char usage[] =
    "usage: txnflow keys id\n"
    "\n"
    "id: load the card-number key as clean would and print its id: 'k'\n"
    "and 16 hex digits of HMAC-SHA256(key, \"txnflow pan key id\"), which\n"
    "tells keys apart and says which key made a token without revealing\n"
    "the key. The key comes from TXNFLOW_PAN_KEY_FILE, a file that only its\n"
    "owner may read (chmod 600; anything else is refused), or from\n"
    "TXNFLOW_PAN_KEY; 16 to 4096 bytes, one trailing newline not counted.\n"
    "Exit status 4 when there is no key or it is refused (a configuration\n"
    "to fix: a retry would fail the same way).\n"
    "\n"
    "Options:\n"
    "  -h, --help    show this help\n"
    "\n"
    "Example:\n"
    "  head -c 32 /dev/urandom | base64 > ~/.txnflow-pan-key\n"
    "  chmod 600 ~/.txnflow-pan-key\n"
    "  TXNFLOW_PAN_KEY_FILE=~/.txnflow-pan-key txnflow keys id\n";

int cmd_keys(int argc, char **argv, txf_ctx *ctx) {
  (void)ctx;
  const txf_cli_option opts[] = {TXF_OPT_END};
  int ec = txf_cli_options_parse("keys", usage, opts, 0, &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  static const char *const subs[] = {"id"};
  if (argc < 1)
    return txf_cli_usage_error("keys", "a subcommand is required: id");
  if (strcmp(argv[0], "id") != 0)
    return txf_cli_unknown_subcommand("keys", argv[0], subs,
                                      TXF_ARRAY_LEN(subs));
  if (argc > 1)
    return txf_cli_usage_error("keys id", "unexpected operand '%s'", argv[1]);
  txf_err err;
  txf_err_clear(&err);
  txf_pan_key *k;
  if (txf_pan_key_from_env(&k, &err))
    return txf_cli_fail("keys id", &err);
  printf("%s\n", txf_pan_key_id(k));
  txf_pan_key_free(k);
  return TXF_EXIT_OK;
}
