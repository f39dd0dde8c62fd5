/* The publish settings (publish:). */
#include <stdlib.h>

#include "../../lib/unit.h"
#include "publish/publish.h"

static txf_project *project_with(const char *yml) {
  const char *dir = unit_tmpdir();
  unit_write_file(unit_path("txnflow.yml"), yml);
  txf_project *p = NULL;
  txf_err err;
  if (txf_project_load(&p, dir, &err) != 0)
    unit_fail(__FILE__, __LINE__, "load: %s", err.msg);
  return p;
}

TEST(publish_settings_defaults_and_prefix) {
  txf_project *p = project_with(
      "name: t\npublish:\n  s3: { endpoint: http://127.0.0.1:9, bucket: "
      "lake, prefix: /txnflow }\n");
  txf_publish_settings s;
  txf_err err;
  ASSERT_OK(txf_publish_settings_load(&s, p, &err), &err);
  ASSERT(s.s3.configured);
  ASSERT_EQ_STR(s.s3.prefix, "txnflow/");
  ASSERT_EQ_STR(s.s3.cfg.bucket, "lake");
  ASSERT_EQ_STR(s.s3.cfg.region, "us-east-1");
  ASSERT_EQ_I64(s.s3.cfg.path_style, 1); /* default with a custom endpoint */
  ASSERT_EQ_U64(s.s3.cfg.part_size_bytes, 16u << 20);
  ASSERT_EQ_I64(s.marts, 1);
  txf_project_free(p);
}

TEST(publish_settings_reject_unknown_and_out_of_range) {
  txf_project *p =
      project_with("name: t\npublish:\n  s3: { bucket: lake, regoin: x }\n");
  txf_publish_settings s;
  txf_err err;
  ASSERT_EQ_I64(txf_publish_settings_load(&s, p, &err), TXF_ECONFIG);
  ASSERT(strstr(err.msg, "regoin"));
  ASSERT(strstr(err.msg, "region")); /* the closest known key */
  ASSERT(strstr(err.msg, "txnflow.yml:3:"));
  txf_project_free(p);
  p = project_with("name: t\npublish:\n  s3: { bucket: lake, max_attempts: 0 }\n");
  ASSERT_EQ_I64(txf_publish_settings_load(&s, p, &err), TXF_ECONFIG);
  ASSERT(strstr(err.msg, "max_attempts"));
  txf_project_free(p);
  p = project_with("name: t\npublish:\n  s3: { prefix: x/ }\n");
  ASSERT_EQ_I64(txf_publish_settings_load(&s, p, &err), TXF_ECONFIG);
  ASSERT(strstr(err.msg, "bucket"));
  txf_project_free(p);
  p = project_with("name: t\n");
  ASSERT_OK(txf_publish_settings_load(&s, p, &err), &err);
  ASSERT(!s.s3.configured);
  txf_project_free(p);
}
