/* txnflow help CMD: the same as txnflow CMD --help. */
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

TXF_COMMAND(help, "show help for a command");

int cmd_help(int argc, char **argv, txf_ctx *ctx) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    fputs("usage: txnflow help COMMAND\n"
          "\n"
          "Show the help of COMMAND (the same as 'txnflow COMMAND --help').\n"
          "'txnflow --help' lists the commands.\n"
          "\n"
          "Options:\n"
          "  -h, --help    show this help\n"
          "\n"
          "Example:\n"
          "  txnflow help clean\n",
          stdout);
    return TXF_EXIT_OK;
  }
  /* Re-dispatch through the binary so each command prints its own help. */
  char *args[] = {ctx->exe, argv[1], (char *)"--help", NULL};
  fflush(NULL);
  execv(ctx->exe, args);
  perror("txnflow help: exec");
  return TXF_EXIT_FAIL;
}
