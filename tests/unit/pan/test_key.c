#include "../../lib/unit.h"
#include "pan/pan.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char key_text[] = "0123456789abcdef0123456789abcdef";

static const char *key_file(const char *name, mode_t mode, const char *text) {
  const char *p = unit_path(name);
  unit_write_file(p, text);
  ASSERT(chmod(p, mode) == 0);
  return p;
}

TEST(pan_key_file_owner_only_is_read) {
  txf_err err;
  txf_pan_key *k;
  ASSERT_OK(txf_pan_key_load(&k,
                             key_file("k600", 0600,
                                      "0123456789abcdef"
                                      "0123456789abcdef\n"),
                             NULL, &err),
            &err);
  txf_pan_key *t;
  ASSERT_OK(txf_pan_key_load(&t, NULL, key_text, &err), &err);
  /* The file's trailing newline is not part of the key. */
  ASSERT_EQ_STR(txf_pan_key_id(k), txf_pan_key_id(t));
  txf_pan_key_free(t);
  txf_pan_key_free(k);
  ASSERT_OK(txf_pan_key_load(&k, key_file("k400", 0400, key_text), NULL, &err),
            &err);
  txf_pan_key_free(k);
}

TEST(pan_key_file_wrong_permissions_refused) {
  static const mode_t modes[] = {0644, 0640, 0604, 0660, 0602, 0610, 0601};
  for (size_t i = 0; i < TXF_ARRAY_LEN(modes); i++) {
    char name[16];
    snprintf(name, sizeof name, "k%o", (unsigned)modes[i]);
    txf_err err;
    txf_pan_key *k = (txf_pan_key *)1;
    ASSERT_EQ_I64(
        txf_pan_key_load(&k, key_file(name, modes[i], key_text), NULL, &err),
        TXF_ECONFIG);
    ASSERT(k == NULL);
    ASSERT_CONTAINS(err.msg, "chmod 600");
    /* The message names the file, never the key. */
    ASSERT(strstr(err.msg, key_text) == NULL);
  }
  txf_err err;
  txf_pan_key *k;
  ASSERT_EQ_I64(txf_pan_key_load(&k, unit_tmpdir(), NULL, &err), TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "not a regular file");
  ASSERT_EQ_I64(txf_pan_key_load(&k, unit_path("none"), NULL, &err),
                TXF_ENOTFOUND);
}

TEST(pan_key_length_and_source) {
  txf_err err;
  txf_pan_key *k;
  ASSERT_EQ_I64(
      txf_pan_key_load(&k, key_file("short", 0600, "short\n"), NULL, &err),
      TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "not 5");
  ASSERT_EQ_I64(txf_pan_key_load(&k, NULL, NULL, &err), TXF_ENOTFOUND);
  ASSERT_CONTAINS(err.msg, "TXNFLOW_PAN_KEY_FILE");
  setenv("TXNFLOW_PAN_KEY", key_text, 1);
  setenv("TXNFLOW_PAN_KEY_FILE", key_file("env", 0600, key_text), 1);
  ASSERT_EQ_I64(txf_pan_key_from_env(&k, &err), TXF_ECONFIG);
  unsetenv("TXNFLOW_PAN_KEY_FILE");
  ASSERT_OK(txf_pan_key_from_env(&k, &err), &err);
  txf_pan_key_free(k);
  unsetenv("TXNFLOW_PAN_KEY");
  setenv("TXNFLOW_PAN_KEY_FILE", unit_path("env"), 1);
  ASSERT_OK(txf_pan_key_from_env(&k, &err), &err);
  txf_pan_key_free(k);
}

TEST(pan_token_is_hmac_and_id_is_not_the_key) {
  txf_err err;
  txf_pan_key *k, *k2;
  ASSERT_OK(txf_pan_key_load(&k, NULL, key_text, &err), &err);
  ASSERT_OK(txf_pan_key_load(&k2, NULL, "another key, 16 bytes or more", &err),
            &err);
  char t1[65], t2[65], t3[65];
  txf_pan_token(k, "4111111111111111", 16, t1);
  txf_pan_token(k, "4111111111111111", 16, t2);
  txf_pan_token(k2, "4111111111111111", 16, t3);
  ASSERT_EQ_STR(t1, t2);
  ASSERT(strcmp(t1, t3) != 0);
  /* The token is HMAC-SHA256(key, digits), computed here on its own:
   * python3 -c "import hmac,hashlib; print(hmac.new(
   *   b'0123456789abcdef0123456789abcdef', b'4111111111111111',
   *   hashlib.sha256).hexdigest())" */
  ASSERT_EQ_STR(t1, "7b7e6cb2715c7b1c37110f035123abd3"
                    "fe93c04fa302da2946c4bd9342d2fd2c");
  /* The id is "k" + 16 hex of HMAC(key, "txnflow pan key id"), likewise
   * computed with python3's hmac. */
  const char *id = txf_pan_key_id(k);
  ASSERT_EQ_STR(id, "k51a5379980472f0b");
  ASSERT(strcmp(id, txf_pan_key_id(k2)) != 0);
  ASSERT(strstr(key_text, id + 1) == NULL);
  txf_pan_key_free(k2);
  txf_pan_key_free(k);
}

TEST(pan_tokenize_field_forms) {
  txf_err err;
  txf_pan_key *k;
  ASSERT_OK(txf_pan_key_load(&k, NULL, key_text, &err), &err);
  txf_pan_card a, b, c;
  ASSERT_OK(txf_pan_tokenize(k, "4111111111111111", 16, &a, &err), &err);
  ASSERT_OK(txf_pan_tokenize(k, "4111 1111 1111 1111", 19, &b, &err), &err);
  ASSERT_OK(txf_pan_tokenize(k, "4111-1111-1111-1111", 19, &c, &err), &err);
  /* One card, one token, however it was written. */
  ASSERT_EQ_STR(a.token, "7b7e6cb2715c7b1c37110f035123abd3"
                         "fe93c04fa302da2946c4bd9342d2fd2c");
  ASSERT_EQ_STR(b.token, a.token);
  ASSERT_EQ_STR(c.token, a.token);
  ASSERT_EQ_STR(a.bin, "411111");
  ASSERT_EQ_STR(a.last4, "1111");
  /* Amex, 15 digits; no key: checked only. */
  ASSERT_OK(txf_pan_tokenize(NULL, "3782-822463-10005", 17, &a, &err), &err);
  ASSERT_EQ_STR(a.token, "");
  ASSERT_EQ_STR(a.last4, "0005");
  static const struct {
    const char *f, *msg;
  } bad[] = {
      {"4111111111111112", "wrong check digit (16 digits) in "
                           "'411111******1112'"},
      {"411111111111111", "wrong check digit (15 digits) in "
                          "'411111*****1111'"},
      {"411111111111", "too few digits for a card number (12 digits) in "
                       "'411111**1111'"},
      {"41111111111111111111", "too many digits for a card number (20 "
                               "digits) in '411111*********1111'"},
      {"4111  1111 1111 1111", "not digits"},
      {"-4111111111111111", "not digits"},
      {"4111111111111111 ", "not digits"},
      {"4111x111111111111", "not digits"},
      {"", "empty"},
  };
  for (size_t i = 0; i < TXF_ARRAY_LEN(bad); i++) {
    ASSERT_EQ_I64(txf_pan_tokenize(k, bad[i].f, strlen(bad[i].f), &a, &err),
                  TXF_EPARSE);
    ASSERT_CONTAINS(err.msg, bad[i].msg);
    /* The message never holds the whole number. */
    if (strlen(bad[i].f) >= 13)
      ASSERT(strstr(err.msg, bad[i].f) == NULL);
  }
  txf_pan_key_free(k);
}
