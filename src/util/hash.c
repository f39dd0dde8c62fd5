/* SHA-256 and HMAC-SHA256 through OpenSSL's libcrypto. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

void txf_hex_encode(const void *p, size_t n, char *hex) {
  static const char digits[] = "0123456789abcdef";
  const unsigned char *md = p;
  for (size_t i = 0; i < n; i++) {
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
  txf_hex_encode(md, n, hex);
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
  /* a buffer no larger than the file (clean hashes 256 small index
     shards a run: a 1 MiB buffer each was most of a small clean's page
     faults under AddressSanitizer) */
  struct stat st;
  size_t bufsz = 1 << 20;
  if (fstat(fd, &st) == 0 && st.st_size >= 0 && (uint64_t)st.st_size < bufsz)
    bufsz = (size_t)st.st_size + 1;
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

void txf_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t n,
                     unsigned char mac[32]) {
  /* HMAC() is the one-shot call OpenSSL 3 keeps undeprecated; an empty
   * key or message is legal, so give it a non-NULL pointer either way. */
  static const unsigned char none = 0;
  unsigned len = 32;
  if (!HMAC(EVP_sha256(), key_len ? key : &none, (int)key_len, n ? msg : &none,
            n, mac, &len) ||
      len != 32) {
    fprintf(stderr, "txnflow: libcrypto cannot compute HMAC-SHA256\n");
    abort();
  }
}
