/* The credential chain's pieces: the AWS shared-file parser, the expiry and
 * renewal logic (a fake source and a fake clock), the SigV4 signer against
 * the AWS test suite's vectors, the container endpoint's URL rules, and
 * how the chain reads the environment and the shared files. The sources
 * that fetch over HTTP are tested end to end (tests/cli/t5040-*). */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../lib/unit.h"
#include "s3/internal.h"

static txf_s3_ini *ini_of(const char *text, int config) {
  txf_s3_ini *ini = txf_s3_ini_new();
  txf_s3_ini_add(ini, text, strlen(text), config);
  return ini;
}

#define GET(ini, prof, key) txf_s3_ini_get((ini), (prof), (key))

TEST(s3_ini_credentials_file_syntax) {
  txf_s3_ini *i = ini_of("key_before = any section\r\n"
                         "# a comment\n"
                         "[default]\r\n"
                         "aws_access_key_id = AKIA1 ; trailing comment\r\n"
                         "aws_secret_access_key=se#cret  # comment\n"
                         "  aws_session_token  =  tok=en==  \n"
                         "no equals sign here\n"
                         "= no key\n"
                         "[prod]\n"
                         "aws_access_key_id = AKIA2\n"
                         "[ spaced ]\n"
                         "x = 1\n"
                         "[profile prod]\n"
                         "y = 2\n"
                         "[default]\n"
                         "aws_access_key_id = AKIA3\n",
                         0);
  ASSERT_EQ_STR(GET(i, "default", "aws_access_key_id"),
                "AKIA3"); /* later wins */
  ASSERT_EQ_STR(GET(i, "default", "aws_secret_access_key"), "se#cret");
  ASSERT_EQ_STR(GET(i, "default", "aws_session_token"), "tok=en==");
  ASSERT(!GET(i, "default", "key_before"));
  ASSERT(!GET(i, "default", "no equals sign here"));
  ASSERT_EQ_STR(GET(i, "prod", "aws_access_key_id"), "AKIA2");
  ASSERT(!GET(i, "prod",
              "y")); /* "[profile prod]" is a profile of that name here */
  ASSERT_EQ_STR(GET(i, "profile prod", "y"), "2");
  ASSERT_EQ_STR(GET(i, " spaced ", "x"), "1"); /* the name as written */
  ASSERT(!txf_s3_ini_has_profile(i, "spaced"));
  const txf_strlist *l = txf_s3_ini_profiles(i);
  ASSERT_EQ_U64(l->n, 4);
  ASSERT_EQ_STR(l->v[0], "default");
  ASSERT_EQ_STR(l->v[1], "prod");
  txf_s3_ini_free(i);
}

TEST(s3_ini_config_file_sections_and_subsections) {
  txf_s3_ini *i = ini_of("[default]\n"
                         "region = eu-west-1\n"
                         "[profile etl]\n"
                         "role_arn = arn:aws:iam::1:role/x\n"
                         "s3 =\n"
                         "  max_concurrent_requests = 4\n"
                         "\tmultipart_chunksize = 8MB\n"
                         "source_profile = default\n"
                         "  indented_but_not_in_a_sub = 1\n"
                         "services = local\n"
                         "[profile \"quoted\"]\n"
                         "a = 1\n"
                         "[profile  two-spaces]\n"
                         "b = 2\n"
                         "[plain]\n"
                         "c = 3\n"
                         "[sso-session corp]\n"
                         "sso_region = us-east-1\n"
                         "[services local]\n"
                         "sts =\n"
                         "  endpoint_url = http://127.0.0.1:9\n"
                         "[profile default]\n"
                         "output = json\n",
                         1);
  ASSERT_EQ_STR(GET(i, "default", "region"), "eu-west-1");
  ASSERT_EQ_STR(GET(i, "default", "output"), "json");
  ASSERT_EQ_STR(GET(i, "etl", "s3.max_concurrent_requests"), "4");
  ASSERT_EQ_STR(GET(i, "etl", "s3.multipart_chunksize"), "8MB");
  ASSERT_EQ_STR(GET(i, "etl", "source_profile"), "default");
  ASSERT_EQ_STR(GET(i, "etl", "indented_but_not_in_a_sub"), "1");
  ASSERT(!GET(i, "etl", "s3")); /* a sub-section is not a value */
  ASSERT_EQ_STR(GET(i, "quoted", "a"), "1");
  ASSERT(!txf_s3_ini_has_profile(i, "two-spaces"));
  ASSERT(!txf_s3_ini_has_profile(i, " two-spaces"));
  ASSERT(!txf_s3_ini_has_profile(i, "plain"));
  ASSERT(!txf_s3_ini_has_profile(i, "corp"));
  ASSERT_EQ_STR(txf_s3_ini_service(i, "local", "sts.endpoint_url"),
                "http://127.0.0.1:9");
  ASSERT(!GET(i, "local", "sts.endpoint_url"));
  ASSERT_EQ_U64(txf_s3_ini_profiles(i)->n, 3); /* default, etl, quoted */
  txf_s3_ini_free(i);
}

/* ---------------------------------------------------------------- renewal */

#define S (TXF_US_PER_S)

TEST(s3_keys_state_fresh_renew_expired) {
  int64_t exp = 1000 * S, margin = 300 * S;
  ASSERT_EQ_I64(txf_s3_keys_state(0, 999999 * S, margin), TXF_S3_KEYS_FRESH);
  ASSERT_EQ_I64(txf_s3_keys_state(exp, 699 * S, margin), TXF_S3_KEYS_FRESH);
  ASSERT_EQ_I64(txf_s3_keys_state(exp, 700 * S, margin), TXF_S3_KEYS_RENEW);
  ASSERT_EQ_I64(txf_s3_keys_state(exp, 994 * S, margin), TXF_S3_KEYS_RENEW);
  /* the last seconds count as expired: a request signed then may arrive
   * after the expiry */
  ASSERT_EQ_I64(txf_s3_keys_state(exp, exp - TXF_S3_EXPIRY_SKEW_US, margin),
                TXF_S3_KEYS_EXPIRED);
  ASSERT_EQ_I64(txf_s3_keys_state(exp, 2000 * S, margin), TXF_S3_KEYS_EXPIRED);
  /* a margin below the skew */
  ASSERT_EQ_I64(txf_s3_keys_state(exp, 990 * S, S), TXF_S3_KEYS_FRESH);
}

/* A fake source: keys "AK<n>" valid for LIFE from the fake clock's now;
 * FAIL makes the next fetches fail. */
typedef struct fake {
  pthread_mutex_t mu;
  int64_t now_us;
  int64_t life_us;
  int fetches;
  int fail;
  int sleep_ms;
} fake;

static int64_t fake_clock(void *ud) {
  fake *f = ud;
  pthread_mutex_lock(&f->mu);
  int64_t t = f->now_us;
  pthread_mutex_unlock(&f->mu);
  return t;
}

static int fake_fetch(void *ud, txf_s3_keys *out, txf_err *err) {
  fake *f = ud;
  if (f->sleep_ms)
    usleep((useconds_t)f->sleep_ms * 1000);
  pthread_mutex_lock(&f->mu);
  int n = ++f->fetches;
  int fail = f->fail;
  int64_t exp = f->now_us + f->life_us;
  pthread_mutex_unlock(&f->mu);
  if (fail)
    return txf_err_set(err, TXF_ENET, "sts down");
  out->access_key_id = txf_xasprintf("AK%d", n);
  out->secret_access_key = txf_xasprintf("very-secret-%d", n);
  out->session_token = txf_xasprintf("token-%d", n);
  out->expires_us = f->life_us ? exp : 0;
  return 0;
}

static txf_s3_creds *fake_chain(fake *f, int64_t margin_s, int renewable,
                                const txf_logger *log) {
  pthread_mutex_init(&f->mu, NULL);
  txf_s3_creds_info info = {.renewable = renewable};
  snprintf(info.source, sizeof info.source, "test");
  snprintf(info.detail, sizeof info.detail, "a fake");
  txf_s3_creds *c = NULL;
  txf_err err;
  ASSERT_OK(txf_s3_creds_new_source(&c, fake_fetch, f, fake_clock, f, margin_s,
                                    log, &info, &err),
            &err);
  return c;
}

static void expect_keys(txf_s3_creds *c, uint64_t rejected, const char *ak,
                        uint64_t gen) {
  txf_s3_keys k;
  txf_err err;
  ASSERT_OK(txf_s3_creds_get(c, rejected, &k, &err), &err);
  ASSERT_EQ_STR(k.access_key_id, ak);
  ASSERT_EQ_U64(k.generation, gen);
  txf_s3_keys_release(&k);
}

TEST(s3_creds_renewed_within_the_margin_not_before) {
  fake f = {.now_us = 1000 * S, .life_us = 3600 * S};
  txf_s3_creds *c = fake_chain(&f, 300, 1, NULL);
  ASSERT_EQ_I64(f.fetches, 1); /* the first keys, at creation */
  expect_keys(c, 0, "AK1", 1);
  f.now_us += 3299 * S; /* 301 s left */
  expect_keys(c, 0, "AK1", 1);
  ASSERT_EQ_I64(f.fetches, 1);
  f.now_us += 2 * S; /* 299 s left: renewed */
  expect_keys(c, 0, "AK2", 2);
  expect_keys(c, 0, "AK2", 2);
  ASSERT_EQ_I64(f.fetches, 2);
  txf_s3_creds_info in;
  txf_s3_creds_describe(c, &in);
  ASSERT_EQ_STR(in.source, "test");
  ASSERT_EQ_STR(in.access_key_hint, "…"); /* "AK2" is too short to show */
  ASSERT_EQ_I64(in.expires_us, f.now_us + 3600 * S);
  txf_s3_creds_free(c);
}

TEST(s3_creds_failed_renewal_keeps_valid_keys_and_retries_later) {
  char *logbuf = NULL;
  size_t loglen = 0;
  FILE *lf = open_memstream(&logbuf, &loglen);
  txf_logger log = {.level = TXF_LOG_DEBUG, .out = lf};
  fake f = {.now_us = 1000 * S, .life_us = 600 * S};
  txf_s3_creds *c = fake_chain(&f, 300, 1, &log);
  f.fail = 1;
  f.now_us += 400 * S; /* 200 s left: renewal due, and it fails */
  expect_keys(c, 0, "AK1", 1);
  ASSERT_EQ_I64(f.fetches, 2);
  /* not tried again on every request */
  f.now_us += 10 * S;
  expect_keys(c, 0, "AK1", 1);
  ASSERT_EQ_I64(f.fetches, 2);
  f.now_us += 25 * S; /* past the 30 s pause */
  expect_keys(c, 0, "AK1", 1);
  ASSERT_EQ_I64(f.fetches, 3);
  /* expired and still failing: an error, without the secret */
  f.now_us += 200 * S;
  txf_s3_keys k;
  txf_err err;
  ASSERT_EQ_I64(txf_s3_creds_get(c, 0, &k, &err), TXF_ENET);
  ASSERT_CONTAINS(err.msg, "the credentials from test");
  ASSERT_CONTAINS(err.msg, "could not be renewed: sts down");
  ASSERT(k.access_key_id == NULL);
  /* back: renewed on the next call */
  f.fail = 0;
  expect_keys(c, 0, "AK5", 2);
  txf_s3_creds_free(c);
  fclose(lf);
  ASSERT_CONTAINS(logbuf,
                  "renewing the credentials from test failed (sts down)");
  ASSERT(!strstr(logbuf, "very-secret"));
  ASSERT(!strstr(logbuf, "token-"));
  free(logbuf);
}

TEST(s3_creds_refused_generation_renews_once) {
  fake f = {.now_us = 1000 * S, .life_us = 3600 * S};
  txf_s3_creds *c = fake_chain(&f, 300, 1, NULL);
  expect_keys(c, 1, "AK2", 2); /* generation 1 refused: renewed */
  expect_keys(c, 1, "AK2", 2); /* another caller refused with 1: done */
  ASSERT_EQ_I64(f.fetches, 2);
  txf_s3_creds_free(c);
  /* keys that cannot be renewed: the refusal is the error */
  fake g = {.now_us = 1000 * S};
  c = fake_chain(&g, 300, 0, NULL);
  txf_s3_keys k;
  txf_err err;
  ASSERT_EQ_I64(txf_s3_creds_get(c, 1, &k, &err), TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "the server says the credentials from test have "
                           "expired");
  ASSERT_EQ_I64(g.fetches, 1);
  txf_s3_creds_free(c);
}

TEST(s3_creds_answer_already_expired_is_an_error) {
  fake f = {.now_us = 1000 * S, .life_us = 2 * S}; /* within the skew */
  pthread_mutex_init(&f.mu, NULL);
  txf_s3_creds *c = NULL;
  txf_err err;
  ASSERT_EQ_I64(txf_s3_creds_new_source(&c, fake_fetch, &f, fake_clock, &f, 300,
                                        NULL, NULL, &err),
                TXF_ECONFIG);
  ASSERT(c == NULL);
  ASSERT_CONTAINS(err.msg,
                  "custom credentials expired at 1970-01-01T00:16:42Z");
}

typedef struct getter {
  txf_s3_creds *c;
  char ak[16];
} getter;

static void *get_thread(void *p) {
  getter *g = p;
  txf_s3_keys k;
  txf_err err;
  if (txf_s3_creds_get(g->c, 0, &k, &err) == 0) {
    snprintf(g->ak, sizeof g->ak, "%s", k.access_key_id);
    txf_s3_keys_release(&k);
  }
  return NULL;
}

TEST(s3_creds_one_renewal_for_many_threads) {
  fake f = {.now_us = 1000 * S, .life_us = 600 * S};
  txf_s3_creds *c = fake_chain(&f, 300, 1, NULL);
  f.sleep_ms = 50; /* a slow STS: the others wait for its answer */
  f.now_us += 500 * S;
  pthread_t t[8];
  getter g[8];
  for (int i = 0; i < 8; i++) {
    g[i] = (getter){.c = c};
    ASSERT(pthread_create(&t[i], NULL, get_thread, &g[i]) == 0);
  }
  for (int i = 0; i < 8; i++) {
    pthread_join(t[i], NULL);
    ASSERT_EQ_STR(g[i].ak, "AK2");
  }
  ASSERT_EQ_I64(f.fetches, 2);
  txf_s3_creds_free(c);
}

/* ---------------------------------------------------------------- sigv4 */

static char *auth_of(txf_s3_sigv4_req *r, const char *ak, const char *sk,
                     const char *tok, const char *const *lines) {
  struct curl_slist *h = NULL;
  for (size_t i = 0; lines && lines[i]; i++)
    h = curl_slist_append(h, lines[i]);
  txf_s3_keys k = {.access_key_id = (char *)ak,
                   .secret_access_key = (char *)sk,
                   .session_token = (char *)tok};
  r->headers = h;
  txf_buf b;
  txf_buf_init(&b, 0);
  txf_s3_sigv4_sign(r, &k, &b);
  curl_slist_free_all(h);
  return txf_buf_take(&b, NULL);
}

#define EMPTY_SHA                                                              \
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

TEST(s3_sigv4_matches_the_aws_test_suite) {
  /* get-vanilla, from the AWS SigV4 test suite */
  txf_s3_sigv4_req r = {.method = "GET",
                        .host = "example.amazonaws.com",
                        .path = "/",
                        .payload_sha256 = EMPTY_SHA,
                        .region = "us-east-1",
                        .service = "service",
                        .amz_date = "20150830T123600Z"};
  char *a = auth_of(&r, "AKIDEXAMPLE",
                    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL, NULL);
  ASSERT_EQ_STR(a, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/"
                   "us-east-1/service/aws4_request, SignedHeaders=host;"
                   "x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e"
                   "8372ff2a2260956d9b8aae1d763fbf31");
  free(a);
  /* S3's documented example: GET Object with a Range header */
  const char *h[] = {"Range: bytes=0-9", "x-amz-content-sha256: " EMPTY_SHA,
                     NULL};
  r = (txf_s3_sigv4_req){.method = "GET",
                         .host = "examplebucket.s3.amazonaws.com",
                         .path = "/test.txt",
                         .payload_sha256 = EMPTY_SHA,
                         .region = "us-east-1",
                         .service = "s3",
                         .amz_date = "20130524T000000Z"};
  a = auth_of(&r, "AKIAIOSFODNN7EXAMPLE",
              "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL, h);
  ASSERT_CONTAINS(a, "SignedHeaders=host;range;x-amz-content-sha256;"
                     "x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed31"
                     "0bd44f0170aba48dd91039c6036bdb41");
  free(a);
}

TEST(s3_sigv4_orders_a_header_before_the_ones_it_prefixes) {
  /* What curl 7.88 signs wrongly; the value is the AWS SDK for
   * JavaScript's signer's (@smithy/signature-v4) for the same request. */
  const char *h[] = {"Content-Type: application/octet-stream",
                     "x-amz-content-sha256: " EMPTY_SHA,
                     "x-amz-server-side-encryption-aws-kms-key-id: "
                     "arn:aws:kms:eu-west-1:123456789012:key/k1",
                     "x-amz-server-side-encryption: aws:kms",
                     "x-amz-checksum-algorithm: SHA256",
                     "x-amz-security-token: tok==",
                     "Expect:", /* not sent, so not signed */
                     NULL};
  txf_s3_sigv4_req r = {.method = "POST",
                        .host = "127.0.0.1:4568",
                        .path = "/lake/a%20b/c.parquet",
                        .query = "uploads=",
                        .payload_sha256 = EMPTY_SHA,
                        .region = "eu-west-1",
                        .service = "s3",
                        .amz_date = "20261203T080000Z"};
  char *a = auth_of(&r, "ASIAEXAMPLE", "secret/key+x", "tok==", h);
  ASSERT_EQ_STR(a, "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261203/"
                   "eu-west-1/s3/aws4_request, SignedHeaders=content-type;"
                   "host;x-amz-checksum-algorithm;x-amz-content-sha256;"
                   "x-amz-date;x-amz-security-token;"
                   "x-amz-server-side-encryption;"
                   "x-amz-server-side-encryption-aws-kms-key-id, "
                   "Signature=a9eb12323dc075a0f840152492db5146bcf62b42f3ba0954"
                   "7fe2a4471f1ae9e9");
  free(a);
  char d[17];
  txf_s3_sigv4_date(1764748800, d); /* 2025-12-03T08:00:00Z */
  ASSERT_EQ_STR(d, "20251203T080000Z");
}

/* ---------------------------------------------------------------- chain */

static void no_aws_env(void) {
  static const char *const vars[] = {"AWS_ACCESS_KEY_ID",
                                     "AWS_SECRET_ACCESS_KEY",
                                     "AWS_SESSION_TOKEN",
                                     "AWS_PROFILE",
                                     "AWS_REGION",
                                     "AWS_DEFAULT_REGION",
                                     "AWS_ROLE_ARN",
                                     "AWS_WEB_IDENTITY_TOKEN_FILE",
                                     "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                     "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                     "AWS_ENDPOINT_URL",
                                     "AWS_ENDPOINT_URL_STS",
                                     "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                                     "AWS_CREDENTIAL_EXPIRATION",
                                     "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                                     "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"};
  for (size_t i = 0; i < TXF_ARRAY_LEN(vars); i++)
    unsetenv(vars[i]);
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  setenv("AWS_SHARED_CREDENTIALS_FILE", unit_path("credentials"), 1);
  setenv("AWS_CONFIG_FILE", unit_path("config"), 1);
}

/* The chain's error for the current environment (it must fail). */
static const char *chain_error(int want_code) {
  static txf_err err;
  txf_s3_creds *c = NULL;
  txf_s3_creds_opts o = {0};
  ASSERT_EQ_I64(txf_s3_creds_new(&c, &o, &err), want_code);
  ASSERT(c == NULL);
  return err.msg;
}

static void chain_info(txf_s3_creds_info *in) {
  txf_s3_creds *c = NULL;
  txf_s3_creds_opts o = {0};
  txf_err err;
  ASSERT_OK(txf_s3_creds_new(&c, &o, &err), &err);
  txf_s3_creds_describe(c, in);
  txf_s3_creds_free(c);
}

TEST(s3_chain_environment_and_static_profiles) {
  no_aws_env();
  ASSERT_CONTAINS(chain_error(TXF_ECONFIG), "no AWS credentials: tried the "
                                            "environment");
  unit_write_file(unit_path("credentials"),
                  "[default]\naws_access_key_id = AKIAFILE0000DEF1\n"
                  "aws_secret_access_key = s1\n"
                  "[half]\naws_access_key_id = AKIAHALF\n");
  unit_write_file(unit_path("config"),
                  "[profile cfg]\naws_access_key_id = AKIACONF00000002\n"
                  "aws_secret_access_key = s2\n"
                  "[profile regiononly]\nregion = eu-west-1\n");
  txf_s3_creds_info in;
  chain_info(&in);
  ASSERT_EQ_STR(in.source, "shared-credentials-file");
  ASSERT_EQ_STR(in.access_key_hint, "AKIA…DEF1");
  ASSERT(!in.renewable);
  setenv("AWS_PROFILE", "cfg", 1);
  chain_info(&in);
  ASSERT_EQ_STR(in.source, "shared-config-file");
  ASSERT_CONTAINS(in.detail, "profile 'cfg' in ");
  /* the environment comes first, even with AWS_PROFILE set */
  setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT1", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "s3", 1);
  setenv("AWS_CREDENTIAL_EXPIRATION", "2099-01-01T00:00:00Z", 1);
  chain_info(&in);
  ASSERT_EQ_STR(in.source, "environment");
  ASSERT_EQ_I64(in.expires_us, unit_ts("2099-01-01T00:00:00Z"));
  setenv("AWS_CREDENTIAL_EXPIRATION", "tomorrow", 1);
  ASSERT_CONTAINS(chain_error(TXF_ECONFIG), "AWS_CREDENTIAL_EXPIRATION "
                                            "'tomorrow'");
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_CREDENTIAL_EXPIRATION");
  ASSERT_CONTAINS(chain_error(TXF_ECONFIG),
                  "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  setenv("AWS_PROFILE", "half", 1);
  ASSERT_CONTAINS(chain_error(TXF_ECONFIG), "profile 'half' in ");
  ASSERT_CONTAINS(chain_error(TXF_ECONFIG), "has aws_access_key_id but no "
                                            "aws_secret_access_key");
  /* a profile without credentials: on to the next sources */
  setenv("AWS_PROFILE", "regiononly", 1);
  ASSERT_CONTAINS(chain_error(TXF_ECONFIG), "no AWS credentials: tried");
  setenv("AWS_PROFILE", "cgf", 1);
  const char *m = chain_error(TXF_ECONFIG);
  ASSERT_CONTAINS(m, "AWS_PROFILE 'cgf': no such profile in ");
  ASSERT_CONTAINS(m, "(profiles: 'default', 'half', 'cfg', 'regiononly')");
  ASSERT_CONTAINS(m, "did you mean 'cfg'?");
  ASSERT(!strstr(m, "s1") && !strstr(m, "s2"));
}

TEST(s3_chain_role_profiles_that_cannot_work) {
  no_aws_env();
  unit_write_file(unit_path("credentials"), "");
  unit_write_file(
      unit_path("config"),
      "[profile nosource]\nrole_arn = arn:aws:iam::1:role/r\n"
      "[profile both]\nrole_arn = arn:aws:iam::1:role/r\n"
      "source_profile = x\ncredential_source = Environment\n"
      "[profile loop1]\nrole_arn = arn:aws:iam::1:role/r\n"
      "source_profile = loop2\n"
      "[profile loop2]\nrole_arn = arn:aws:iam::1:role/r\n"
      "source_profile = loop1\n"
      "[profile mfa]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = x\n"
      "mfa_serial = arn:aws:iam::1:mfa/u\n"
      "[profile proc]\ncredential_process = /bin/echo\n"
      "[profile sso]\nsso_session = corp\n"
      "[profile badsrc]\nrole_arn = arn:aws:iam::1:role/r\n"
      "credential_source = Ec2\n"
      "[profile dur]\nrole_arn = arn:aws:iam::1:role/r\n"
      "credential_source = Environment\nduration_seconds = 60\n"
      "[profile missing]\nrole_arn = arn:aws:iam::1:role/r\n"
      "source_profile = nowhere\n");
  static const char *const cases[][2] = {
      {"nosource", "has role_arn but neither source_profile nor "
                   "credential_source"},
      {"both", "source_profile and credential_source are both set"},
      {"loop1", "profile 'loop1': source_profile loops back to it"},
      {"mfa", "needs an MFA code (mfa_serial)"},
      {"badsrc", "credential_source 'Ec2' is not one of Environment"},
      {"dur", "duration_seconds '60' is not between 900 and 43200"},
      {"missing", "source_profile 'nowhere' does not exist"}};
  for (size_t i = 0; i < TXF_ARRAY_LEN(cases); i++) {
    setenv("AWS_PROFILE", cases[i][0], 1);
    ASSERT_CONTAINS(chain_error(TXF_ECONFIG), cases[i][1]);
  }
  setenv("AWS_PROFILE", "proc", 1);
  ASSERT_CONTAINS(chain_error(TXF_EUNSUPPORTED), "uses credential_process");
  setenv("AWS_PROFILE", "sso", 1);
  ASSERT_CONTAINS(chain_error(TXF_EUNSUPPORTED), "IAM Identity Center");
}

TEST(s3_chain_sts_endpoint_precedence) {
  no_aws_env();
  /* Nothing listens on these ports: the error names the endpoint used. */
  unit_write_file(unit_path("credentials"),
                  "[base]\naws_access_key_id = AKIABASE\n"
                  "aws_secret_access_key = s\n");
  unit_write_file(
      unit_path("config"),
      "[profile r]\nrole_arn = arn:aws:iam::1:role/r\n"
      "source_profile = base\nservices = loop\n"
      "endpoint_url = http://127.0.0.1:4\n"
      "[services loop]\nsts =\n  endpoint_url = http://127.0.0.1:3/\n"
      "[profile r2]\nrole_arn = arn:aws:iam::1:role/r\n"
      "source_profile = base\nendpoint_url = http://127.0.0.1:4\n");
  setenv("AWS_PROFILE", "r", 1);
  setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1", 1);
  setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2", 1);
  ASSERT_CONTAINS(chain_error(TXF_ENET),
                  "STS AssumeRole at http://127.0.0.1:1:");
  unsetenv("AWS_ENDPOINT_URL_STS");
  ASSERT_CONTAINS(chain_error(TXF_ENET),
                  "STS AssumeRole at http://127.0.0.1:2:");
  unsetenv("AWS_ENDPOINT_URL");
  ASSERT_CONTAINS(chain_error(TXF_ENET),
                  "STS AssumeRole at http://127.0.0.1:3:");
  setenv("AWS_PROFILE", "r2", 1);
  ASSERT_CONTAINS(chain_error(TXF_ENET),
                  "STS AssumeRole at http://127.0.0.1:4:");
  setenv("AWS_ENDPOINT_URL_STS", "ftp://x", 1);
  ASSERT_CONTAINS(chain_error(TXF_ECONFIG), "STS endpoint 'ftp://x' "
                                            "(AWS_ENDPOINT_URL_STS)");
  /* web identity from the environment uses the same endpoints */
  unsetenv("AWS_PROFILE");
  setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:5", 1);
  unit_write_file(unit_path("token"), "jwt\n");
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", unit_path("token"), 1);
  setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/r", 1);
  ASSERT_CONTAINS(chain_error(TXF_ENET), "STS AssumeRoleWithWebIdentity at "
                                         "http://127.0.0.1:5:");
}

TEST(s3_container_url_rules) {
  no_aws_env();
  char *u = NULL;
  txf_err err;
  ASSERT_OK(txf_s3_container_url(&u, &err), &err);
  ASSERT(u == NULL);
  setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/x", 1);
  ASSERT_OK(txf_s3_container_url(&u, &err), &err);
  ASSERT_EQ_STR(u, "http://169.254.170.2/v2/credentials/abc"); /* first */
  free(u);
  unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  static const char *const ok[] = {
      "http://127.0.0.1:9/x",     "http://127.5.6.7/x",
      "http://localhost:80/",     "http://[::1]:8080/creds",
      "http://169.254.170.2/v1",  "http://169.254.170.23/v1/credentials",
      "http://[fd00:ec2::23]/v1", "https://creds.example.com/x"};
  for (size_t i = 0; i < TXF_ARRAY_LEN(ok); i++) {
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", ok[i], 1);
    ASSERT_OK(txf_s3_container_url(&u, &err), &err);
    ASSERT_EQ_STR(u, ok[i]);
    free(u);
  }
  static const char *const bad[] = {
      "http://example.com/x",     "http://10.0.0.1/x",
      "http://169.254.169.254/x", "http://[fd00:ec2::24]/x",
      "ftp://127.0.0.1/x",        "not a url"};
  for (size_t i = 0; i < TXF_ARRAY_LEN(bad); i++) {
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", bad[i], 1);
    ASSERT_EQ_I64(txf_s3_container_url(&u, &err), TXF_ECONFIG);
    ASSERT_CONTAINS(err.msg, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
  }
}
