/* A progress bar on a TTY's stderr; silent when stderr is not a TTY, so
 * logs and CI output carry no control characters. */
#include <stdio.h>
#include <unistd.h>

#include "util.h"

void txf_progress_start(txf_progress *p, const char *label, uint64_t total) {
  p->label = label;
  p->total = total;
  p->done = 0;
  p->out = stderr;
  p->active = isatty(fileno(stderr));
  p->start_us = txf_mono_us();
  p->last_draw_us = 0;
}

static void draw(txf_progress *p) {
  double secs = (double)(txf_mono_us() - p->start_us) / 1e6;
  if (p->total) {
    int width = 30;
    int fill = (int)((double)p->done / (double)p->total * width);
    if (fill > width)
      fill = width;
    fprintf(p->out, "\r%-12s [", p->label);
    for (int i = 0; i < width; i++)
      fputc(i < fill ? '#' : '.', p->out);
    fprintf(p->out, "] %3d%% %.1fs", (int)(100.0 * p->done / p->total), secs);
  } else {
    fprintf(p->out, "\r%-12s %llu %.1fs", p->label,
            (unsigned long long)p->done, secs);
  }
  fflush(p->out);
}

void txf_progress_update(txf_progress *p, uint64_t done) {
  p->done = done;
  if (!p->active)
    return;
  int64_t now = txf_mono_us();
  if (now - p->last_draw_us < 100000)
    return;
  p->last_draw_us = now;
  draw(p);
}

void txf_progress_finish(txf_progress *p) {
  if (!p->active)
    return;
  if (p->total)
    p->done = p->total;
  draw(p);
  fputc('\n', p->out);
  p->active = 0;
}
