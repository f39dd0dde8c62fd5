/* Logging with levels to a stream the caller chooses. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "util.h"

void txf_log(const txf_logger *lg, int level, const char *fmt, ...) {
  static const char *const tags[] = {"error", "warning", "info", "debug"};
  if (!lg || !lg->out || level > lg->level)
    return;
  char line[2048];
  size_t off = 0;
  if (lg->timestamps) {
    char ts[40];
    txf_ts_format(txf_wall_us() / 1000 * 1000, 0, 1, ts);
    off += (size_t)snprintf(line, sizeof line, "%s ", ts);
  }
  if (level <= TXF_LOG_WARN || lg->timestamps)
    off += (size_t)snprintf(line + off, sizeof line - off, "%s: ",
                            tags[level < 0   ? 0
                                 : level > 3 ? 3
                                             : level]);
  /* The message is formatted whole and its card numbers masked before it
   * is cut to the line (docs/card-data.md). */
  txf_buf msg;
  txf_buf_init(&msg, 0);
  va_list ap;
  va_start(ap, fmt);
  txf_buf_vprintf(&msg, fmt, ap);
  va_end(ap);
  if (msg.data)
    txf_pan_mask_text(msg.data, msg.len, TXF_PAN_MASK_FOUND);
  if (off < sizeof line)
    snprintf(line + off, sizeof line - off, "%s", msg.data ? msg.data : "");
  txf_buf_release(&msg);
  /* One fputs per line keeps lines whole when several processes share a
   * log stream. */
  fprintf(lg->out, "%s\n", line);
  fflush(lg->out);
}
