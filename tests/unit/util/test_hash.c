#include "../../lib/unit.h"
#include "util/util.h"
#include <stdlib.h>
#include <string.h>

/* RFC 4231, section 4: the HMAC-SHA-256 test cases 1..7 (case 5 is
 * compared on its first 128 bits, as the RFC gives it). */
static void hmac_case(const unsigned char *key, size_t key_len,
                      const char *data, size_t n, const char *want) {
  unsigned char mac[32];
  char hex[65];
  txf_hmac_sha256(key, key_len, data, n, mac);
  txf_hex_encode(mac, 32, hex);
  hex[strlen(want)] = '\0';
  ASSERT_EQ_STR(hex, want);
}

TEST(hmac_sha256_rfc4231_vectors) {
  unsigned char k[131];
  char d[160];
  memset(k, 0x0b, 20);
  hmac_case(k, 20, "Hi There", 8,
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  hmac_case((const unsigned char *)"Jefe", 4, "what do ya want for nothing?",
            28,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  memset(k, 0xaa, 20);
  memset(d, 0xdd, 50);
  hmac_case(k, 20, d, 50,
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  for (int i = 0; i < 25; i++)
    k[i] = (unsigned char)(i + 1);
  memset(d, 0xcd, 50);
  hmac_case(k, 25, d, 50,
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  memset(k, 0x0c, 20);
  hmac_case(k, 20, "Test With Truncation", 20,
            "a3b6167473100ee06e0c796c2955552b");
  memset(k, 0xaa, 131);
  static const char t6[] =
      "Test Using Larger Than Block-Size Key - Hash Key First";
  hmac_case(k, 131, t6, sizeof t6 - 1,
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  static const char t7[] =
      "This is a test using a larger than block-size key and a larger than "
      "block-size data. The key needs to be hashed before being used by the "
      "HMAC algorithm.";
  hmac_case(k, 131, t7, sizeof t7 - 1,
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(hmac_sha256_empty_key_and_message) {
  /* Computed independently: python3 -c "import hmac,hashlib;
   * print(hmac.new(b'',b'',hashlib.sha256).hexdigest())" */
  hmac_case(NULL, 0, NULL, 0,
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

/* txf_sha256_file of an empty file, a short one and one past its 1 MiB
 * read buffer equals the digest of the same bytes in memory. */
static void sha256_file_case(const char *name, size_t n) {
  unsigned char *data = txf_xmalloc(n + 1);
  for (size_t i = 0; i < n; i++)
    data[i] = (unsigned char)(i * 131 + 7);
  txf_err err = {0};
  const char *path = unit_path(name);
  ASSERT_OK(txf_fs_write_atomic(path, data, n, &err), &err);
  char want[65], got[65];
  uint64_t size = 1;
  txf_sha256_hex(data, n, want);
  ASSERT_OK(txf_sha256_file(path, got, &size, &err), &err);
  ASSERT_EQ_STR(got, want);
  ASSERT_EQ_U64(size, n);
  free(data);
}

TEST(sha256_file_matches_memory_digest) {
  sha256_file_case("empty", 0);
  sha256_file_case("abc", 3);
  sha256_file_case("big", (3u << 20) / 2 + 17);
  char hex[65];
  txf_sha256_hex("abc", 3, hex);
  ASSERT_EQ_STR(
      hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
