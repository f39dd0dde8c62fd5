/* Driver for bench/b20-parquet.sh: txnflow's Parquet writer and reader
 * against DuckDB's COPY ... (FORMAT parquet) and read_parquet on the same
 * 10,000,000-row silver-shaped table, zstd. Prints one report.
 *   pqbench DIR ROWS */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <duckdb.h>

#include "clean/clean.h"
#include "parquet/parquet.h"

/* The silver schema (src/clean/schema.c). */
#define NC TXF_SILVER_N_COLS

static uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

typedef struct pools {
  char cust[200000][9], card[300000][13], merch[50000][8], mcc[300][5];
  char src[16][64];
} pools;

static void put_dec(char *o, uint64_t v, int w) {
  for (int i = w - 1; i >= 0; i--) {
    o[i] = (char)('0' + v % 10);
    v /= 10;
  }
}

static void make_pools(pools *p) {
  for (int i = 0; i < 200000; i++) {
    p->cust[i][0] = 'C';
    put_dec(p->cust[i] + 1, mix((uint64_t)i) % 10000000, 7);
  }
  for (int i = 0; i < 300000; i++) {
    memcpy(p->card[i], "CARD", 4);
    put_dec(p->card[i] + 4, mix((uint64_t)i + 7) % 100000000, 8);
  }
  for (int i = 0; i < 50000; i++) {
    p->merch[i][0] = 'M';
    put_dec(p->merch[i] + 1, mix((uint64_t)i + 9) % 1000000, 6);
  }
  for (int i = 0; i < 300; i++)
    put_dec(p->mcc[i], 1000 + mix((uint64_t)i) % 9000, 4);
  for (int i = 0; i < 16; i++)
    snprintf(p->src[i], sizeof p->src[i],
             "bronze/transactions/ingest_date=2025-09-10/part-%04d.csv", i);
}

static void set_str(txf_pq_value *v, const char *s, size_t n) {
  v->is_null = 0;
  v->v.str = s;
  v->len = (uint32_t)n;
}

/* Row I of the table into V (strings point into P or BUF). */
static void gen_row(const pools *p, uint64_t i, txf_pq_value *v,
                    char buf[2][20]) {
  static const char hex[] = "0123456789abcdef";
  static const char *const curs[] = {"USD", "JPY", "EUR", "GBP", "CNY"};
  static const char *const st[] = {"approved", "declined", "pending",
                                   "reversed"};
  static const char *const ch[] = {"online", "pos", "mobile"};
  uint64_t r = mix(i), r2 = mix(i ^ 0x5555), r3 = mix(i + 0x1234567);
  uint64_t id = mix(i * 2 + 1);
  buf[0][0] = 't';
  buf[0][1] = 'x';
  for (int k = 0; k < 16; k++)
    buf[0][2 + k] = hex[(id >> (4 * k)) & 15];
  set_str(&v[0], buf[0], 18);
  set_str(&v[1], p->cust[r % 200000], 8);
  set_str(&v[2], p->card[(r >> 20) % 300000], 12);
  set_str(&v[3], p->merch[(r >> 40) % 50000], 7);
  int64_t ts = INT64_C(1757430000000000) +
               (int64_t)(r2 % (uint64_t)86400000000);
  v[4].is_null = 0;
  v[4].v.i64 = ts;
  int foreign = r3 % 10 == 0;
  v[5].is_null = 0;
  v[5].v.i64 = foreign ? (int64_t)((r3 >> 8) % 50000) + 100
                       : (int64_t)((r3 >> 8) % 5000) * 10000;
  if (foreign)
    set_str(&v[6], curs[(r3 >> 32) % 5], 3);
  else
    set_str(&v[6], "KRW", 3);
  set_str(&v[7], p->mcc[(r2 >> 40) % 300], 4);
  unsigned s = (unsigned)((r3 >> 40) % 100);
  const char *sv = st[s < 90 ? 0 : s < 96 ? 1 : s < 98 ? 2 : 3];
  set_str(&v[8], sv, strlen(sv));
  v[9].is_null = 0;
  v[9].v.b = (r3 >> 50) % 50 == 0;
  const char *cv = ch[(r2 >> 50) % 3];
  set_str(&v[10], cv, strlen(cv));
  v[11].is_null = 0;
  v[11].v.i64 = ts + (int64_t)((r2 >> 20) % 3600000000u);
  if (v[9].v.b) {
    uint64_t oid = mix((i / 2) * 2 + 1);
    buf[1][0] = 't';
    buf[1][1] = 'x';
    for (int k = 0; k < 16; k++)
      buf[1][2 + k] = hex[(oid >> (4 * k)) & 15];
    set_str(&v[12], buf[1], 18);
  } else {
    v[12].is_null = 1;
  }
  const char *sf = p->src[(i / 1000000) % 16];
  set_str(&v[13], sf, strlen(sf));
  v[14].is_null = 0;
  v[14].v.i32 = 20341;
}

static double now_s(void) { return (double)txf_mono_us() / 1e6; }

/* CPU seconds (user + system, all threads) of this process: unlike wall
 * time, it does not depend on what else runs on the machine. */
static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Wall and CPU seconds of one step. */
typedef struct tm2 {
  double wall, cpu;
} tm2;
static tm2 tstart(void) { return (tm2){now_s(), cpu_s()}; }
static tm2 tstop(tm2 t) { return (tm2){now_s() - t.wall, cpu_s() - t.cpu}; }

static long long fsize(const char *p) {
  struct stat st;
  return stat(p, &st) ? -1 : (long long)st.st_size;
}

static tm2 duck_time(duckdb_connection con, const char *sql) {
  duckdb_result res;
  tm2 t0 = tstart();
  if (duckdb_query(con, sql, &res) != DuckDBSuccess) {
    fprintf(stderr, "duckdb: %s: %s\n", sql, duckdb_result_error(&res));
    exit(1);
  }
  tm2 t = tstop(t0);
  duckdb_destroy_result(&res);
  return t;
}

static void duck_exec(duckdb_connection con, const char *sql) {
  (void)duck_time(con, sql);
}

static int64_t duck_i64(duckdb_connection con, const char *sql) {
  duckdb_result res;
  if (duckdb_query(con, sql, &res) != DuckDBSuccess) {
    fprintf(stderr, "duckdb: %s\n", duckdb_result_error(&res));
    exit(1);
  }
  int64_t v = duckdb_value_int64(&res, 0, 0);
  duckdb_destroy_result(&res);
  return v;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: pqbench DIR ROWS\n");
    return 2;
  }
  const char *dir = argv[1];
  uint64_t rows = strtoull(argv[2], NULL, 10);
  pools *p = malloc(sizeof *p);
  make_pools(p);
  txf_pq_value v[NC];
  char buf[2][20];
  txf_err err;
  char ours[512], duck1[512], duckn[512], sql[2048];
  snprintf(ours, sizeof ours, "%s/txnflow.parquet", dir);
  snprintf(duck1, sizeof duck1, "%s/duckdb-1thread.parquet", dir);
  snprintf(duckn, sizeof duckn, "%s/duckdb-threads.parquet", dir);

  /* Row generation alone, to subtract from the writer's time. */
  tm2 t0 = tstart();
  int64_t sink = 0;
  for (uint64_t i = 0; i < rows; i++) {
    gen_row(p, i, v, buf);
    sink += v[5].v.i64 + v[0].v.str[5];
  }
  tm2 t_gen = tstop(t0);

  txf_pq_schema s = {txf_silver_columns, NC};
  int lvl = getenv("PQBENCH_ZSTD_LEVEL") ? atoi(getenv("PQBENCH_ZSTD_LEVEL")) : 0;
  txf_pq_writer_opts o = {.codec = TXF_PQ_ZSTD, .zstd_level = lvl};
  txf_pq_writer *w;
  t0 = tstart();
  if (txf_pq_writer_open(&w, ours, &s, &o, &err))
    return fprintf(stderr, "%s\n", err.msg), 1;
  for (uint64_t i = 0; i < rows; i++) {
    gen_row(p, i, v, buf);
    if (txf_pq_writer_add_row(w, v, &err))
      return fprintf(stderr, "%s\n", err.msg), 1;
  }
  if (txf_pq_writer_finish(w, &err))
    return fprintf(stderr, "%s\n", err.msg), 1;
  txf_pq_writer_free(w);
  tm2 t_write = tstop(t0);
  if (getenv("PQBENCH_WRITE_ONLY")) { /* for profiling the writer */
    printf("write: wall %.2f s, cpu %.2f s\n", t_write.wall, t_write.cpu);
    free(p);
    return 0;
  }

  /* Our reader: every column of every row. */
  t0 = tstart();
  txf_pq_reader *r;
  if (txf_pq_reader_open(&r, ours, &err))
    return fprintf(stderr, "%s\n", err.msg), 1;
  int64_t n_read = 0, amount_sum = 0, n_orig = 0, str_bytes = 0;
  for (;;) {
    int has;
    if (txf_pq_reader_next(r, v, &has, &err))
      return fprintf(stderr, "%s\n", err.msg), 1;
    if (!has)
      break;
    n_read++;
    amount_sum += v[5].v.i64;
    n_orig += !v[12].is_null;
    str_bytes += v[0].len + v[13].len;
  }
  txf_pq_reader_free(r);
  tm2 t_read = tstop(t0);

  duckdb_database db;
  duckdb_connection con;
  if (duckdb_open(NULL, &db) || duckdb_connect(db, &con))
    return 1;
  duck_exec(con, "SET preserve_insertion_order=true");
  snprintf(sql, sizeof sql,
           "CREATE TABLE t AS SELECT * FROM read_parquet('%s')", ours);
  duck_exec(con, sql);
  /* Exactness at scale: DuckDB's reading of our file agrees with ours. */
  snprintf(sql, sizeof sql,
           "SELECT (count(*) = %" PRId64 " AND sum(amount * 100)::BIGINT = %"
           PRId64 " AND count(original_transaction_id) = %" PRId64
           ")::INTEGER FROM t",
           n_read, amount_sum, n_orig);
  int ok = duck_i64(con, sql) == 1 && n_read == (int64_t)rows;
  int64_t threads = duck_i64(con, "SELECT current_setting('threads')");

  duck_exec(con, "SET threads=1");
  snprintf(sql, sizeof sql,
           "COPY t TO '%s' (FORMAT parquet, COMPRESSION zstd)", duck1);
  tm2 t_d1 = duck_time(con, sql);
  snprintf(sql, sizeof sql, "SET threads=%" PRId64, threads);
  duck_exec(con, sql);
  snprintf(sql, sizeof sql,
           "COPY t TO '%s' (FORMAT parquet, COMPRESSION zstd)", duckn);
  tm2 t_dn = duck_time(con, sql);

  duck_exec(con, "SET threads=1");
  snprintf(sql, sizeof sql,
           "CREATE TABLE r1 AS SELECT * FROM read_parquet('%s')", duck1);
  tm2 t_dr1 = duck_time(con, sql);
  snprintf(sql, sizeof sql,
           "CREATE TABLE r2 AS SELECT * FROM read_parquet('%s')", ours);
  tm2 t_dr_ours = duck_time(con, sql);
  snprintf(sql, sizeof sql, "SET threads=%" PRId64, threads);
  duck_exec(con, sql);
  snprintf(sql, sizeof sql,
           "CREATE TABLE r3 AS SELECT * FROM read_parquet('%s')", duck1);
  tm2 t_drn = duck_time(con, sql);
  /* Our reader on DuckDB's file, for the other direction. */
  t0 = tstart();
  if (txf_pq_reader_open(&r, duck1, &err))
    return fprintf(stderr, "%s\n", err.msg), 1;
  int64_t n2 = 0;
  for (;;) {
    int has;
    if (txf_pq_reader_next(r, v, &has, &err))
      return fprintf(stderr, "%s\n", err.msg), 1;
    if (!has)
      break;
    n2++;
  }
  txf_pq_reader_free(r);
  tm2 t_read_duck = tstop(t0);
  ok = ok && n2 == (int64_t)rows;
  duckdb_disconnect(&con);
  duckdb_close(&db);

  long long s_ours = fsize(ours), s_d1 = fsize(duck1), s_dn = fsize(duckn);
  tm2 net = {t_write.wall - t_gen.wall, t_write.cpu - t_gen.cpu};
  double R = (double)rows;
  printf("rows: %" PRIu64 ", 15 silver columns, zstd (txnflow level %d, "
         "DuckDB its default; DuckDB default threads = %" PRId64 ")\n",
         rows, lvl ? lvl : 1, threads);
  printf("row generation alone (subtracted from txnflow's write): wall %.2f s,"
         " cpu %.2f s [%" PRId64 "]\n",
         t_gen.wall, t_gen.cpu, sink & 1);
  printf("%-38s %8s %12s %8s %12s %12s\n", "", "wall s", "rows/s", "cpu s",
         "rows/cpu-s", "bytes");
#define LINE(name, t, size)                                                  \
  printf("%-38s %8.2f %12.0f %8.2f %12.0f %12s\n", name, (t).wall,           \
         R / (t).wall, (t).cpu, R / (t).cpu, size)
  char b1[32], b2[32], b3[32];
  snprintf(b1, sizeof b1, "%lld", s_ours);
  snprintf(b2, sizeof b2, "%lld", s_d1);
  snprintf(b3, sizeof b3, "%lld", s_dn);
  char dn[64];
  snprintf(dn, sizeof dn, "WRITE DuckDB COPY, threads=%" PRId64, threads);
  LINE("WRITE txnflow (1 thread)", net, b1);
  LINE("WRITE DuckDB COPY, threads=1", t_d1, b2);
  LINE(dn, t_dn, b3);
  LINE("READ  txnflow, txnflow's file", t_read, "");
  LINE("READ  txnflow, DuckDB's file", t_read_duck, "");
  LINE("READ  DuckDB CTAS, DuckDB's file, 1 thr", t_dr1, "");
  LINE("READ  DuckDB CTAS, txnflow's file, 1 thr", t_dr_ours, "");
  snprintf(dn, sizeof dn, "READ  DuckDB CTAS, DuckDB's file, %" PRId64 " thr",
           threads);
  LINE(dn, t_drn, "");
  printf("RATIO write speed txnflow / DuckDB threads=1: wall %.2fx, cpu %.2fx "
         "(goal >= 1)\n",
         t_d1.wall / net.wall, t_d1.cpu / net.cpu);
  printf("RATIO write speed txnflow / DuckDB threads=%" PRId64
         ": wall %.2fx\n",
         threads, t_dn.wall / net.wall);
  printf("RATIO file size txnflow / DuckDB: %.3f (goal <= 1.10)\n",
         (double)s_ours / (double)s_d1);
  printf("RATIO read speed txnflow / DuckDB threads=1 (same file): wall "
         "%.2fx, cpu %.2fx\n",
         t_dr1.wall / t_read_duck.wall, t_dr1.cpu / t_read_duck.cpu);
  printf("CHECK DuckDB reads txnflow's file with the same count, sum(amount) "
         "and nulls; txnflow reads all of DuckDB's file: %s\n",
         ok ? "ok" : "MISMATCH");
  free(p);
  return ok ? 0 : 1;
}
