/* txnflow.yml's `retention:` section. Read here, below its three users:
 * `lake vacuum` applies it (src/clean/vacuum.c through cli), the scheduler
 * runs that vacuum once a day (src/orchestrate/scheduler.c), and the
 * dashboard's Lake page shows when each bronze file holding card numbers
 * goes (src/serve/api.c). docs/silver.md, "Retention"; the default of
 * bronze_card_files is decision 2201. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project/project.h"

#define DAY_US (INT64_C(86400) * 1000000)

static const char *const keys[] = {"snapshots",         "bronze", "quarantine",
                                   "bronze_card_files", "vacuum", NULL};

int txf_project_retention_parse(const char *s, int64_t *out_us) {
  if (strcmp(s, "forever") == 0) {
    *out_us = -1;
    return 0;
  }
  char *end;
  long long n = strtoll(s, &end, 10);
  if (end == s || n < 0 || n > 100000 || end[0] == '\0' || end[1] != '\0' ||
      s[0] < '0' || s[0] > '9')
    return -1;
  switch (end[0]) {
  case 'd':
    *out_us = n * DAY_US;
    return 0;
  case 'w':
    *out_us = n * 7 * DAY_US;
    return 0;
  case 'y':
    *out_us = n * 365 * DAY_US;
    return 0;
  default:
    return -1;
  }
}

void txf_project_retention_init(txf_project_retention *r) {
  memset(r, 0, sizeof *r);
  r->snapshots_us = r->bronze_us = r->quarantine_us = -1;
  r->bronze_card_files_us = -1;
  r->vacuum_daily = 1;
}

void txf_project_retention_settle(txf_project_retention *r) {
  if (r->card_files_explicit) {
    snprintf(r->card_files_from, sizeof r->card_files_from, "%s",
             "bronze_card_files");
    return;
  }
  /* the shortest duration the project configured: card numbers are the
   * data it least wants to keep (decision 2201); none configured keeps
   * them, like everything else, until the project says otherwise */
  const int64_t v[3] = {r->snapshots_us, r->bronze_us, r->quarantine_us};
  static const char *const names[3] = {"snapshots", "bronze", "quarantine"};
  r->bronze_card_files_us = -1;
  r->card_files_from[0] = '\0';
  for (int i = 0; i < 3; i++)
    if (v[i] >= 0 &&
        (r->bronze_card_files_us < 0 || v[i] < r->bronze_card_files_us)) {
      r->bronze_card_files_us = v[i];
      snprintf(r->card_files_from, sizeof r->card_files_from, "%s", names[i]);
    }
}

int txf_project_retention_read(txf_project_retention *out, const txf_project *p,
                               txf_err *err) {
  txf_project_retention_init(out);
  const txf_yaml_node *r =
      p ? txf_yaml_get(txf_yaml_root(p->doc), "retention") : NULL;
  if (!r || txf_yaml_is_null(r)) {
    txf_project_retention_settle(out);
    return 0;
  }
  const txf_yaml_doc *doc = p->doc;
  if (txf_yaml_kind(r) != TXF_YAML_MAP)
    return txf_yaml_error(doc, r, err, "key 'retention': expected a map");
  int rc = txf_yaml_check_keys(doc, r, keys, "retention", err);
  int64_t *outs[] = {&out->snapshots_us, &out->bronze_us, &out->quarantine_us,
                     &out->bronze_card_files_us};
  for (int i = 0; i < 4 && !rc; i++) {
    const char *v = NULL;
    rc = txf_yaml_get_str(doc, r, keys[i], NULL, &v, err);
    if (!rc && v && txf_project_retention_parse(v, outs[i]) != 0)
      rc = txf_yaml_error(doc, txf_yaml_get(r, keys[i]), err,
                          "retention.%s: '%s' is not a duration (400d, 52w, "
                          "5y or forever)",
                          keys[i], v);
    if (!rc && v && i == 3)
      out->card_files_explicit = 1;
  }
  const char *vac = NULL;
  if (!rc)
    rc = txf_yaml_get_str(doc, r, "vacuum", "daily", &vac, err);
  if (!rc && strcmp(vac, "daily") != 0 && strcmp(vac, "off") != 0)
    rc = txf_yaml_error(doc, txf_yaml_get(r, "vacuum"), err,
                        "retention.vacuum: '%s' is neither 'daily' (the "
                        "scheduler vacuums once a day) nor 'off'",
                        vac);
  if (!rc) {
    out->configured = 1;
    out->vacuum_daily = strcmp(vac, "daily") == 0;
    txf_project_retention_settle(out);
  }
  return rc;
}

int32_t txf_project_retention_removal_day(int32_t ingest_day, int64_t keep_us) {
  if (keep_us < 0)
    return INT32_MAX;
  /* as vacuum judges a batch: gone once its date is before the UTC date
   * of now - KEEP, i.e. on the first UTC day after ingest day + KEEP */
  return ingest_day + (int32_t)(keep_us / DAY_US) + 1;
}
