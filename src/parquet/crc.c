/* CRC-32 of Parquet pages (PageHeader.crc, parquet.thrift): the standard
 * CRC-32 of gzip and zlib (polynomial 0x04C11DB7, reflected 0xEDB88320,
 * initial and final xor 0xFFFFFFFF) over the page's bytes as written,
 * after the header. Slicing by 8: eight table lookups per 8 bytes, about
 * 2 GB/s, so checking every page costs little beside zstd. */
#include <pthread.h>
#include <string.h>

#include "parquet/pq_internal.h"

/* GLOBAL: the tables are computed once and only read after that. */
static uint32_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    crc_tab[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++)
    for (int t = 1; t < 8; t++)
      crc_tab[t][i] =
          (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
}

uint32_t txf_pq_crc32(uint32_t crc, const void *p, size_t n) {
  pthread_once(&crc_once, crc_init);
  const uint8_t *b = p;
  crc = ~crc;
  while (n >= 8) {
    uint32_t lo, hi;
    memcpy(&lo, b, 4);
    memcpy(&hi, b + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    lo = __builtin_bswap32(lo);
    hi = __builtin_bswap32(hi);
#endif
    lo ^= crc;
    crc = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^
          crc_tab[5][(lo >> 16) & 0xff] ^ crc_tab[4][lo >> 24] ^
          crc_tab[3][hi & 0xff] ^ crc_tab[2][(hi >> 8) & 0xff] ^
          crc_tab[1][(hi >> 16) & 0xff] ^ crc_tab[0][hi >> 24];
    b += 8;
    n -= 8;
  }
  while (n--)
    crc = crc_tab[0][(crc ^ *b++) & 0xff] ^ (crc >> 8);
  return ~crc;
}
