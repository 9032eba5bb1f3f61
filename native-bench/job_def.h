/* A Stratum job in memory, the job-context builder, and a tiny reader for job.json. */
#ifndef SURPLUS_JOB_DEF_H
#define SURPLUS_JOB_DEF_H

#include <stddef.h>
#include <stdint.h>

#include "../native/src/share_core.h"

typedef struct {
  char name[64];
  uint8_t coinb1[4096], coinb2[16384], en1[32], prevhash_notify[32];
  size_t coinb1_len, coinb2_len, en1_len, en2_len;
  uint8_t branches[SC_MAX_BRANCHES][32];
  size_t branch_count;
  uint32_t version, nbits, ntime;
  uint8_t en2_start[SC_MAX_EN2];
  uint32_t nonce_start;
  char expect_hash[65]; /* display order */
  double expect_diff;
} job_def;

/* Fills `jd` from the text of native-bench/job.json; returns NULL or an error. */
const char *job_from_json(const char *json, job_def *jd);
/* Builds the context of share_core.h; *len receives its size. Caller frees. */
uint8_t *job_build_ctx(const job_def *jd, size_t *len);
/* Share i of the benchmark workload: extranonce2 = start + i, nonce = start + i. */
void job_share_record(const job_def *jd, uint64_t i, uint8_t rec[SC_SHARE_STRIDE]);
int hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len);
void hash_display_hex(const uint8_t hash[32], char out[65]);

#endif
