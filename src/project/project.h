/* project: a txnflow project's files — txnflow.yml, profiles.yml — read
 * with libyaml into a tree whose every node knows its file, line and
 * column, so any module can report "txnflow.yml:7:3: key 'sla': ...".
 * Also the scaffold `txnflow init` writes. */
#ifndef TXF_PROJECT_H
#define TXF_PROJECT_H

#include <stdint.h>

#include "util/util.h"

/* ---------------------------------------------------------------- YAML */

typedef enum {
  TXF_YAML_SCALAR,
  TXF_YAML_MAP,
  TXF_YAML_SEQ
} txf_yaml_type;

typedef struct txf_yaml_node txf_yaml_node;
typedef struct txf_yaml_doc txf_yaml_doc;

/* Parse the YAML file PATH (one document; anchors/aliases are refused).
 * On success *out must be freed with txf_yaml_free(). A syntax error is
 * TXF_ECONFIG with "PATH:LINE:COL: problem". TXF_ENOTFOUND when PATH does
 * not exist. Files over 16 MiB are refused. */
TXF_MUST_CHECK int txf_yaml_load_file(txf_yaml_doc **out, const char *path,
                                      txf_err *err);
/* Same, from memory; NAME is used in messages. */
TXF_MUST_CHECK int txf_yaml_load_string(txf_yaml_doc **out, const char *name,
                                        const char *text, size_t len,
                                        txf_err *err);
void txf_yaml_free(txf_yaml_doc *doc);
/* The root node (an empty map for an empty file). */
const txf_yaml_node *txf_yaml_root(const txf_yaml_doc *doc);
const char *txf_yaml_file(const txf_yaml_doc *doc);

txf_yaml_type txf_yaml_kind(const txf_yaml_node *n);
/* 1-based position of N in its file. */
int txf_yaml_line(const txf_yaml_node *n);
int txf_yaml_col(const txf_yaml_node *n);
/* A scalar's text (NUL-terminated, borrowed); NULL for maps and sequences. */
const char *txf_yaml_str(const txf_yaml_node *n);
/* 1 when the scalar was written plain (not quoted) and is null/~/empty. */
int txf_yaml_is_null(const txf_yaml_node *n);
/* Number of entries of a map or items of a sequence (0 for scalars). */
size_t txf_yaml_len(const txf_yaml_node *n);
/* The I-th item of a sequence, or value of a map. */
const txf_yaml_node *txf_yaml_at(const txf_yaml_node *n, size_t i);
/* The I-th key of a map (a scalar node), NULL for sequences. */
const txf_yaml_node *txf_yaml_key_at(const txf_yaml_node *n, size_t i);
/* The value of KEY in map N, or NULL (N not a map, or no such key). */
const txf_yaml_node *txf_yaml_get(const txf_yaml_node *n, const char *key);
/* Follow a dotted path ("publish.s3.bucket") from N; NULL if absent. */
const txf_yaml_node *txf_yaml_path(const txf_yaml_node *n, const char *path);

/* Typed reads of KEY in map N. An absent key (or explicit null) leaves
 * *out as DEF and returns 0. A value of the wrong type is TXF_ECONFIG with
 * "FILE:LINE:COL: key 'KEY': expected ...". Strings are borrowed from DOC. */
TXF_MUST_CHECK int txf_yaml_get_str(const txf_yaml_doc *doc,
                                    const txf_yaml_node *n, const char *key,
                                    const char *def, const char **out,
                                    txf_err *err);
TXF_MUST_CHECK int txf_yaml_get_i64(const txf_yaml_doc *doc,
                                    const txf_yaml_node *n, const char *key,
                                    int64_t def, int64_t *out, txf_err *err);
TXF_MUST_CHECK int txf_yaml_get_bool(const txf_yaml_doc *doc,
                                     const txf_yaml_node *n, const char *key,
                                     int def, int *out, txf_err *err);
/* A duration: "250ms", "30s", "5m", "2h", "1d" or a bare number of
 * seconds, 0..365 days (a negative one, or a longer one, is TXF_ECONFIG
 * saying so). */
#define TXF_YAML_MAX_DURATION_US (INT64_C(365) * 86400 * 1000000)
TXF_MUST_CHECK int txf_yaml_get_duration(const txf_yaml_doc *doc,
                                         const txf_yaml_node *n,
                                         const char *key, int64_t def,
                                         int64_t *out_us, txf_err *err);
/* Set ERR to "FILE:LINE:COL: MESSAGE" for node N; returns TXF_ECONFIG. */
int txf_yaml_error(const txf_yaml_doc *doc, const txf_yaml_node *n,
                   txf_err *err, const char *fmt, ...) TXF_PRINTF(4, 5);
/* Check that every key of map N is one of KNOWN (NULL-terminated). An
 * unknown key is TXF_ECONFIG naming it and the closest known key. WHERE
 * names the map in the message ("top level", "publish.s3"). */
TXF_MUST_CHECK int txf_yaml_check_keys(const txf_yaml_doc *doc,
                                       const txf_yaml_node *n,
                                       const char *const *known,
                                       const char *where, txf_err *err);

/* ---------------------------------------------------------------- project */

/* A loaded project. Fields are read-only for callers; strings are owned by
 * the project. Modules with their own sections (models, publish, ...) read
 * them from `doc` with the txf_yaml_* calls above. */
typedef struct txf_project {
  char *dir;         /* absolute project directory */
  char *config_path; /* absolute path of txnflow.yml (or dbt_project.yml) */
  int is_dbt;        /* configured by dbt_project.yml, not txnflow.yml */
  txf_yaml_doc *doc; /* the whole config file */

  char *name;
  char *timezone;    /* IANA name, default "Asia/Seoul" */
  char *data_dir;    /* absolute; default <dir>/data */
  /* schedule */
  char *schedule;    /* cron expression, default "0 6 * * *" */
  char *sla;         /* "HH:MM" local time, or NULL */
  char *start_date;  /* "YYYY-MM-DD" or NULL */
  int catchup;       /* default 1 */
  /* feed */
  char *feed;        /* "synthetic" (default for init) or "landed" */
  int64_t feed_rows; /* rows per day for the synthetic feed */
  int64_t feed_seed;
  int feed_pan;      /* feed.pan: the feed carries card numbers */
} txf_project;

/* The retry and timeout settings of a task: txnflow.yml's top level, and
 * each tasks.NAME over it. Read here, when the file loads, so every
 * command reports a bad one; the orchestrator uses them. */
typedef struct txf_task_settings {
  int retries;                /* extra attempts, 0..100 */
  int64_t retry_delay_us;     /* before the first retry, 0..365d */
  int64_t max_retry_delay_us; /* cap of the delay, 0..365d */
  int64_t timeout_us;         /* per attempt, 0..365d; 0 = none */
  double backoff;             /* each further retry waits this much
                                 longer, 1..100 */
} txf_task_settings;

/* The defaults: 2 retries, 30s, at most 10m, backoff 2, timeout 2h. */
void txf_task_settings_default(txf_task_settings *s);
/* Read the keys retries, retry_delay, max_retry_delay, timeout and
 * retry_backoff of MAP over *S (absent keys keep their value).
 * TXF_ECONFIG with "FILE:LINE:COL: key 'KEY': ..." for a value of the
 * wrong type or out of range. */
TXF_MUST_CHECK int txf_task_settings_read(const txf_yaml_doc *doc,
                                          const txf_yaml_node *map,
                                          txf_task_settings *s, txf_err *err);

/* Load the project in DIR: txnflow.yml, or dbt_project.yml when there is no
 * txnflow.yml. TXF_ENOTFOUND when DIR has neither; TXF_ECONFIG with file,
 * line, column and key for a bad file. Caller frees with
 * txf_project_free(). */
TXF_MUST_CHECK int txf_project_load(txf_project **out, const char *dir,
                                    txf_err *err);
void txf_project_free(txf_project *p);

/* Paths under the data dir; caller frees. */
char *txf_project_data_path(const txf_project *p, const char *rel);

/* Scaffold a new project in DIR (created if missing; it must be empty or
 * not exist). NAME defaults to DIR's last component. Writes txnflow.yml,
 * profiles.yml and the default project's models, seeds, tests and macros
 * (docs/analytics.md); with EMPTY, txnflow.yml, profiles.yml and empty
 * models/, seeds/, tests/, macros/ (docs/decisions/0301-*). */
TXF_MUST_CHECK int txf_project_init(const char *dir, const char *name,
                                    int empty, txf_err *err);

/* ---------------------------------------------------------------- profiles */

/* Find the output of profiles.yml DOC that P's commands run on: the profile
 * named by P's `profile:` (else P's name), its output TARGET (NULL: the
 * profile's `target:`, else "dev"). The whole profile is checked first:
 * its keys (target, outputs), every output's keys for its type (duckdb:
 * path, schema, threads; postgres and redshift: libpq's keys, see
 * docs/project.md), values that must be scalars, threads 1..64, port
 * 1..65535, sslmode, a password not written as {{ env_var('NAME') }}
 * (refused; never echoed). A value containing "{{" is a template, checked
 * by the caller after rendering. Every error is TXF_ECONFIG with
 * "FILE:LINE:COL: key 'PROFILE.outputs.NAME.KEY': ..." (an unknown name
 * names the closest). On success *out is the output (borrowed from DOC)
 * and *out_name its name (borrowed from DOC or TARGET). */
TXF_MUST_CHECK int txf_profile_find(const txf_yaml_doc *doc,
                                    const txf_project *p, const char *target,
                                    const txf_yaml_node **out,
                                    const char **out_name, txf_err *err);
/* The profile P's models and publish use: `profile:` in its config file,
 * else its name (borrowed from P). */
const char *txf_profile_name(const txf_project *p);
/* An output's type: its `type:`, else "duckdb". */
const char *txf_profile_type(const txf_yaml_node *o);
/* 1 when a profiles.yml value S is a template ("{{ env_var('X') }}"). */
int txf_profile_is_template(const char *s);

/* ---------------------------------------------------------------- load */

/* The warehouse load's settings: txnflow.yml's `load:` section, or its
 * older spelling `publish.warehouse`. Read here because two stages need
 * them: the load runs them (src/load/), the models find the table it fills
 * (txf_target.silver_*). Strings are borrowed from the project. */
typedef struct txf_project_load_section {
  int configured;       /* load: (or publish.warehouse) is given */
  const char *where;    /* "load" or "publish.warehouse": its keys' prefix
                           in messages ("load.add_columns"); NULL when not
                           configured */
  const char *target;   /* an output of profiles.yml, or NULL: the
                           profile's default */
  const char *table;    /* the table silver is loaded into; default
                           "silver_transactions" */
  int add_columns;      /* schema drift: ALTER TABLE ADD COLUMN (default 0:
                           an error naming the columns) */
  const char *iam_role; /* redshift: the role COPY assumes, or NULL */
} txf_project_load_section;

/* Read and check P's load section into *OUT (configured = 0 when there is
 * none, not an error). TXF_ECONFIG with file:line:col for an unknown key,
 * a value of the wrong type, or both `load:` and `publish.warehouse`. */
TXF_MUST_CHECK int txf_project_load_section_read(txf_project_load_section *out,
                                                 const txf_project *p,
                                                 txf_err *err);

/* ---------------------------------------------------------------- retention */

/* txnflow.yml's `retention:` (docs/silver.md, "Retention"): how long the
 * lake's history and inputs are kept. Read here because three modules use
 * it: lake vacuum applies it, the scheduler runs that vacuum daily, the
 * dashboard shows when bronze files holding card numbers go. A duration
 * < 0 keeps its kind forever. */
typedef struct txf_project_retention {
  int configured;           /* a retention: section is given */
  int64_t snapshots_us;     /* snapshot records (never the latest) */
  int64_t bronze_us;        /* whole bronze batches, by ingest date */
  int64_t quarantine_us;    /* whole quarantine batches */
  int64_t bronze_card_files_us; /* bronze files holding card numbers:
                                   `bronze_card_files`, else the shortest
                                   of the three above that is not forever
                                   (decision 2201) */
  int card_files_explicit;  /* bronze_card_files was given (or overridden) */
  char card_files_from[24]; /* the key bronze_card_files_us comes from
                               ("bronze_card_files", "snapshots", ...);
                               "" when nothing is configured */
  int vacuum_daily;         /* `vacuum: daily` (default) or `off`: does
                               the scheduler vacuum once a day */
} txf_project_retention;

/* A retention duration: Nd, Nw, Ny (365 days), N up to 100000, or
 * "forever" (*OUT_US = -1). Returns 0, or -1 for anything else. */
TXF_MUST_CHECK int txf_project_retention_parse(const char *s, int64_t *out_us);
/* Everything kept forever, vacuum daily, nothing configured. */
void txf_project_retention_init(txf_project_retention *r);
/* Recompute bronze_card_files_us and card_files_from after a caller
 * changed the durations (lake vacuum's --keep-* options). */
void txf_project_retention_settle(txf_project_retention *r);
/* Read P's retention: into *OUT (P NULL or no section: the init values).
 * TXF_ECONFIG with "FILE:LINE:COL: ..." naming the key for an unknown key,
 * a duration that does not parse, or a vacuum other than daily|off. */
TXF_MUST_CHECK int txf_project_retention_read(txf_project_retention *out,
                                              const txf_project *p,
                                              txf_err *err);
/* The first UTC day (days since 1970-01-01) on which a vacuum removes a
 * batch of INGEST_DAY kept for KEEP_US: INT32_MAX when KEEP_US < 0. */
int32_t txf_project_retention_removal_day(int32_t ingest_day, int64_t keep_us);

/* ---------------------------------------------------------------- targets */

/* What to resolve, and for whom. */
typedef struct txf_target_opts {
  const char *target;       /* an output name (--target), or NULL: the
                               profile's `target:`, else "dev" */
  const char *profiles_dir; /* --profiles-dir: profiles.yml must be there;
                               NULL: the project dir, then HOME/.dbt */
  const char *home;         /* for ~/.dbt/profiles.yml; NULL: $HOME */
  const char *data_dir;     /* absolute; the default duckdb warehouse is
                               DATA_DIR/warehouse.duckdb */
  const char *app_name;     /* libpq's application_name */
  int warehouse_load;       /* for the warehouse load: the project's own
                               profiles.yml (it must exist), a postgres or
                               redshift output, no silver_* */
} txf_target_opts;

/* A resolved target: an output of the project's profile with every
 * {{ env_var() }} replaced. Strings are owned by the struct. */
typedef struct txf_target {
  char *name;        /* the output's name */
  char *type;        /* "duckdb", "postgres" or "redshift" */
  int is_redshift;   /* type is "redshift" */
  char *path;        /* duckdb: the database file, absolute; NULL: in
                        memory */
  char *schema;      /* the default schema: `schema:`, else "main" (duckdb)
                        or "public" */
  int threads;       /* duckdb: `threads:` 1..64; 0 when not set */
  char **settings;   /* duckdb: `settings:` as name, value, name, value,
                        ..., NULL (values rendered); NULL when none */
  char **setup;      /* duckdb: statements run on connect after the
                        settings, NULL-terminated (NULL: none): LOAD of
                        each `extensions:` entry, ATTACH of each `attach:`
                        entry, USE of `database:` when it is an attached
                        one */
  char *database;    /* duckdb: the catalog models are built in:
                        `database:`, else the file's stem ("memory" for
                        :memory:) */
  char **keys;       /* postgres, redshift: libpq keywords, NULL-terminated
                        (`database` as dbname, application_name last) ... */
  char **vals;       /* ... and their values; the password is wiped on
                        release */
  /* postgres, redshift (not for the warehouse load): the table the
   * warehouse load fills, where the built-in silver source points (the
   * load section's table, in the schema of its target's output;
   * docs/models.md) */
  char *silver_schema, *silver_table;
} txf_target;

/* Resolve the target of P that OPTS names. Without a profiles.yml (and not
 * for the warehouse load) it is "dev" (or OPTS->target), a duckdb file
 * DATA_DIR/warehouse.duckdb. The profile is checked by txf_profile_find;
 * values are rendered with env_var() (an unset variable without a default
 * is TXF_ECONFIG pointing at the value), the password only read as
 * {{ env_var('NAME') }}; a duckdb output's rendered path, threads and
 * schema are checked. TXF_ENOTFOUND: no profiles.yml in OPTS->profiles_dir
 * (or, for the warehouse load, in P's dir). On success the caller releases
 * *T with txf_target_release(); on failure nothing is left. */
TXF_MUST_CHECK int txf_target_resolve(txf_target *t, const txf_project *p,
                                      const txf_target_opts *opts,
                                      txf_err *err);
/* Free T's strings, wiping the password first; T is zeroed. */
void txf_target_release(txf_target *t);

#endif /* TXF_PROJECT_H */
