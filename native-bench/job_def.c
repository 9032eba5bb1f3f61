#include "job_def.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len) {
  size_t n = strlen(hex);
  if (n % 2 || n / 2 > cap) return -1;
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
    out[i] = (uint8_t)v;
  }
  *len = n / 2;
  return 0;
}

void hash_display_hex(const uint8_t hash[32], char out[65]) {
  for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", hash[31 - i]);
}

/* Finds "key": in a flat JSON object and returns a pointer just past the colon. */
static const char *json_value(const char *json, const char *key) {
  char pat[80];
  snprintf(pat, sizeof pat, "\"%s\"", key);
  const char *p = strstr(json, pat);
  if (!p) return NULL;
  p += strlen(pat);
  while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
  if (*p != ':') return NULL;
  p++;
  while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
  return p;
}

/* Copies a JSON string (no escapes are expected in hex fields). */
static const char *json_string_at(const char *p, char *buf, size_t cap) {
  if (!p || *p != '"') return NULL;
  p++;
  size_t i = 0;
  while (*p && *p != '"') {
    if (i + 1 >= cap) return NULL;
    buf[i++] = *p++;
  }
  if (*p != '"') return NULL;
  buf[i] = 0;
  return p + 1;
}

static int json_hex(const char *json, const char *key, uint8_t *out, size_t cap, size_t *len) {
  static char buf[40000];
  if (!json_string_at(json_value(json, key), buf, sizeof buf)) return -1;
  return hex_decode(buf, out, cap, len);
}

static int json_u32hex(const char *json, const char *key, uint32_t *out) {
  char buf[16];
  if (!json_string_at(json_value(json, key), buf, sizeof buf) || strlen(buf) != 8) return -1;
  *out = (uint32_t)strtoul(buf, NULL, 16);
  return 0;
}

const char *job_from_json(const char *json, job_def *jd) {
  memset(jd, 0, sizeof *jd);
  char buf[128];
  if (!json_string_at(json_value(json, "source"), jd->name, sizeof jd->name)) return "job.json: source must be a string";
  if (json_hex(json, "coinb1", jd->coinb1, sizeof jd->coinb1, &jd->coinb1_len)) return "job.json: coinb1 must be hex";
  if (json_hex(json, "coinb2", jd->coinb2, sizeof jd->coinb2, &jd->coinb2_len)) return "job.json: coinb2 must be hex";
  if (json_hex(json, "extranonce1", jd->en1, sizeof jd->en1, &jd->en1_len)) return "job.json: extranonce1 must be hex";
  size_t n;
  if (json_hex(json, "prevhash", jd->prevhash_notify, 32, &n) || n != 32) return "job.json: prevhash must be 32 bytes of hex";
  if (json_u32hex(json, "version", &jd->version)) return "job.json: version must be 8 hex digits";
  if (json_u32hex(json, "nbits", &jd->nbits)) return "job.json: nbits must be 8 hex digits";
  if (json_u32hex(json, "ntime", &jd->ntime)) return "job.json: ntime must be 8 hex digits";
  if (json_u32hex(json, "nonceStart", &jd->nonce_start)) return "job.json: nonceStart must be 8 hex digits";
  if (json_hex(json, "extranonce2Start", jd->en2_start, SC_MAX_EN2, &jd->en2_len) || jd->en2_len == 0)
    return "job.json: extranonce2Start must be 1..32 bytes of hex";
  const char *p = json_value(json, "merkleBranch");
  if (!p || *p != '[') return "job.json: merkleBranch must be an array";
  p++;
  while (1) {
    while (*p == ' ' || *p == '\n' || *p == ',' || *p == '\r' || *p == '\t') p++;
    if (*p == ']') break;
    if (jd->branch_count >= SC_MAX_BRANCHES) return "job.json: merkleBranch has more than 32 entries";
    p = json_string_at(p, buf, sizeof buf);
    if (!p || hex_decode(buf, jd->branches[jd->branch_count], 32, &n) || n != 32)
      return "job.json: merkleBranch entries must be 32 bytes of hex";
    jd->branch_count++;
  }
  p = json_value(json, "expectShare0");
  if (!p || !json_string_at(json_value(p, "hash"), jd->expect_hash, sizeof jd->expect_hash))
    return "job.json: expectShare0.hash must be a string";
  const char *d = json_value(p, "difficulty");
  if (!d) return "job.json: expectShare0.difficulty must be a number";
  jd->expect_diff = strtod(d, NULL);
  return NULL;
}

static void put_le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

uint8_t *job_build_ctx(const job_def *jd, size_t *len) {
  size_t prefix_len = jd->coinb1_len + jd->en1_len;
  size_t total = prefix_len + jd->en2_len + jd->coinb2_len;
  size_t full = prefix_len / 64;
  size_t rest = total - full * 64;
  size_t tail_blocks = (rest + 9 + 63) / 64;
  *len = SC_HEADER_BYTES + jd->branch_count * 32 + tail_blocks * 64 + full * 64;
  uint8_t *ctx = calloc(1, *len);
  uint8_t *prefix = malloc(prefix_len + 1);
  memcpy(prefix, jd->coinb1, jd->coinb1_len);
  memcpy(prefix + jd->coinb1_len, jd->en1, jd->en1_len);
  uint32_t st[8], w[16];
  memcpy(st, sc_iv, 32);
  for (size_t b = 0; b < full; b++) {
    for (int t = 0; t < 16; t++) {
      const uint8_t *q = prefix + 64 * b + 4 * t;
      w[t] = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
    }
    sc_compress(st, w);
  }
  put_le32(ctx, SC_MAGIC);
  put_le32(ctx + 4, (uint32_t)(prefix_len - full * 64));
  put_le32(ctx + 8, (uint32_t)jd->en2_len);
  put_le32(ctx + 12, (uint32_t)tail_blocks);
  put_le32(ctx + 16, (uint32_t)jd->branch_count);
  put_le32(ctx + 20, (uint32_t)full);
  put_le32(ctx + 56, (uint32_t)total);
  for (int i = 0; i < 8; i++) put_le32(ctx + 24 + 4 * i, st[i]);
  uint8_t *hdr = ctx + 64;
  /* mining.notify sends prevhash with each 4-byte word byte-swapped. */
  for (int i = 0; i < 32; i++) hdr[4 + i] = jd->prevhash_notify[(i & ~3) + 3 - (i & 3)];
  put_le32(hdr + 72, jd->nbits);
  /* Target = mantissa * 256^(exponent - 3), written little-endian. */
  int exp = (int)(jd->nbits >> 24);
  uint32_t mant = jd->nbits & 0x007fffffu;
  for (int k = 0; k < 3; k++) {
    int pos = exp - 3 + k;
    if (pos >= 0 && pos < 32) ctx[144 + pos] = (uint8_t)(mant >> (8 * k));
  }
  for (size_t i = 0; i < jd->branch_count; i++) memcpy(ctx + SC_HEADER_BYTES + 32 * i, jd->branches[i], 32);
  uint8_t *tail = ctx + SC_HEADER_BYTES + jd->branch_count * 32;
  size_t r = prefix_len - full * 64;
  memcpy(tail, prefix + full * 64, r);
  memcpy(tail + r + jd->en2_len, jd->coinb2, jd->coinb2_len);
  tail[rest] = 0x80;
  uint64_t bits = (uint64_t)total * 8;
  for (int k = 0; k < 8; k++) tail[tail_blocks * 64 - 1 - k] = (uint8_t)(bits >> (8 * k));
  memcpy(tail + tail_blocks * 64, prefix, full * 64);
  free(prefix);
  return ctx;
}

void job_share_record(const job_def *jd, uint64_t i, uint8_t rec[SC_SHARE_STRIDE]) {
  memset(rec, 0, SC_SHARE_STRIDE);
  put_le32(rec, jd->version);
  put_le32(rec + 4, jd->ntime);
  put_le32(rec + 8, jd->nonce_start + (uint32_t)i);
  /* Big-endian add with carry, wrapping at the field size like a miner's counter. */
  uint64_t carry = i;
  for (size_t k = jd->en2_len; k-- > 0;) {
    uint64_t v = jd->en2_start[k] + (carry & 0xff);
    rec[16 + k] = (uint8_t)v;
    carry = (carry >> 8) + (v >> 8);
  }
}
