/* txnflow parquet: look inside Parquet files (inspect, cat). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "parquet/parquet.h"

TXF_COMMAND(parquet, "inspect a Parquet file or print its rows as CSV");

static const char usage[] =
    "usage: txnflow parquet inspect [--json] FILE\n"
    "       txnflow parquet cat [--columns A,B] [--limit N] FILE\n"
    "\n"
    "inspect prints the schema, the row groups, each column chunk's\n"
    "compression, encodings, sizes and statistics (min, max, nulls) and\n"
    "the key-value metadata (writer, lineage). cat prints the rows as CSV\n"
    "(RFC 4180, header first; a null is an empty field, an empty string is\n"
    "\"\"; DECIMAL with its scale, DATE as YYYY-MM-DD, TIMESTAMP in UTC as\n"
    "ISO 8601 with Z).\n"
    "\n"
    "Options:\n"
    "  --json          inspect: machine-readable output\n"
    "  --columns A,B   cat: only these columns, in this order\n"
    "  --limit N       cat: at most N rows\n"
    "  -h, --help      show this help\n"
    "\n"
    "Example:\n"
    "  txnflow parquet cat --columns transaction_id,amount --limit 5 "
    "part-0.parquet\n";

static void csv_field(txf_buf *b, const char *s, size_t n, int force_quote) {
  int q = force_quote;
  for (size_t i = 0; i < n && !q; i++)
    if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
      q = 1;
  if (!q) {
    (void)txf_buf_append(b, s, n);
    return;
  }
  (void)txf_buf_putc(b, '"');
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"')
      (void)txf_buf_putc(b, '"');
    (void)txf_buf_putc(b, s[i]);
  }
  (void)txf_buf_putc(b, '"');
}

static int flush_out(txf_buf *b) {
  if (b->len && fwrite(b->data, 1, b->len, stdout) != b->len)
    return -1;
  txf_buf_reset(b);
  return 0;
}

static int do_cat(txf_pq_reader *r, char *columns, uint64_t limit,
                  txf_err *err) {
  const char **names = NULL;
  size_t n = 0;
  int rc = 0;
  if (columns) {
    for (char *tok = strtok(columns, ","); tok; tok = strtok(NULL, ",")) {
      names = txf_xrealloc(names, (n + 1) * sizeof *names);
      names[n++] = tok;
    }
    if ((rc = txf_pq_reader_project(r, names, n, err))) {
      free(names);
      return rc;
    }
  }
  const txf_pq_schema *s = txf_pq_reader_schema(r);
  size_t nc = columns ? n : s->n_cols;
  const txf_pq_column **cols = txf_xcalloc(nc ? nc : 1, sizeof *cols);
  for (size_t i = 0; i < nc; i++) {
    size_t j = i;
    if (columns)
      for (j = 0; strcmp(s->cols[j].name, names[i]); j++)
        ;
    cols[i] = &s->cols[j];
  }
  free(names);
  txf_buf out, cell;
  txf_buf_init(&out, 0);
  txf_buf_init(&cell, 0);
  for (size_t i = 0; i < nc; i++) {
    if (i)
      (void)txf_buf_putc(&out, ',');
    csv_field(&out, cols[i]->name, strlen(cols[i]->name), 0);
  }
  (void)txf_buf_putc(&out, '\n');
  txf_pq_value *row = txf_xcalloc(nc ? nc : 1, sizeof *row);
  for (uint64_t k = 0; k < limit; k++) {
    int has;
    if ((rc = txf_pq_reader_next(r, row, &has, err)) || !has)
      break;
    for (size_t i = 0; i < nc; i++) {
      if (i)
        (void)txf_buf_putc(&out, ',');
      if (row[i].is_null)
        continue;
      txf_buf_reset(&cell);
      txf_pq_value_format(cols[i], &row[i], &cell);
      csv_field(&out, cell.data ? cell.data : "", cell.len,
                cell.len == 0 && cols[i]->type == TXF_PQ_STRING);
    }
    (void)txf_buf_putc(&out, '\n');
    if (out.len > (1 << 16) && flush_out(&out)) {
      rc = txf_err_errno(err, TXF_EIO, "write to stdout");
      break;
    }
  }
  if (!rc && flush_out(&out))
    rc = txf_err_errno(err, TXF_EIO, "write to stdout");
  txf_buf_release(&out);
  txf_buf_release(&cell);
  free(row);
  free(cols);
  return rc;
}

int cmd_parquet(int argc, char **argv, txf_ctx *ctx) {
  int json = 0;
  const char *columns = NULL;
  uint64_t limit = UINT64_MAX;
  const txf_cli_option opts[] = {
      TXF_OPT_FLAG(0, "json", &json),
      TXF_OPT_STRING(0, "columns", &columns, "A,B"),
      TXF_OPT_UINT(0, "limit", &limit, "N", 0, UINT64_MAX, "a count"),
      TXF_OPT_END};
  static const char *const subs[] = {"inspect", "cat", NULL};
  size_t which;
  int ec = txf_cli_subcommand_parse("parquet", usage, opts, subs, 0, &which,
                                    &argc, argv);
  if (ec != TXF_CLI_GO_ON)
    return ec;
  int is_inspect = which == 0, is_cat = which == 1;
  if (argc != 2)
    return txf_cli_usage_error("parquet", argc == 1 ? "missing FILE"
                                                    : "too many arguments");
  if (is_inspect && (columns || limit != UINT64_MAX))
    return txf_cli_usage_error("parquet",
                               "--columns and --limit are for 'cat'");
  if (is_cat && json)
    return txf_cli_usage_error("parquet", "--json is for 'inspect'");
  char *path = txf_path_abs(ctx->cwd, argv[1]);
  txf_err err;
  txf_err_clear(&err);
  txf_pq_reader *r = NULL;
  int rc = txf_pq_reader_open(&r, path, &err);
  if (!rc && is_inspect) {
    txf_buf b;
    txf_buf_init(&b, 0);
    rc = txf_pq_reader_describe(r, json, &b, &err);
    if (!rc && flush_out(&b))
      rc = txf_err_errno(&err, TXF_EIO, "write to stdout");
    txf_buf_release(&b);
  } else if (!rc) {
    char *cols = columns ? txf_xstrdup(columns) : NULL;
    rc = do_cat(r, cols, limit, &err);
    free(cols);
  }
  txf_pq_reader_free(r);
  free(path);
  if (rc)
    return txf_cli_fail("parquet", &err);
  return TXF_EXIT_OK;
}
