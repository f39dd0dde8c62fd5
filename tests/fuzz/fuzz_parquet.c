/* libFuzzer target for the Parquet reader: the input is a whole file.
 * Open it, describe it (footer, statistics), read every row, read a
 * projection of the last column, and read it key first (the first
 * column), the whole row of every third key; any outcome but a crash, a
 * sanitizer report or a leak is fine. Built and run by
 * tests/fuzz/f20-parquet.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parquet/parquet.h"

static void read_all(const char *path, int project_last) {
  txf_err err;
  txf_pq_reader *r;
  if (txf_pq_reader_open(&r, path, &err))
    return;
  const txf_pq_schema *s = txf_pq_reader_schema(r);
  size_t n = s->n_cols;
  if (project_last && n) {
    const char *name = s->cols[n - 1].name;
    if (txf_pq_reader_project(r, &name, 1, &err)) {
      txf_pq_reader_free(r);
      return;
    }
    n = 1;
  } else {
    txf_buf b;
    txf_buf_init(&b, 0);
    (void)txf_pq_reader_describe(r, 1, &b, &err);
    (void)txf_pq_reader_describe(r, 0, &b, &err);
    txf_buf_release(&b);
  }
  txf_pq_value *row = calloc(n + 1, sizeof *row);
  txf_buf cell;
  txf_buf_init(&cell, 0);
  for (int k = 0; k < 1000000; k++) {
    int has;
    if (txf_pq_reader_next(r, row, &has, &err) || !has)
      break;
    for (size_t i = 0; i < n; i++) {
      txf_buf_reset(&cell);
      const txf_pq_column *c =
          project_last ? &s->cols[s->n_cols - 1] : &s->cols[i];
      txf_pq_value_format(c, &row[i], &cell);
    }
  }
  txf_buf_release(&cell);
  free(row);
  txf_pq_reader_free(r);
}

static void read_key_first(const char *path) {
  txf_err err;
  txf_pq_reader *r;
  if (txf_pq_reader_open(&r, path, &err))
    return;
  size_t n = txf_pq_reader_schema(r)->n_cols;
  txf_pq_value *row = calloc(n + 1, sizeof *row);
  txf_pq_value key;
  for (int k = 0; n && k < 1000000; k++) {
    int has;
    if (txf_pq_reader_next_key(r, 0, &key, &has, &err) || !has)
      break;
    if (k % 3 == 2 && txf_pq_reader_rest(r, row, &err))
      break;
  }
  free(row);
  txf_pq_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* GLOBAL: one scratch file per fuzzing process, rewritten per input. */
  static char path[64];
  if (!path[0])
    snprintf(path, sizeof path, "/tmp/txf-fuzz-pq-%d.parquet", (int)getpid());
  FILE *f = fopen(path, "wb");
  if (!f)
    return 0;
  if (size)
    fwrite(data, 1, size, f);
  fclose(f);
  read_all(path, 0);
  read_all(path, 1);
  read_key_first(path);
  return 0;
}
