/* Portable SHA-256 share checks and the dispatch between implementations. */
#include "share_core.h"

#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/* 16-byte aligned: the SHA-NI path loads four constants at a time with aligned loads. */
const uint32_t sc_k[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

const uint32_t sc_iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                           0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

static inline uint32_t rd_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint32_t rd_be32(const uint8_t *p) {
  return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}
static inline uint32_t bswap32(uint32_t x) { return __builtin_bswap32(x); }

const char *sc_job_parse(const uint8_t *ctx, size_t len, sc_job *j) {
  if (len < SC_HEADER_BYTES) return "job context is shorter than its 192-byte header";
  if (rd_le32(ctx) != SC_MAGIC) return "job context has a wrong magic number";
  j->ctx = ctx;
  j->en2_offset = rd_le32(ctx + 4);
  j->en2_len = rd_le32(ctx + 8);
  j->tail_blocks = rd_le32(ctx + 12);
  j->branch_count = rd_le32(ctx + 16);
  if (j->en2_len < 1 || j->en2_len > SC_MAX_EN2) return "job context en2_len must be 1..32";
  if (j->branch_count > SC_MAX_BRANCHES) return "job context branch_count must be 0..32";
  if (j->tail_blocks < 1 || j->tail_blocks > SC_MAX_TAIL_BLOCKS)
    return "job context tail_blocks must be 1..256";
  if ((size_t)j->en2_offset + j->en2_len > (size_t)j->tail_blocks * 64)
    return "job context extranonce2 slot lies outside the coinbase tail";
  uint32_t prefix_blocks = rd_le32(ctx + 20);
  if (prefix_blocks > SC_MAX_PREFIX_BLOCKS) return "job context prefix_blocks must be 0..1024";
  size_t need = SC_HEADER_BYTES + (size_t)j->branch_count * 32 + (size_t)j->tail_blocks * 64 +
                (size_t)prefix_blocks * 64;
  if (len != need) return "job context length does not match its counts";
  for (int i = 0; i < 8; i++) {
    j->midstate[i] = rd_le32(ctx + 24 + 4 * i);
    j->prev_words[i] = rd_be32(ctx + 64 + 4 + 4 * i);
    j->target_le[i] = rd_le32(ctx + 144 + 4 * i);
  }
  j->nbits_word = rd_be32(ctx + 64 + 72);
  j->branches = ctx + SC_HEADER_BYTES;
  j->tail = j->branches + (size_t)j->branch_count * 32;
  return NULL;
}

static int cpu_probe(void) {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  int ssse3 = (c >> 9) & 1, sse41 = (c >> 19) & 1;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  return ssse3 && sse41 && ((b >> 29) & 1);
#else
  return 0;
#endif
}

int sc_cpu_has_shani(void) {
  /* CPUID traps to the hypervisor on VMs, so ask once; racing threads store the same value. */
  static int cached = -1;
  int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
  if (v < 0) {
    v = cpu_probe();
    __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
  }
  return v;
}

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

void sc_compress(uint32_t s[8], const uint32_t in[16]) {
  uint32_t w[64];
  for (int t = 0; t < 16; t++) w[t] = in[t];
  for (int t = 16; t < 64; t++) {
    uint32_t x = w[t - 15], y = w[t - 2];
    w[t] = w[t - 16] + (ROTR(x, 7) ^ ROTR(x, 18) ^ (x >> 3)) + w[t - 7] +
           (ROTR(y, 17) ^ ROTR(y, 19) ^ (y >> 10));
  }
  uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
  for (int t = 0; t < 64; t++) {
    uint32_t t1 = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + sc_k[t] + w[t];
    uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e; s[5] += f; s[6] += g; s[7] += h;
}

/* sha256 of a 32-byte message given as words: one block with constant padding. */
static void hash32(const uint32_t msg[8], uint32_t out[8]) {
  uint32_t w[16];
  memcpy(w, msg, 32);
  w[8] = 0x80000000u;
  memset(w + 9, 0, 6 * 4);
  w[15] = 256;
  memcpy(out, sc_iv, 32);
  sc_compress(out, w);
}

/* The second block of a 64-byte message is all padding (length 512 bits). */
static const uint32_t pad64[16] = {0x80000000u, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 512};

static inline void wr_le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

void sc_write_result(const uint32_t h[8], const sc_job *job, uint8_t *out) {
  uint32_t le[8];
  for (int i = 0; i < 8; i++) {
    /* Hash bytes are the digest words big-endian; le[i] is the same 4 bytes
     * read as a little-endian word, since the hash compares as an LE integer. */
    le[i] = bswap32(h[i]);
    wr_le32(out + 4 * i, le[i]);
  }
  /* Horner from the top word; src/shares/hashing/share-check-js.ts and the share
   * core's difficultyOfHash do the same arithmetic, so all produce identical doubles. */
  double v = 0;
  for (int i = 7; i >= 0; i--) v = v * 4294967296.0 + (double)le[i];
  double diff = 65535.0 * 0x1p208 / v;
  uint64_t bits;
  memcpy(&bits, &diff, 8);
  wr_le32(out + 32, (uint32_t)bits);
  wr_le32(out + 36, (uint32_t)(bits >> 32));
  uint32_t flags = 0, i = 8;
  while (i-- > 0) {
    if (le[i] != job->target_le[i]) break;
  }
  /* i wraps to UINT32_MAX when every word is equal: hash == target counts */
  if (i == UINT32_MAX || le[i] < job->target_le[i]) flags |= SC_FLAG_BLOCK;
  wr_le32(out + 40, flags);
  wr_le32(out + 44, 0);
}

void sc_check_portable(const sc_job *job, const uint8_t *shares, size_t count, uint8_t *out) {
  uint8_t tail[SC_MAX_TAIL_BLOCKS * 64];
  size_t tail_len = (size_t)job->tail_blocks * 64;
  memcpy(tail, job->tail, tail_len);
  for (size_t n = 0; n < count; n++) {
    const uint8_t *rec = shares + n * SC_SHARE_STRIDE;
    memcpy(tail + job->en2_offset, rec + 16, job->en2_len);
    uint32_t st[8], root[8], w[16];
    memcpy(st, job->midstate, 32);
    for (uint32_t b = 0; b < job->tail_blocks; b++) {
      for (int t = 0; t < 16; t++) w[t] = rd_be32(tail + b * 64 + 4 * t);
      sc_compress(st, w);
    }
    hash32(st, root);
    for (uint32_t k = 0; k < job->branch_count; k++) {
      memcpy(w, root, 32);
      for (int t = 0; t < 8; t++) w[8 + t] = rd_be32(job->branches + k * 32 + 4 * t);
      memcpy(st, sc_iv, 32);
      sc_compress(st, w);
      sc_compress(st, pad64);
      hash32(st, root);
    }
    /* Header block 1: version, prevhash, merkle root[0..28]. */
    w[0] = bswap32(rd_le32(rec));
    memcpy(w + 1, job->prev_words, 32);
    memcpy(w + 9, root, 28);
    memcpy(st, sc_iv, 32);
    sc_compress(st, w);
    /* Block 2: merkle root[28..32], ntime, nbits, nonce, padding for 640 bits. */
    w[0] = root[7];
    w[1] = bswap32(rd_le32(rec + 4));
    w[2] = job->nbits_word;
    w[3] = bswap32(rd_le32(rec + 8));
    w[4] = 0x80000000u;
    memset(w + 5, 0, 10 * 4);
    w[15] = 640;
    sc_compress(st, w);
    hash32(st, root);
    sc_write_result(root, job, out + n * SC_RESULT_STRIDE);
  }
}

void sc_check_batch(const sc_job *job, const uint8_t *shares, size_t count, uint8_t *out,
                    sc_impl impl) {
  if (impl != SC_IMPL_PORTABLE && sc_cpu_has_shani()) {
    sc_check_shani(job, shares, count, out);
  } else {
    sc_check_portable(job, shares, count, out);
  }
}
