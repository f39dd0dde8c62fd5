/* The record blocks' pool (src/clean/rows.c): blocks given back have
 * their pages dropped, in batches or one munmap each, and come back
 * empty and writable. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/unit.h"
#include "clean/internal.h"

#define N_BLOCKS 100 /* three batches of 32 and a rest */

static void fill_trim_refill(txf_clean_pool *p) {
  txf_clean_block *b[N_BLOCKS];
  for (int i = 0; i < N_BLOCKS; i++) {
    b[i] = txf_clean_block_get(p);
    char *at = txf_clean_blocks_add(p, &b[i], &b[i], 1000);
    memset(at, 0xa5, 1000);
    ASSERT_EQ_U64(txf_clean_block_len(b[i]), 1000);
  }
  for (int i = 0; i < N_BLOCKS; i++)
    txf_clean_block_put(p, b[i]);
  txf_clean_pool_trim(p); /* every page dropped or unmapped */
  for (int i = 0; i < N_BLOCKS; i++) {
    txf_clean_block *c = txf_clean_block_get(p);
    ASSERT_EQ_U64(txf_clean_block_len(c), 0);
    ASSERT(txf_clean_block_next(c) == NULL);
    const char *d = txf_clean_block_data(c);
    for (int k = 0; k < 1000; k++)
      ASSERT(d[k] == 0); /* a dropped page comes back zeroed */
    char *at = NULL;
    txf_clean_block *tail = c;
    at = txf_clean_blocks_add(p, &c, &tail, 1000);
    memset(at, 0x5a, 1000);
    b[i] = c;
  }
  for (int i = 0; i < N_BLOCKS; i++)
    txf_clean_block_put(p, b[i]);
  txf_clean_pool_free(p); /* unmaps every block, in use or not */
}

TEST(clean_pool_dropped_blocks_come_back_empty) {
  fill_trim_refill(txf_clean_pool_new());
}

TEST(clean_pool_unmaps_where_madvise_is_refused) {
  txf_clean_pool *p = txf_clean_pool_new();
  txf_clean_pool_unmap_only(p);
  fill_trim_refill(p);
}
