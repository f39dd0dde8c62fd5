/* The AWS shared files (~/.aws/credentials, ~/.aws/config), read as the
 * AWS SDKs read them (the JavaScript SDK's shared-ini-file-loader is the
 * reference):
 *  - a comment starts with '#' or ';' at the start of a line or after
 *    whitespace, and runs to the end of the line;
 *  - a line that starts with '[' and ends with ']' opens a section, its
 *    name taken as written between them; in the config file profiles are
 *    "[profile NAME]" (one space, NAME of [A-Za-z0-9_@+.%:/-], optionally
 *    quoted) and "[default]", "[services NAME]" holds per-service
 *    settings, other sections are not profiles; in the credentials file
 *    every "[NAME]" is a profile;
 *  - "key = value", whitespace around both trimmed; a key with an empty
 *    value followed by indented lines opens a sub-section, whose keys are
 *    stored as "key.subkey" (`sts =` / `  endpoint_url = ...`);
 *  - a section or key given twice: the later value wins.
 * Values may be secrets: nothing here formats a value into a message. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "s3/internal.h"

typedef struct ini_entry {
  char *section; /* "profile:NAME" or "services:NAME" */
  char *key;
  char *value;
} ini_entry;

struct txf_s3_ini {
  ini_entry *v;
  size_t n, cap;
  txf_strlist profiles; /* profile names in the order first seen */
};

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* [s, *e) trimmed of whitespace on both sides. */
static const char *trim(const char *s, const char **e) {
  while (s < *e && is_space(*s))
    s++;
  while (*e > s && is_space((*e)[-1]))
    (*e)--;
  return s;
}

static void put(txf_s3_ini *ini, const char *section, const char *key,
                size_t key_len, const char *val, size_t val_len) {
  for (size_t i = 0; i < ini->n; i++) {
    ini_entry *e = &ini->v[i];
    if (!strcmp(e->section, section) && strlen(e->key) == key_len &&
        !memcmp(e->key, key, key_len)) {
      OPENSSL_cleanse(e->value, strlen(e->value));
      free(e->value);
      e->value = txf_xstrndup(val, val_len);
      return;
    }
  }
  if (ini->n == ini->cap) {
    ini->cap = ini->cap ? 2 * ini->cap : 16;
    ini->v = txf_xrealloc(ini->v, ini->cap * sizeof *ini->v);
  }
  ini->v[ini->n++] =
      (ini_entry){txf_xstrdup(section), txf_xstrndup(key, key_len),
                  txf_xstrndup(val, val_len)};
}

static int name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || strchr("_-@+.%:/", c) != NULL;
}

/* The section name to store for the header text NAME (N bytes between
 * the brackets), or NULL when the section is not one we read (its keys
 * are skipped). Caller frees. */
static char *section_for(const char *name, size_t n, int config_file) {
  if (!config_file)
    return txf_xasprintf("profile:%.*s", (int)n, name);
  if (n == 7 && !memcmp(name, "default", 7))
    return txf_xstrdup("profile:default");
  static const char *const kinds[] = {"profile", "services"};
  for (size_t k = 0; k < TXF_ARRAY_LEN(kinds); k++) {
    size_t kl = strlen(kinds[k]);
    if (n < kl + 2 || memcmp(name, kinds[k], kl) != 0 || !is_space(name[kl]))
      continue;
    const char *s = name + kl + 1, *e = name + n;
    if ((*s == '"' || *s == '\'') && e - s >= 2 && e[-1] == *s) {
      s++;
      e--;
    }
    int ok = s < e;
    for (const char *c = s; ok && c < e; c++)
      ok = name_char(*c);
    if (ok)
      return txf_xasprintf("%s:%.*s", kinds[k], (int)(e - s), s);
  }
  return NULL;
}

void txf_s3_ini_add(txf_s3_ini *ini, const char *text, size_t len,
                    int config_file) {
  char *section = NULL;
  char *sub = NULL; /* the open sub-section's key */
  const char *p = text, *end = text + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    const char *next = nl ? nl + 1 : end;
    /* Comments: '#' or ';' at the start or after whitespace. */
    for (const char *c = p; c < le; c++)
      if ((*c == '#' || *c == ';') && (c == p || is_space(c[-1]))) {
        le = c;
        break;
      }
    int indented = p < le && is_space(*p);
    const char *s = trim(p, &le);
    p = next;
    if (s == le)
      continue;
    if (*s == '[' && le[-1] == ']') {
      free(section);
      free(sub);
      sub = NULL;
      section = section_for(s + 1, (size_t)(le - s - 2), config_file);
      if (section && txf_str_has_prefix(section, "profile:") &&
          !txf_strlist_has(&ini->profiles, section + 8))
        txf_strlist_push(&ini->profiles, section + 8);
      continue;
    }
    const char *eq = memchr(s, '=', (size_t)(le - s));
    if (!section || !eq || eq == s)
      continue;
    const char *ke = eq, *vs = eq + 1, *ve = le;
    const char *ks = trim(s, &ke);
    vs = trim(vs, &ve);
    if (vs == ve) { /* "key =" opens a sub-section */
      free(sub);
      sub = txf_xstrndup(ks, (size_t)(ke - ks));
      continue;
    }
    if (sub && !indented) {
      free(sub);
      sub = NULL;
    }
    if (sub) {
      char *k = txf_xasprintf("%s.%.*s", sub, (int)(ke - ks), ks);
      put(ini, section, k, strlen(k), vs, (size_t)(ve - vs));
      free(k);
    } else {
      put(ini, section, ks, (size_t)(ke - ks), vs, (size_t)(ve - vs));
    }
  }
  free(section);
  free(sub);
}

txf_s3_ini *txf_s3_ini_new(void) { return txf_xcalloc(1, sizeof(txf_s3_ini)); }

void txf_s3_ini_free(txf_s3_ini *ini) {
  if (!ini)
    return;
  for (size_t i = 0; i < ini->n; i++) {
    OPENSSL_cleanse(ini->v[i].value, strlen(ini->v[i].value));
    free(ini->v[i].value);
    free(ini->v[i].section);
    free(ini->v[i].key);
  }
  free(ini->v);
  txf_strlist_release(&ini->profiles);
  free(ini);
}

static const char *lookup(const txf_s3_ini *ini, const char *kind,
                          const char *name, const char *key) {
  size_t kl = strlen(kind);
  for (size_t i = 0; ini && i < ini->n; i++) {
    const ini_entry *e = &ini->v[i];
    if (!strncmp(e->section, kind, kl) && e->section[kl] == ':' &&
        !strcmp(e->section + kl + 1, name) && !strcmp(e->key, key))
      return e->value;
  }
  return NULL;
}

const char *txf_s3_ini_get(const txf_s3_ini *ini, const char *profile,
                           const char *key) {
  return lookup(ini, "profile", profile, key);
}

const char *txf_s3_ini_service(const txf_s3_ini *ini, const char *services,
                               const char *key) {
  return lookup(ini, "services", services, key);
}

int txf_s3_ini_has_profile(const txf_s3_ini *ini, const char *profile) {
  return ini && txf_strlist_has(&ini->profiles, profile);
}

const txf_strlist *txf_s3_ini_profiles(const txf_s3_ini *ini) {
  return &ini->profiles;
}
