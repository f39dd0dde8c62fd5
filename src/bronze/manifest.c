/* The batch manifest, _manifest.json: what a batch holds (files, data
 * records, size, SHA-256) and, for synthetic batches, how it was made.
 * Shape in bronze.h; written by generate, read and verified by clean. */
#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bronze/bronze.h"

#define MANIFEST_FORMAT "txnflow-bronze-manifest/1"
#define MANIFEST_MAX_BYTES (64u << 20)

void txf_manifest_release(txf_manifest *m) {
  if (!m)
    return;
  for (size_t i = 0; i < m->n_files; i++)
    free(m->files[i].name);
  free(m->files);
  free(m->ingest_date);
  memset(m, 0, sizeof *m);
}

/* A file name that stays inside the batch directory and is not hidden. */
static int name_ok(const char *s) {
  if (!*s || s[0] == '.' || strchr(s, '/') || strchr(s, '\\'))
    return 0;
  return strlen(s) < 256;
}

static int sha_ok(const char *s) {
  if (strlen(s) != 64)
    return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return 0;
  return 1;
}

int txf_manifest_load(txf_manifest *m, const char *dir, txf_err *err) {
  memset(m, 0, sizeof *m);
  char *path = txf_path_join(dir, "_manifest.json");
  int rc = 0;
  txf_buf b;
  txf_buf_init(&b, MANIFEST_MAX_BYTES);
  json_t *root = NULL;
  if (!txf_fs_exists(path)) {
    rc = txf_err_set(err, TXF_ENOTFOUND, "%s: no manifest", path);
    goto out;
  }
  rc = txf_fs_read_file(path, &b, err);
  if (rc)
    goto out;
  json_error_t je;
  root = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &je);
  if (!root) {
    rc = txf_err_set(err, TXF_EPARSE, "%s:%d:%d: %s", path, je.line,
                     je.column, je.text);
    goto out;
  }
  const char *fmt = json_string_value(json_object_get(root, "format"));
  if (!json_is_object(root) || !fmt) {
    rc = txf_err_set(err, TXF_EPARSE, "%s: not a txnflow manifest (no "
                     "\"format\")", path);
    goto out;
  }
  if (strcmp(fmt, MANIFEST_FORMAT) != 0) {
    rc = txf_err_set(err, TXF_EPARSE, "%s: format '%s' is not '%s'", path,
                     fmt, MANIFEST_FORMAT);
    goto out;
  }
  const char *date = json_string_value(json_object_get(root, "ingest_date"));
  txf_date d;
  if (!date || txf_date_parse(date, SIZE_MAX, &d)) {
    rc = txf_err_set(err, TXF_EPARSE,
                     "%s: \"ingest_date\" is not a date (YYYY-MM-DD)", path);
    goto out;
  }
  m->ingest_date = txf_xstrdup(date);
  json_t *files = json_object_get(root, "files");
  if (!json_is_array(files)) {
    rc = txf_err_set(err, TXF_EPARSE, "%s: \"files\" is not an array", path);
    goto out;
  }
  size_t n = json_array_size(files);
  m->files = txf_xcalloc(n ? n : 1, sizeof *m->files);
  for (size_t i = 0; i < n; i++) {
    json_t *f = json_array_get(files, i);
    const char *name = json_string_value(json_object_get(f, "name"));
    json_t *rows = json_object_get(f, "rows");
    json_t *size = json_object_get(f, "size_bytes");
    const char *sha = json_string_value(json_object_get(f, "sha256"));
    if (!name || !name_ok(name)) {
      rc = txf_err_set(err, TXF_EPARSE, "%s: files[%zu]: bad \"name\"", path,
                       i);
      goto out;
    }
    if (!json_is_integer(rows) || json_integer_value(rows) < 0 ||
        !json_is_integer(size) || json_integer_value(size) < 0) {
      rc = txf_err_set(err, TXF_EPARSE,
                       "%s: files[%zu] '%s': \"rows\" and \"size_bytes\" "
                       "must be non-negative integers",
                       path, i, name);
      goto out;
    }
    if (!sha || !sha_ok(sha)) {
      rc = txf_err_set(err, TXF_EPARSE,
                       "%s: files[%zu] '%s': \"sha256\" is not 64 lowercase "
                       "hex digits",
                       path, i, name);
      goto out;
    }
    for (size_t j = 0; j < m->n_files; j++)
      if (!strcmp(m->files[j].name, name)) {
        rc = txf_err_set(err, TXF_EPARSE, "%s: file '%s' is listed twice",
                         path, name);
        goto out;
      }
    txf_manifest_file *mf = &m->files[m->n_files++];
    mf->name = txf_xstrdup(name);
    mf->rows = json_integer_value(rows);
    mf->size_bytes = (uint64_t)json_integer_value(size);
    memcpy(mf->sha256, sha, 65);
  }
out:
  if (rc)
    txf_manifest_release(m);
  json_decref(root);
  txf_buf_release(&b);
  free(path);
  return rc;
}

/* A file of the batch folder that the manifest must list: not the
 * manifest, not hidden ('.': temp files), not a '_' marker (_SUCCESS). */
static int is_data_file(const char *dir, const char *name) {
  if (name[0] == '.' || name[0] == '_')
    return 0;
  char *path = txf_path_join(dir, name);
  struct stat st;
  int reg = lstat(path, &st) == 0 && !S_ISDIR(st.st_mode);
  free(path);
  return reg;
}

static int listed(const txf_manifest *m, const char *name) {
  for (size_t i = 0; i < m->n_files; i++)
    if (!strcmp(m->files[i].name, name))
      return 1;
  return 0;
}

/* What the manifest says beyond its files: the batch folder's date
 * (ingest_date=D) is its ingest_date, and it lists every data file there,
 * so a part dropped in beside the others is not silently skipped. */
static int verify_folder(const txf_manifest *m, const char *dir, txf_err *err) {
  const char *base = strrchr(dir, '/');
  base = base ? base + 1 : dir;
  if (!strncmp(base, "ingest_date=", 12) &&
      strcmp(base + 12, m->ingest_date) != 0)
    return txf_err_set(err, TXF_ECORRUPT,
                       "%s/_manifest.json: \"ingest_date\" is %s, but the "
                       "batch is %s",
                       dir, m->ingest_date, base);
  DIR *d = opendir(dir);
  if (!d)
    return txf_err_errno(err, TXF_EIO, "%s: cannot list", dir);
  char **extra = NULL;
  size_t n_extra = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (is_data_file(dir, e->d_name) && !listed(m, e->d_name)) {
      extra = txf_xrealloc(extra, (n_extra + 1) * sizeof *extra);
      extra[n_extra++] = txf_xstrdup(e->d_name);
    }
  closedir(d);
  int rc = 0;
  if (n_extra) {
    /* the first by name, whatever order readdir gives */
    size_t first = 0;
    for (size_t i = 1; i < n_extra; i++)
      if (strcmp(extra[i], extra[first]) < 0)
        first = i;
    rc = txf_err_set(err, TXF_ECORRUPT,
                     "%s/%s: in the batch folder but not listed in "
                     "_manifest.json (list it, or move it out)%s",
                     dir, extra[first],
                     n_extra > 1 ? ", and more files like it" : "");
  }
  for (size_t i = 0; i < n_extra; i++)
    free(extra[i]);
  free(extra);
  return rc;
}

int txf_manifest_verify_listing(const txf_manifest *m, const char *dir,
                                txf_err *err) {
  int rc = verify_folder(m, dir, err);
  for (size_t i = 0; i < m->n_files && !rc; i++) {
    const txf_manifest_file *f = &m->files[i];
    char *path = txf_path_join(dir, f->name);
    struct stat st;
    if (stat(path, &st) != 0)
      rc = txf_err_set(err, TXF_ECORRUPT,
                       "%s: listed in the manifest but missing", path);
    else if ((uint64_t)st.st_size != f->size_bytes)
      rc = txf_err_set(err, TXF_ECORRUPT,
                       "%s: size %llu bytes, manifest says %llu", path,
                       (unsigned long long)st.st_size,
                       (unsigned long long)f->size_bytes);
    free(path);
  }
  return rc;
}

int txf_manifest_verify_file(const txf_manifest *m, const char *dir, size_t i,
                             txf_err *err) {
  const txf_manifest_file *f = &m->files[i];
  char *path = txf_path_join(dir, f->name);
  char hex[65];
  uint64_t size;
  int rc = txf_sha256_file(path, hex, &size, err);
  if (!rc && strcmp(hex, f->sha256) != 0)
    rc = txf_err_set(err, TXF_ECORRUPT, "%s: SHA-256 %s, manifest says %s",
                     path, hex, f->sha256);
  free(path);
  return rc;
}

int txf_manifest_verify(const txf_manifest *m, const char *dir,
                        txf_err *err) {
  int rc = txf_manifest_verify_listing(m, dir, err);
  for (size_t i = 0; i < m->n_files && !rc; i++)
    rc = txf_manifest_verify_file(m, dir, i, err);
  return rc;
}

static int write_manifest(const char *dir, const char *ingest_date,
                          const txf_manifest_file *files, size_t n,
                          const char *key, json_t *origin, txf_err *err) {
  json_t *root = json_object();
  json_object_set_new(root, "format", json_string(MANIFEST_FORMAT));
  json_object_set_new(root, "ingest_date", json_string(ingest_date));
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *f = json_object();
    json_object_set_new(f, "name", json_string(files[i].name));
    json_object_set_new(f, "rows", json_integer(files[i].rows));
    json_object_set_new(f, "size_bytes",
                        json_integer((json_int_t)files[i].size_bytes));
    json_object_set_new(f, "sha256", json_string(files[i].sha256));
    json_array_append_new(arr, f);
  }
  json_object_set_new(root, "files", arr);
  if (origin)
    json_object_set(root, key, origin);
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                       JSON_REAL_PRECISION(15));
  json_decref(root);
  if (!text)
    return txf_err_set(err, TXF_EINTERNAL, "cannot render the manifest");
  size_t len = strlen(text);
  char *path = txf_path_join(dir, "_manifest.json");
  char *withnl = txf_xasprintf("%s\n", text);
  free(text);
  int rc = txf_fs_write_atomic(path, withnl, len + 1, err);
  free(withnl);
  free(path);
  return rc;
}

int txf_manifest_write(const char *dir, const char *ingest_date,
                       const txf_manifest_file *files, size_t n,
                       struct json_t *generator, txf_err *err) {
  return write_manifest(dir, ingest_date, files, n, "generator", generator,
                        err);
}

int txf_manifest_write_landed(const char *dir, const char *ingest_date,
                              const txf_manifest_file *files, size_t n,
                              struct json_t *landed, txf_err *err) {
  return write_manifest(dir, ingest_date, files, n, "landed", landed, err);
}

/* ---------------------------------------------------------------- cards */

/* The names in DIR, sorted (none when it cannot be read); caller frees
 * each and the array. */
static char **dir_names(const char *dir, size_t *n) {
  char **v = NULL;
  txf_err e;
  if (txf_fs_list(dir, "", &v, n, &e))
    *n = 0;
  return v;
}

/* Does the file at PATH hold card numbers: its header's last field is
 * card_number (read as clean reads it: zstd and gzip decompressed)? A
 * file that cannot be read may: 1. */
static int holds_cards(const char *path) {
  txf_csv_reader *rd;
  txf_err e;
  if (txf_csv_reader_open_opts(&rd, path, 0, NULL, &e))
    return 1;
  txf_csv_record rec;
  int has = 0, cards = 1;
  if (!txf_csv_reader_next(rd, &rec, &has, &e) && has) {
    size_t k = rec.n_fields ? rec.n_fields - 1 : 0;
    cards = rec.n_fields > 0 && k < TXF_CSV_MAX_FIELDS &&
            rec.field_len[k] == 11 && !memcmp(rec.field[k], "card_number", 11);
  } else if (!has) {
    cards = 0; /* empty */
  }
  txf_csv_reader_free(rd);
  return cards;
}

void txf_bronze_card_files(const char *data_dir, txf_bronze_card_file **v,
                           size_t *n) {
  *v = NULL;
  *n = 0;
  size_t cap = 0, nd = 0;
  char *root = txf_path_join(data_dir, "bronze/transactions");
  char **days = dir_names(root, &nd);
  for (size_t i = 0; i < nd; i++) {
    size_t nf = 0;
    char *dir = txf_path_join(root, days[i]);
    char **files =
        strncmp(days[i], "ingest_date=", 12) == 0 && strlen(days[i]) == 22
            ? dir_names(dir, &nf)
            : NULL;
    for (size_t k = 0; k < nf; k++) {
      char *p = txf_path_join(dir, files[k]);
      struct stat st;
      if (files[k][0] != '_' && stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
          holds_cards(p)) {
        if (*n == cap) {
          cap = cap ? 2 * cap : 16;
          *v = txf_xrealloc(*v, cap * sizeof **v);
        }
        txf_bronze_card_file *f = &(*v)[(*n)++];
        f->rel = txf_xasprintf("bronze/transactions/%s/%s", days[i], files[k]);
        memcpy(f->ingest_date, days[i] + 12, 10);
        f->ingest_date[10] = '\0';
        f->size_bytes = (uint64_t)st.st_size;
      }
      free(p);
      free(files[k]);
    }
    free(files);
    free(dir);
    free(days[i]);
  }
  free(days);
  free(root);
}

void txf_bronze_card_files_free(txf_bronze_card_file *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i].rel);
  free(v);
}
