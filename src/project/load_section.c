/* The warehouse load's section of txnflow.yml. It is read here, below both
 * of its readers: the load stage (src/load/) runs it, and the models find
 * the table it fills (txf_target.silver_*, target.c). Its name is `load:`;
 * `publish.warehouse`, from when publish did the load, is read the same
 * way so existing projects keep working (docs/load.md). */
#include <string.h>

#include "project/project.h"

static const char *const load_keys[] = {"target", "table", "add_columns",
                                        "iam_role", NULL};

int txf_project_load_section_read(txf_project_load_section *out,
                                  const txf_project *p, txf_err *err) {
  memset(out, 0, sizeof *out);
  out->table = "silver_transactions";
  const txf_yaml_doc *doc = p->doc;
  const txf_yaml_node *root = txf_yaml_root(doc);
  const txf_yaml_node *ld = txf_yaml_get(root, "load");
  const txf_yaml_node *pub = txf_yaml_get(root, "publish");
  const txf_yaml_node *wh = NULL;
  if (pub && txf_yaml_kind(pub) == TXF_YAML_MAP)
    wh = txf_yaml_get(pub, "warehouse");
  if (ld && txf_yaml_is_null(ld))
    ld = NULL;
  if (wh && txf_yaml_is_null(wh))
    wh = NULL;
  if (ld && wh)
    return txf_yaml_error(doc, ld, err,
                          "key 'load': the warehouse load is configured "
                          "twice, here and as publish.warehouse (line %d, "
                          "the older spelling): keep one",
                          txf_yaml_line(wh));
  const txf_yaml_node *n = ld ? ld : wh;
  if (!n)
    return 0;
  out->where = ld ? "load" : "publish.warehouse";
  if (txf_yaml_kind(n) != TXF_YAML_MAP)
    return txf_yaml_error(doc, n, err, "key '%s': expected a map", out->where);
  int rc = txf_yaml_check_keys(doc, n, load_keys, out->where, err);
  if (!rc)
    rc = txf_yaml_get_str(doc, n, "target", NULL, &out->target, err);
  if (!rc)
    rc = txf_yaml_get_str(doc, n, "table", "silver_transactions", &out->table,
                          err);
  if (!rc)
    rc = txf_yaml_get_bool(doc, n, "add_columns", 0, &out->add_columns, err);
  if (!rc)
    rc = txf_yaml_get_str(doc, n, "iam_role", NULL, &out->iam_role, err);
  if (!rc)
    out->configured = 1;
  return rc;
}
