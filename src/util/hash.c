/* SHA-256 through OpenSSL's libcrypto. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include "util.h"

static void to_hex(const unsigned char *md, unsigned n, char *hex) {
  static const char digits[] = "0123456789abcdef";
  for (unsigned i = 0; i < n; i++) {
    hex[2 * i] = digits[md[i] >> 4];
    hex[2 * i + 1] = digits[md[i] & 15];
  }
  hex[2 * n] = '\0';
}

void txf_sha256_init(txf_sha256 *h) {
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
    fprintf(stderr, "txnflow: libcrypto cannot start SHA-256\n");
    abort();
  }
  h->md_ctx = c;
}

void txf_sha256_update(txf_sha256 *h, const void *p, size_t n) {
  EVP_DigestUpdate(h->md_ctx, p, n);
}

void txf_sha256_final_hex(txf_sha256 *h, char hex[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_DigestFinal_ex(h->md_ctx, md, &n);
  EVP_MD_CTX_free(h->md_ctx);
  h->md_ctx = NULL;
  to_hex(md, n, hex);
}

void txf_sha256_hex(const void *p, size_t n, char hex[65]) {
  txf_sha256 h;
  txf_sha256_init(&h);
  txf_sha256_update(&h, p, n);
  txf_sha256_final_hex(&h, hex);
}

int txf_sha256_file(const char *path, char hex[65], uint64_t *size_bytes,
                    txf_err *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return txf_err_errno(err, TXF_EIO, "%s", path);
  txf_sha256 h;
  txf_sha256_init(&h);
  static const size_t bufsz = 1 << 20;
  unsigned char *buf = txf_xmalloc(bufsz);
  uint64_t total = 0;
  for (;;) {
    ssize_t r = read(fd, buf, bufsz);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int rc = txf_err_errno(err, TXF_EIO, "%s", path);
      free(buf);
      close(fd);
      txf_sha256_final_hex(&h, hex);
      return rc;
    }
    if (r == 0)
      break;
    txf_sha256_update(&h, buf, (size_t)r);
    total += (uint64_t)r;
  }
  free(buf);
  close(fd);
  txf_sha256_final_hex(&h, hex);
  if (size_bytes)
    *size_bytes = total;
  return 0;
}
