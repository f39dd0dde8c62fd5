/* The crash hook of the recovery tests (docs/silver.md, "Commit and
 * recovery"): TXNFLOW_CRASH_AT=step:n, read by the clean command into
 * txf_clean_opts, kills the process at the Nth passage through STEP, so a
 * test can check that the next clean finishes or discards the work. Here,
 * apart from clean.c and journal.c, because both call it. */
#include <string.h>
#include <unistd.h>

#include "clean/internal.h"

void txf_clean_crash_point(const txf_clean_crash *c, const char *step,
                           int *counter) {
  if (!c || !c->step || strcmp(c->step, step) != 0)
    return;
  if (++*counter == c->n)
    _exit(3); /* a simulated crash: no cleanup, no flush */
}
