/*
 * Native reference for surplus share checks: the same workload as
 * `surplus bench` (native-bench/job.json) with OpenSSL and with SHA-NI,
 * on 1 and 2 threads. Prints shares/s as text or, with --json, one object.
 *
 *   share_bench [--json] [--seconds S] [--threads N] [--job path/to/job.json]
 */
#define _GNU_SOURCE
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job_def.h"

#define BATCH 4096 /* records per thread, hashed over and over */

typedef enum { IMPL_OPENSSL, IMPL_PORTABLE, IMPL_SHANI } impl_t;
static const char *impl_names[] = {"openssl", "portable", "shani"};

/* --- OpenSSL path: SHA256_CTX copies give the coinbase midstate ---------- */

typedef struct {
  SHA256_CTX prefix; /* after coinb1 || extranonce1 */
  const job_def *jd;
  uint8_t header[80];
} ossl_job;

static void ossl_prepare(const job_def *jd, const uint8_t *ctx, ossl_job *oj) {
  oj->jd = jd;
  SHA256_Init(&oj->prefix);
  SHA256_Update(&oj->prefix, jd->coinb1, jd->coinb1_len);
  SHA256_Update(&oj->prefix, jd->en1, jd->en1_len);
  memcpy(oj->header, ctx + 64, 80);
}

/* OpenSSL 3's one-shot SHA256() fetches an EVP method on every call; the
 * (deprecated) low-level calls go straight to the assembly, which is what a
 * fair reference wants. */
static void sha256(const uint8_t *p, size_t n, uint8_t out[32]) {
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, p, n);
  SHA256_Final(out, &c);
}

static void sha256d(const uint8_t *p, size_t n, uint8_t out[32]) {
  uint8_t t[32];
  sha256(p, n, t);
  sha256(t, 32, out);
}

static void ossl_check(const ossl_job *oj, const sc_job *job, const uint8_t *shares, size_t count,
                       uint8_t *out) {
  const job_def *jd = oj->jd;
  uint8_t hdr[80], buf[64], t[32];
  memcpy(hdr, oj->header, 80);
  for (size_t n = 0; n < count; n++) {
    const uint8_t *rec = shares + n * SC_SHARE_STRIDE;
    SHA256_CTX c = oj->prefix;
    SHA256_Update(&c, rec + 16, jd->en2_len);
    SHA256_Update(&c, jd->coinb2, jd->coinb2_len);
    SHA256_Final(t, &c);
    sha256(t, 32, buf);
    for (size_t k = 0; k < jd->branch_count; k++) {
      memcpy(buf + 32, jd->branches[k], 32);
      sha256d(buf, 64, buf);
    }
    memcpy(hdr, rec, 4);
    memcpy(hdr + 36, buf, 32);
    memcpy(hdr + 68, rec + 4, 4);
    memcpy(hdr + 76, rec + 8, 4);
    sha256d(hdr, 80, t);
    /* Reuse the shared result writer: it wants the digest as big-endian words. */
    uint32_t h[8];
    for (int i = 0; i < 8; i++)
      h[i] = (uint32_t)t[4 * i] << 24 | (uint32_t)t[4 * i + 1] << 16 | (uint32_t)t[4 * i + 2] << 8 | t[4 * i + 3];
    sc_write_result(h, job, out + n * SC_RESULT_STRIDE);
  }
}

static void run_impl(impl_t impl, const ossl_job *oj, const sc_job *job, const uint8_t *shares,
                     size_t count, uint8_t *out) {
  if (impl == IMPL_OPENSSL) ossl_check(oj, job, shares, count, out);
  else if (impl == IMPL_PORTABLE) sc_check_portable(job, shares, count, out);
  else sc_check_shani(job, shares, count, out);
}

/* --- self-test against third-party vectors -------------------------------- */

typedef struct {
  const char *name, *coinb1, *en1, *en2, *coinb2, *prevhash, *branches[4];
  uint32_t version, nbits, ntime, nonce;
  const char *hash; /* display order */
} vector_t;

/* From /work/shared/fixtures/share-vectors.json (slush example; public-pool
 * Bitaxe recording with BIP310 version rolling). The esp-miner 13-branch
 * vector is share 0 of job.json and is checked from there. */
static const vector_t vectors[] = {
    {"slush-testnet3-bf",
     "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff20020862062f503253482f04b8864e5008",
     "08000002", "00000001",
     "072f736c7573682f000000000100f2052a010000001976a914d23fcdf86f7e756a64a7a9688ef9903327048ed988ac00000000",
     "4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000",
     {NULL},
     0x00000002, 0x1c2ac4af, 0x504e86ed, 0xb2957c02,
     "000000002076870fe65a2b6eeed84fa892c0db924f1482243a6247d931dcab32"},
    {"public-pool-testnet-bitaxe-versionrolling",
     "02000000010000000000000000000000000000000000000000000000000000000000000000ffffffff1903c943255c7075626c69632d706f6f6c5c",
     "57a6f098", "c7080000",
     "ffffffff037a90000000000000160014e6f22ca44dc800e9d049621a3b9a42c509f1c4bc3b0f250000000000160014e6f22ca44dc800e9d049621a3b9a42c509f1c4bc0000000000000000266a24aa21a9edbd3d1d916aa0b57326a2d88ebe1b68a1d7c48585f26d8335fe6a94b62755f64c00000000",
     "171592f223740e92d223f6e68bff25279af7ac4f2246451e0000000200000000",
     {"175335649d5e8746982969ec88f52e85ac9917106fba5468e699c8879ab974a1",
      "d5644ab3e708c54cd68dc5aedc92b8d3037449687f92ec41ed6e37673d969d4a",
      "5c9ec187517edc0698556cca5ce27e54c96acb014770599ed9df4d4937fbf2b0", NULL},
     0x20002000, 0x192495f8, 0x64b3f3ec, 0xed460d91,
     "000000000061d52983863e5c424c00d9e0981874fddf6a8493433e73928a3e4e"},
};

static int check_vector(const vector_t *v, impl_t impl) {
  static job_def jd;
  size_t n;
  memset(&jd, 0, sizeof jd);
  hex_decode(v->coinb1, jd.coinb1, sizeof jd.coinb1, &jd.coinb1_len);
  hex_decode(v->coinb2, jd.coinb2, sizeof jd.coinb2, &jd.coinb2_len);
  hex_decode(v->en1, jd.en1, sizeof jd.en1, &jd.en1_len);
  hex_decode(v->en2, jd.en2_start, SC_MAX_EN2, &jd.en2_len);
  hex_decode(v->prevhash, jd.prevhash_notify, 32, &n);
  for (int i = 0; v->branches[i]; i++) hex_decode(v->branches[i], jd.branches[jd.branch_count++], 32, &n);
  jd.version = v->version; jd.nbits = v->nbits; jd.ntime = v->ntime; jd.nonce_start = v->nonce;
  size_t len;
  uint8_t *ctx = job_build_ctx(&jd, &len), rec[SC_SHARE_STRIDE], out[SC_RESULT_STRIDE];
  sc_job job;
  const char *err = sc_job_parse(ctx, len, &job);
  if (err) { fprintf(stderr, "%s: %s\n", v->name, err); free(ctx); return 0; }
  ossl_job oj;
  ossl_prepare(&jd, ctx, &oj);
  job_share_record(&jd, 0, rec);
  run_impl(impl, &oj, &job, rec, 1, out);
  char hex[65];
  hash_display_hex(out, hex);
  free(ctx);
  if (strcmp(hex, v->hash) != 0) {
    fprintf(stderr, "%s (%s): got %s, want %s\n", v->name, impl_names[impl], hex, v->hash);
    return 0;
  }
  return 1;
}

/* --- timing ---------------------------------------------------------------- */

typedef struct {
  impl_t impl;
  const ossl_job *oj;
  const sc_job *job;
  uint8_t *shares, *out;
  double seconds;
  double cpu_seconds; /* this thread's CPU time: steadier than wall time on a busy machine */
  uint64_t done;
  pthread_barrier_t *start;
} worker_t;

static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  pthread_barrier_wait(w->start);
  double t0 = now_s(), c0 = thread_cpu_s();
  uint64_t done = 0;
  /* Check the clock once per batch so timing costs nothing measurable. */
  do {
    run_impl(w->impl, w->oj, w->job, w->shares, BATCH, w->out);
    done += BATCH;
  } while (now_s() - t0 < w->seconds);
  w->seconds = now_s() - t0;
  w->cpu_seconds = thread_cpu_s() - c0;
  w->done = done;
  return NULL;
}

static double measure(impl_t impl, const ossl_job *oj, const sc_job *job, uint8_t **shares, int threads,
                      double seconds, double *per_cpu_s) {
  pthread_t tid[16];
  worker_t w[16];
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, (unsigned)threads);
  for (int t = 0; t < threads; t++) {
    w[t] = (worker_t){impl, oj, job, shares[t], malloc(BATCH * SC_RESULT_STRIDE), seconds, 0, 0, &start};
    pthread_create(&tid[t], NULL, worker_main, &w[t]);
  }
  double rate = 0, cpu = 0, done = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(tid[t], NULL);
    rate += (double)w[t].done / w[t].seconds;
    cpu += w[t].cpu_seconds;
    done += (double)w[t].done;
    free(w[t].out);
  }
  *per_cpu_s = cpu > 0 ? done / cpu : 0;
  pthread_barrier_destroy(&start);
  return rate;
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  if (fread(s, 1, (size_t)n, f) != (size_t)n) { fclose(f); free(s); return NULL; }
  s[n] = 0;
  fclose(f);
  return s;
}

static void cpu_model(char *out, size_t cap) {
  snprintf(out, cap, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) == 0) {
      char *p = strchr(line, ':');
      if (p) { p += 2; p[strcspn(p, "\n")] = 0; snprintf(out, cap, "%s", p); }
      break;
    }
  }
  fclose(f);
}

int main(int argc, char **argv) {
  int json = 0, max_threads = 2;
  double seconds = 2.0;
  const char *job_path = "native-bench/job.json";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) json = 1;
    else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) max_threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--job") && i + 1 < argc) job_path = argv[++i];
    else {
      fprintf(stderr, "usage: share_bench [--json] [--seconds S>0] [--threads 1..16] [--job job.json]\n");
      return 2;
    }
  }
  if (seconds <= 0 || max_threads < 1 || max_threads > 16) {
    fprintf(stderr, "share_bench: --seconds must be > 0 and --threads 1..16\n");
    return 2;
  }
  char *text = read_file(job_path);
  if (!text) { fprintf(stderr, "share_bench: cannot read %s\n", job_path); return 2; }
  static job_def jd;
  const char *err = job_from_json(text, &jd);
  free(text);
  if (err) { fprintf(stderr, "share_bench: %s\n", err); return 2; }
  size_t ctx_len;
  uint8_t *ctx = job_build_ctx(&jd, &ctx_len);
  sc_job job;
  if ((err = sc_job_parse(ctx, ctx_len, &job))) { fprintf(stderr, "share_bench: %s\n", err); return 2; }
  ossl_job oj;
  ossl_prepare(&jd, ctx, &oj);

  int shani = sc_cpu_has_shani();
  impl_t impls[3];
  int n_impls = 0;
  impls[n_impls++] = IMPL_OPENSSL;
  impls[n_impls++] = IMPL_PORTABLE;
  if (shani) impls[n_impls++] = IMPL_SHANI;

  /* Per-thread share records: thread t starts at t * BATCH. */
  uint8_t *shares[16];
  for (int t = 0; t < max_threads; t++) {
    shares[t] = malloc(BATCH * SC_SHARE_STRIDE);
    for (uint64_t i = 0; i < BATCH; i++) job_share_record(&jd, (uint64_t)t * BATCH + i, shares[t] + i * SC_SHARE_STRIDE);
  }

  /* Verify: fixture vectors, share 0 of the job, and a checksum over the
   * first BATCH shares that every implementation must reproduce. */
  uint8_t *out = malloc(BATCH * SC_RESULT_STRIDE);
  char checksum[65] = "", hex[65];
  for (int k = 0; k < n_impls; k++) {
    for (size_t v = 0; v < sizeof vectors / sizeof vectors[0]; v++)
      if (!check_vector(&vectors[v], impls[k])) return 1;
    run_impl(impls[k], &oj, &job, shares[0], BATCH, out);
    hash_display_hex(out, hex);
    double d;
    memcpy(&d, out + 32, 8);
    if (strcmp(hex, jd.expect_hash) != 0 || d != jd.expect_diff) {
      fprintf(stderr, "share_bench: %s share 0 gave %s diff %.17g, want %s diff %.17g\n", impl_names[impls[k]], hex, d,
              jd.expect_hash, jd.expect_diff);
      return 1;
    }
    uint8_t x[32] = {0};
    for (int i = 0; i < BATCH; i++)
      for (int b = 0; b < 32; b++) x[b] ^= out[i * SC_RESULT_STRIDE + b];
    hash_display_hex(x, hex);
    if (k == 0) memcpy(checksum, hex, 65);
    else if (strcmp(checksum, hex) != 0) {
      fprintf(stderr, "share_bench: %s checksum %s differs from openssl %s\n", impl_names[impls[k]], hex, checksum);
      return 1;
    }
  }
  free(out);

  char cpu[128];
  cpu_model(cpu, sizeof cpu);
  double rates[3][17] = {{0}}, per_cpu[3][17] = {{0}};
  double best = 0;
  const char *best_name = "";
  int best_threads = 0;
  for (int k = 0; k < n_impls; k++) {
    /* 1, 2, 4, ... threads, always ending with max_threads */
    for (int t = 1;; t = t * 2 < max_threads ? t * 2 : max_threads) {
      rates[k][t] = measure(impls[k], &oj, &job, shares, t, seconds, &per_cpu[k][t]);
      if (rates[k][t] > best) { best = rates[k][t]; best_name = impl_names[impls[k]]; best_threads = t; }
      if (t == max_threads) break;
    }
  }

  if (json) {
    printf("{\"job\":\"%s\",\"branches\":%zu,\"coinbaseBytes\":%zu,\"cpu\":\"%s\",\"shaNi\":%s,\"checksum\":\"%s\","
           "\"seconds\":%g,\"results\":[",
           jd.name, jd.branch_count, jd.coinb1_len + jd.en1_len + jd.en2_len + jd.coinb2_len, cpu,
           shani ? "true" : "false", checksum, seconds);
    int first = 1;
    for (int k = 0; k < n_impls; k++)
      for (int t = 1; t <= max_threads; t++)
        if (rates[k][t] > 0) {
          printf("%s{\"impl\":\"%s\",\"threads\":%d,\"sharesPerSec\":%.0f,\"sharesPerCpuSec\":%.0f}", first ? "" : ",",
                 impl_names[impls[k]], t, rates[k][t], per_cpu[k][t]);
          first = 0;
        }
    printf("],\"best\":{\"impl\":\"%s\",\"threads\":%d,\"sharesPerSec\":%.0f}}\n", best_name, best_threads, best);
  } else {
    printf("native reference: job %s, %zu branches, %zu-byte coinbase\n", jd.name, jd.branch_count,
           jd.coinb1_len + jd.en1_len + jd.en2_len + jd.coinb2_len);
    printf("cpu: %s, SHA-NI %s\n", cpu, shani ? "yes" : "no");
    printf("verified: %zu fixture vectors + share 0 (%s); checksum of %d shares %s\n",
           sizeof vectors / sizeof vectors[0], jd.name, BATCH, checksum);
    for (int k = 0; k < n_impls; k++)
      for (int t = 1; t <= max_threads; t++)
        if (rates[k][t] > 0)
          printf("%-9s %2d thread%s %12.0f shares/s %12.0f per CPU-s\n", impl_names[impls[k]], t, t > 1 ? "s" : " ",
                 rates[k][t], per_cpu[k][t]);
    printf("best: %s on %d thread%s, %.0f shares/s\n", best_name, best_threads, best_threads > 1 ? "s" : "", best);
  }
  for (int t = 0; t < max_threads; t++) free(shares[t]);
  free(ctx);
  return 0;
}
