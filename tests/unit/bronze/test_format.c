/* A processor's files: gzip, CP949 and other separators in the CSV reader;
 * feed.format read from txnflow.yml and records mapped through it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "../../lib/unit.h"
#include "../project/projtest.h"
#include "bronze/bronze.h"

/* "금액;b\n1;2\n" in CP949 (금 B1DD, 액 BED7), then a line whose 0xFF is
 * no CP949 at all. */
static const char cp949_text[] = "\xb1\xdd\xbe\xd7;b\n1;2\n\xff;3\n";

static void write_gz(const char *path, const char *data, size_t n) {
  gzFile g = gzopen(path, "wb");
  ASSERT(g != NULL);
  ASSERT(gzwrite(g, data, (unsigned)n) == (int)n);
  ASSERT(gzclose(g) == Z_OK);
}

/* Every record of PATH as "f1|f2;..." */
static int read_all(const char *path, const txf_csv_opts *o, txf_buf *out,
                    txf_err *err) {
  txf_csv_reader *r;
  int rc = txf_csv_reader_open_opts(&r, path, 0, o, err);
  if (rc)
    return rc;
  txf_csv_record rec;
  int has;
  while (!(rc = txf_csv_reader_next(r, &rec, &has, err)) && has) {
    for (size_t i = 0; i < rec.n_fields; i++) {
      if (i)
        (void)txf_buf_putc(out, '|');
      (void)txf_buf_append(out, rec.field[i], rec.field_len[i]);
    }
    (void)txf_buf_putc(out, ';');
  }
  txf_csv_reader_free(r);
  return rc;
}

TEST(format_csv_reads_gzip_cp949_with_semicolons) {
  char *path = txf_xstrdup(unit_path("a.csv.gz"));
  write_gz(path, cp949_text, sizeof cp949_text - 1);
  txf_csv_opts o = {';', TXF_CSV_ENC_CP949, TXF_CSV_COMP_AUTO};
  txf_buf b;
  txf_buf_init(&b, 0);
  txf_err err;
  ASSERT_OK(read_all(path, &o, &b, &err), &err);
  /* decoded to UTF-8; the byte that is not CP949 kept as it was */
  ASSERT_EQ_STR((b.data ? b.data : ""),
                "\xea\xb8\x88\xec\x95\xa1|b;1|2;\xff|3;");
  /* gzip is known by its first bytes, whatever the name or the config */
  txf_buf_reset(&b);
  char *plain = txf_xstrdup(unit_path("noext"));
  write_gz(plain, "a,b\n1,2\n", 8);
  ASSERT_OK(read_all(plain, NULL, &b, &err), &err);
  ASSERT_EQ_STR((b.data ? b.data : ""), "a|b;1|2;");
  /* a configured compression the file does not have is an error */
  txf_csv_opts z = {',', TXF_CSV_ENC_UTF8, TXF_CSV_COMP_ZSTD};
  ASSERT_EQ_I64(read_all(plain, &z, &b, &err), TXF_EPARSE);
  ASSERT_CONTAINS(err.msg, "configured as zstd, but the file is gzip");
  txf_buf_release(&b);
  free(path);
  free(plain);
}

TEST(format_csv_truncated_gzip_is_an_error) {
  char *path = txf_xstrdup(unit_path("t.csv.gz"));
  txf_buf big;
  txf_buf_init(&big, 0);
  for (int i = 0; i < 20000; i++)
    (void)txf_buf_printf(&big, "T%08d,%d\n", i, i * 7);
  write_gz(path, big.data, big.len);
  txf_buf whole;
  txf_buf_init(&whole, 0);
  txf_err err;
  ASSERT_OK(txf_fs_read_file(path, &whole, &err), &err);
  /* cut it: the trailer (and more) is gone */
  ASSERT_OK(txf_fs_write_atomic(path, whole.data, whole.len / 2, &err), &err);
  txf_buf b;
  txf_buf_init(&b, 0);
  ASSERT_EQ_I64(read_all(path, NULL, &b, &err), TXF_ECORRUPT);
  ASSERT_CONTAINS(err.msg, "truncated gzip stream");
  txf_buf_release(&b);
  txf_buf_release(&whole);
  txf_buf_release(&big);
  free(path);
}

/* zstd is known by its magic bytes too, and a cut frame is an error */
TEST(format_csv_zstd_by_magic_bytes) {
  const char text[] = "a;b\n1;2\n";
  char z[256];
  size_t zn = ZSTD_compress(z, sizeof z, text, sizeof text - 1, 3);
  ASSERT(!ZSTD_isError(zn));
  char *path = txf_xstrdup(unit_path("settle.dat"));
  txf_err err;
  ASSERT_OK(txf_fs_write_atomic(path, z, zn, &err), &err);
  txf_csv_opts o = {';', TXF_CSV_ENC_UTF8, TXF_CSV_COMP_AUTO};
  txf_buf b;
  txf_buf_init(&b, 0);
  ASSERT_OK(read_all(path, &o, &b, &err), &err);
  ASSERT_EQ_STR(b.data ? b.data : "", "a|b;1|2;");
  ASSERT_OK(txf_fs_write_atomic(path, z, zn - 4, &err), &err);
  ASSERT_EQ_I64(read_all(path, &o, &b, &err), TXF_ECORRUPT);
  ASSERT_CONTAINS(err.msg, "truncated zstd stream");
  txf_buf_release(&b);
  free(path);
}

static const char yml_head[] = "name: t\nfeed:\n  kind: landed\n  format:\n";

static txf_project *load_fmt(const char *format_body) {
  char *y = txf_xasprintf("%s%s", yml_head, format_body);
  txf_project *p = projt_load(y, NULL);
  free(y);
  return p;
}

static const char good_format[] =
    "    delimiter: \";\"\n"
    "    columns:\n"
    "      transaction_id: id\n"
    "      customer_id: cust\n"
    "      card_id: card\n"
    "      merchant_id: {value: M1}\n"
    "      txn_ts: {column: ts, format: \"%Y%m%d%H%M%S\", zone: Asia/Seoul}\n"
    "      amount: {column: amt, unit: minor}\n"
    "      currency: cur\n"
    "      mcc: {value: \"5812\"}\n"
    "      status: {column: st, map: {\"00\": approved, \"05\": declined}}\n"
    "      is_refund: {value: \"false\"}\n"
    "      channel: {value: pos}\n"
    "      ingested_at: {column: ing, zone: Asia/Seoul}\n";

static int map_line(const txf_feed_format *f, const char *header,
                    const char *line, txf_feed_mapped *m, char *detail) {
  txf_csv_reader *r = txf_csv_reader_open_mem(header, strlen(header), "h", 0);
  txf_csv_record rec;
  int has;
  txf_err err;
  ASSERT_OK(txf_csv_reader_next(r, &rec, &has, &err), &err);
  txf_feed_binding b;
  ASSERT_OK(txf_feed_bind(&b, f, &rec, "h", &err), &err);
  txf_csv_reader_free(r);
  /* the reader of the line lives on: M points into it */
  static txf_csv_reader *lr;
  txf_csv_reader_free(lr);
  lr = txf_csv_reader_open_mem(line, strlen(line), "l", 0);
  ASSERT_OK(txf_csv_reader_next(lr, &rec, &has, &err), &err);
  return txf_feed_map(f, &b, &rec, m, detail, 200);
}

static const char *mf(const txf_feed_mapped *m, int c) {
  static char buf[TXF_BRONZE_N_COLS][80];
  snprintf(buf[c], sizeof buf[c], "%.*s", (int)m->len[c], m->field[c]);
  return buf[c];
}

TEST(format_maps_minor_units_local_times_and_codes) {
  txf_project *p = load_fmt(good_format);
  txf_feed_config c;
  txf_err err;
  ASSERT_OK(txf_feed_config_read(&c, p, &err), &err);
  ASSERT(c.format != NULL);
  const txf_feed_format *f = c.format;
  ASSERT_EQ_I64(f->csv.delimiter, ';');
  /* (the lines below are read by a comma reader: the mapping is the same
   * whatever the separator) */
  const char *hdr = "ing,amt,cur,st,ts,id,cust,card\n";
  txf_feed_mapped m;
  char detail[200];
  ASSERT_EQ_I64(map_line(f, hdr,
                         "2025-09-01 00:30:09.5,12500,KRW,00,20250901003000,"
                         "T1,C1,K1\n",
                         &m, detail),
                -1);
  ASSERT_EQ_STR(mf(&m, 0), "T1");
  ASSERT_EQ_STR(mf(&m, 3), "M1");
  /* KST 00:30 is 15:30 UTC the day before */
  ASSERT_EQ_STR(mf(&m, 4), "2025-08-31T15:30:00Z");
  ASSERT_EQ_STR(mf(&m, 5), "12500");
  ASSERT_EQ_STR(mf(&m, 8), "approved");
  ASSERT_EQ_STR(mf(&m, 11), "2025-08-31T15:30:09.500000Z");
  ASSERT_EQ_STR(mf(&m, 12), "");
  /* the exponent is the currency's: USD 2, BHD 3, JPY 0 */
  static const struct {
    const char *amt, *cur, *want;
  } amounts[] = {{"5", "USD", "0.05"},
                 {"12340", "BHD", "12.34"},
                 {"990", "JPY", "990"},
                 {"100", "usd", "1.00"}};
  for (size_t i = 0; i < sizeof amounts / sizeof *amounts; i++) {
    char line[200];
    snprintf(line, sizeof line,
             "2025-09-01T10:00:00+09:00,%s,%s,05,20250901100000,T,C,K\n",
             amounts[i].amt, amounts[i].cur);
    ASSERT_EQ_I64(map_line(f, hdr, line, &m, detail), -1);
    ASSERT_EQ_STR(mf(&m, 5), amounts[i].want);
    ASSERT_EQ_STR(mf(&m, 8), "declined");
  }
  /* what does not convert names the column, silver's and the file's */
  static const struct {
    const char *line;
    int col;
    const char *detail;
  } bad[] = {
      {"2025-09-01T10:00:00+09:00,12345,BHD,00,20250901100000,T,C,K\n", 5,
       "amount (amt): '12345' has more fraction digits"},
      {"2025-09-01T10:00:00+09:00,1.5,KRW,00,20250901100000,T,C,K\n", 5,
       "amount (amt): '1.5' is not a count of minor units"},
      {"2025-09-01T10:00:00+09:00,1,KRW,99,20250901100000,T,C,K\n", 8,
       "status (st): '99' is not a code in its map"},
      {"2025-09-01T10:00:00+09:00,1,KRW,00,20250230100000,T,C,K\n", 4,
       "txn_ts (ts): '20250230100000' does not match its format"},
      {"2025-09-01 25:00:00,1,KRW,00,20250901100000,T,C,K\n", 11,
       "ingested_at (ing): '2025-09-01 25:00:00' is not ISO 8601"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ASSERT_EQ_I64(map_line(f, hdr, bad[i].line, &m, detail), bad[i].col);
    ASSERT_CONTAINS(detail, bad[i].detail);
  }
  txf_feed_config_release(&c);
  txf_project_free(p);
}

/* Config errors name the file, line and key. */
TEST(format_config_errors_name_the_key) {
  static const struct {
    const char *body, *want;
  } cases[] = {
      {"    columns:\n      transaction_id: id\n",
       "'customer_id' is not mapped"},
      {"    encoding: latin1\n    columns: {}\n",
       "key 'feed.format.encoding': expected utf-8, euc-kr or cp949"},
      {"    columns:\n      txn_ts: {column: ts, format: \"%Y%m%d\"}\n",
       "key 'feed.format.columns.txn_ts': the format has no offset (%z), so "
       "'zone' must name"},
      {"    columns:\n      amount: {column: a, unit: cents}\n",
       "key 'feed.format.columns.amount.unit': expected 'decimal'"},
      {"    columns:\n      status: {column: s, map: {\"1\": settled}}\n",
       "key 'feed.format.columns.status.map.1': 'settled' is not one of "
       "approved|declined|pending|reversed"},
      {"    columns:\n      amuont: a\n", "amount"},
      {"    delimiter: \";;\"\n    columns: {}\n",
       "key 'feed.format.delimiter': expected one ASCII character"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    txf_project *p = load_fmt(cases[i].body);
    txf_feed_config c;
    txf_err err;
    txf_err_clear(&err);
    ASSERT_EQ_I64(txf_feed_config_read(&c, p, &err), TXF_ECONFIG);
    ASSERT_CONTAINS(err.msg, "txnflow.yml:");
    ASSERT_CONTAINS(err.msg, cases[i].want);
    txf_project_free(p);
  }
}

TEST(format_header_missing_column_lists_the_header) {
  txf_project *p = load_fmt(good_format);
  txf_feed_config c;
  txf_err err;
  ASSERT_OK(txf_feed_config_read(&c, p, &err), &err);
  const char *hdr = "ing,amount,cur\n";
  txf_csv_reader *r = txf_csv_reader_open_mem(hdr, strlen(hdr), "h", 0);
  txf_csv_record rec;
  int has;
  ASSERT_OK(txf_csv_reader_next(r, &rec, &has, &err), &err);
  txf_feed_binding b;
  ASSERT_EQ_I64(txf_feed_bind(&b, c.format, &rec, "x.csv", &err), TXF_EPARSE);
  ASSERT_CONTAINS(err.msg, "x.csv: the header has no column 'id' "
                           "(feed.format.columns.transaction_id); it has: "
                           "ing, amount, cur");
  txf_csv_reader_free(r);
  txf_feed_config_release(&c);
  txf_project_free(p);
}

TEST(format_iso4217_exponents) {
  ASSERT_EQ_I64(txf_iso4217_exponent("KRW", 3), 0);
  ASSERT_EQ_I64(txf_iso4217_exponent("jpy", 3), 0);
  ASSERT_EQ_I64(txf_iso4217_exponent("USD", 3), 2);
  ASSERT_EQ_I64(txf_iso4217_exponent("BHD", 3), 3);
  ASSERT_EQ_I64(txf_iso4217_exponent("XX", 2), 2);
}
