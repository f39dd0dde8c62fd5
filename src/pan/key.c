/* The tokenization key: loaded from a file only its owner can read (or an
 * environment variable), named by an id that does not reveal it, and used
 * for HMAC-SHA256 tokens. PCI DSS 3.5.1.1 asks for a keyed hash; the key
 * stays outside the project, so nothing in the lake can recompute one. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pan.h"

struct txf_pan_key {
  unsigned char *bytes;
  size_t len;
  char id[18]; /* "k" + 16 hex + NUL */
};

static int key_make(txf_pan_key **out, const char *p, size_t len,
                    const char *from, txf_err *err) {
  /* One trailing newline is how editors and `echo` end a file; it is not
   * part of the key, so the same key typed into the variable matches. */
  if (len && p[len - 1] == '\n')
    len--;
  if (len && p[len - 1] == '\r')
    len--;
  if (len < TXF_PAN_KEY_MIN_BYTES || len > TXF_PAN_KEY_MAX_BYTES)
    return txf_err_set(err, TXF_ECONFIG,
                       "%s: a card-number key has %d to %d bytes, not %zu "
                       "(make one with: head -c 32 /dev/urandom | base64)",
                       from, TXF_PAN_KEY_MIN_BYTES, TXF_PAN_KEY_MAX_BYTES, len);
  txf_pan_key *k = txf_xcalloc(1, sizeof *k);
  k->bytes = txf_xmalloc(len);
  memcpy(k->bytes, p, len);
  k->len = len;
  static const char label[] = "txnflow pan key id";
  unsigned char mac[32];
  txf_hmac_sha256(k->bytes, k->len, label, sizeof label - 1, mac);
  k->id[0] = 'k';
  txf_hex_encode(mac, 8, k->id + 1);
  OPENSSL_cleanse(mac, sizeof mac);
  *out = k;
  return 0;
}

static int key_read_file(txf_pan_key **out, const char *path, txf_err *err) {
  /* Open first, then judge what was opened (fstat), so the file checked is
   * the file read. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return txf_err_errno(err, errno == ENOENT ? TXF_ENOTFOUND : TXF_EIO,
                         "card-number key file '%s'", path);
  struct stat st;
  int rc = 0;
  if (fstat(fd, &st) != 0)
    rc = txf_err_errno(err, TXF_EIO, "card-number key file '%s'", path);
  else if (!S_ISREG(st.st_mode))
    rc = txf_err_set(err, TXF_ECONFIG,
                     "card-number key file '%s' is not a regular file", path);
  else if (st.st_uid != geteuid())
    rc = txf_err_set(err, TXF_ECONFIG,
                     "card-number key file '%s' belongs to uid %u, not to "
                     "this user (uid %u)",
                     path, (unsigned)st.st_uid, (unsigned)geteuid());
  else if (st.st_mode & (S_IRWXG | S_IRWXO))
    rc = txf_err_set(err, TXF_ECONFIG,
                     "card-number key file '%s' has mode %04o: others may "
                     "read or change it; allow its owner only (chmod 600)",
                     path, (unsigned)(st.st_mode & 07777));
  else if (st.st_size > TXF_PAN_KEY_MAX_BYTES + 2)
    rc = txf_err_set(err, TXF_ECONFIG,
                     "card-number key file '%s' has %lld bytes, more than "
                     "a key's %d",
                     path, (long long)st.st_size, TXF_PAN_KEY_MAX_BYTES);
  if (rc) {
    close(fd);
    return rc;
  }
  unsigned char buf[TXF_PAN_KEY_MAX_BYTES + 3];
  size_t len = 0;
  for (;;) {
    ssize_t r = read(fd, buf + len, sizeof buf - len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      rc = txf_err_errno(err, TXF_EIO, "card-number key file '%s'", path);
      break;
    }
    if (r == 0 || (len += (size_t)r) == sizeof buf)
      break;
  }
  close(fd);
  if (!rc)
    rc = key_make(out, (const char *)buf, len, path, err);
  OPENSSL_cleanse(buf, sizeof buf);
  return rc;
}

int txf_pan_key_load(txf_pan_key **out, const char *path, const char *text,
                     txf_err *err) {
  *out = NULL;
  if (path && *path)
    return key_read_file(out, path, err);
  if (text && *text)
    return key_make(out, text, strlen(text), "TXNFLOW_PAN_KEY", err);
  return txf_err_set(err, TXF_ENOTFOUND,
                     "no card-number key: set TXNFLOW_PAN_KEY_FILE to a file "
                     "only you can read (or TXNFLOW_PAN_KEY)");
}

int txf_pan_key_from_env(txf_pan_key **out, txf_err *err) {
  const char *path = getenv("TXNFLOW_PAN_KEY_FILE");
  const char *text = getenv("TXNFLOW_PAN_KEY");
  if (path && *path && text && *text) {
    *out = NULL;
    return txf_err_set(err, TXF_ECONFIG,
                       "both TXNFLOW_PAN_KEY_FILE and TXNFLOW_PAN_KEY are "
                       "set; unset one");
  }
  return txf_pan_key_load(out, path, text, err);
}

void txf_pan_key_free(txf_pan_key *k) {
  if (!k)
    return;
  OPENSSL_cleanse(k->bytes, k->len);
  free(k->bytes);
  free(k);
}

const char *txf_pan_key_id(const txf_pan_key *k) { return k->id; }

void txf_pan_token(const txf_pan_key *k, const char *digits, size_t n,
                   char token[65]) {
  unsigned char mac[32];
  txf_hmac_sha256(k->bytes, k->len, digits, n, mac);
  txf_hex_encode(mac, 32, token);
}

int txf_pan_tokenize(const txf_pan_key *k, const char *f, size_t n,
                     txf_pan_card *out, txf_err *err) {
  char d[TXF_PAN_MAX_DIGITS + 1];
  size_t nd = 0;
  const char *why = NULL;
  for (size_t i = 0; i < n && !why; i++) {
    char c = f[i];
    if (c >= '0' && c <= '9') {
      if (nd < TXF_PAN_MAX_DIGITS)
        d[nd] = c;
      nd++;
    } else if (!((c == ' ' || c == '-') && i > 0 && i + 1 < n &&
                 f[i - 1] >= '0' && f[i - 1] <= '9' && f[i + 1] >= '0' &&
                 f[i + 1] <= '9')) {
      why = "not digits (a single space or dash may group them)";
    }
  }
  size_t shown = nd < TXF_PAN_MAX_DIGITS ? nd : TXF_PAN_MAX_DIGITS;
  if (!why && nd == 0)
    why = "empty";
  else if (!why && (nd < TXF_PAN_MIN_DIGITS || nd > TXF_PAN_MAX_DIGITS))
    why = nd < TXF_PAN_MIN_DIGITS ? "too few digits for a card number"
                                  : "too many digits for a card number";
  else if (!why && !txf_pan_luhn_ok(d, nd))
    why = "wrong check digit";
  if (why) {
    /* The digits as far as they go, masked: a malformed number is still
     * a card number to hide. */
    char masked[TXF_PAN_MAX_DIGITS + 1];
    txf_pan_mask_digits(d, shown, masked);
    return txf_err_set(err, TXF_EPARSE, "card_number: %s (%zu digits) in '%s'",
                       why, nd, masked);
  }
  memcpy(out->bin, d, 6);
  out->bin[6] = '\0';
  memcpy(out->last4, d + nd - 4, 4);
  out->last4[4] = '\0';
  out->token[0] = '\0';
  if (k)
    txf_pan_token(k, d, nd, out->token);
  OPENSSL_cleanse(d, sizeof d);
  return 0;
}
