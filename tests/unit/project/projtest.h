/* Helpers for the tests that need a project on disk. */
#ifndef TXF_PROJTEST_H
#define TXF_PROJTEST_H

#include "../../lib/unit.h"
#include "project/project.h"

/* Write txnflow.yml YML and (unless NULL) profiles.yml PROF into the
 * test's directory and load the project there; an error loading it fails
 * the test. Caller frees with txf_project_free(). */
static inline txf_project *projt_load(const char *yml, const char *prof) {
  unit_write_file(unit_path("txnflow.yml"), yml);
  if (prof)
    unit_write_file(unit_path("profiles.yml"), prof);
  txf_project *p = NULL;
  txf_err err;
  txf_err_clear(&err);
  if (txf_project_load(&p, unit_tmpdir(), &err))
    unit_fail(__FILE__, __LINE__, "txnflow.yml: %s", err.msg);
  return p;
}

#endif /* TXF_PROJTEST_H */
