/*
 * Share checks with the x86 SHA extensions (SHA-NI), two shares interleaved.
 *
 * sha256rnds2 has a multi-cycle latency and every round depends on the one
 * before, so a single hash leaves the SHA unit idle most of the time; two
 * independent shares of the same job (same coinbase length, same merkle path)
 * run in lockstep and fill those gaps. Functions carry target attributes
 * instead of compiling the file with -msha, so nothing outside the CPUID-
 * guarded entry point can pick up SHA or SSE4.1 instructions.
 */
#include "share_core.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define TGT __attribute__((target("sha,ssse3,sse4.1")))
#define INL static inline __attribute__((always_inline)) TGT

typedef struct {
  __m128i abef, cdgh; /* the register layout sha256rnds2 works on */
} hs;

/* The round constants are share_core.c's sc_k (defined 16-byte aligned). */
#define KV(i) _mm_load_si128((const __m128i *)(sc_k + 4 * (i)))

/* Message words are big-endian: this mask byte-swaps each 32-bit lane. */
#define BSWAP_MASK _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3)

/* Four rounds on state S with W+K already summed in M. */
#define RND4(S, M)                                                   \
  do {                                                               \
    __m128i t_ = (M);                                                \
    (S).cdgh = _mm_sha256rnds2_epu32((S).cdgh, (S).abef, t_);        \
    t_ = _mm_shuffle_epi32(t_, 0x0E);                                \
    (S).abef = _mm_sha256rnds2_epu32((S).abef, (S).cdgh, t_);        \
  } while (0)

#define RND4X2(X, MX, Y, MY, KI)                                     \
  do {                                                               \
    __m128i k_ = KV(KI);                                             \
    __m128i tx_ = _mm_add_epi32((MX), k_), ty_ = _mm_add_epi32((MY), k_); \
    (X).cdgh = _mm_sha256rnds2_epu32((X).cdgh, (X).abef, tx_);       \
    (Y).cdgh = _mm_sha256rnds2_epu32((Y).cdgh, (Y).abef, ty_);       \
    tx_ = _mm_shuffle_epi32(tx_, 0x0E);                              \
    ty_ = _mm_shuffle_epi32(ty_, 0x0E);                              \
    (X).abef = _mm_sha256rnds2_epu32((X).abef, (X).cdgh, tx_);       \
    (Y).abef = _mm_sha256rnds2_epu32((Y).abef, (Y).cdgh, ty_);       \
  } while (0)

/* W[t..t+3] from the previous sixteen words held in W0..W3 (W0 is replaced). */
#define SCHED(W0, W1, W2, W3) \
  W0 = _mm_sha256msg2_epu32(  \
      _mm_add_epi32(_mm_sha256msg1_epu32(W0, W1), _mm_alignr_epi8(W3, W2, 4)), W3)

/* Two independent compressions, interleaved instruction by instruction. */
INL void compress2(hs *x, __m128i a0, __m128i a1, __m128i a2, __m128i a3, hs *y, __m128i b0,
                   __m128i b1, __m128i b2, __m128i b3) {
  hs sx = *x, sy = *y;
  RND4X2(sx, a0, sy, b0, 0);
  RND4X2(sx, a1, sy, b1, 1);
  RND4X2(sx, a2, sy, b2, 2);
  RND4X2(sx, a3, sy, b3, 3);
  for (int g = 4; g < 16; g += 4) {
    SCHED(a0, a1, a2, a3); SCHED(b0, b1, b2, b3); RND4X2(sx, a0, sy, b0, g);
    SCHED(a1, a2, a3, a0); SCHED(b1, b2, b3, b0); RND4X2(sx, a1, sy, b1, g + 1);
    SCHED(a2, a3, a0, a1); SCHED(b2, b3, b0, b1); RND4X2(sx, a2, sy, b2, g + 2);
    SCHED(a3, a0, a1, a2); SCHED(b3, b0, b1, b2); RND4X2(sx, a3, sy, b3, g + 3);
  }
  x->abef = _mm_add_epi32(x->abef, sx.abef); x->cdgh = _mm_add_epi32(x->cdgh, sx.cdgh);
  y->abef = _mm_add_epi32(y->abef, sy.abef); y->cdgh = _mm_add_epi32(y->cdgh, sy.cdgh);
}

INL void compress1(hs *x, __m128i a0, __m128i a1, __m128i a2, __m128i a3) {
  hs sx = *x;
  RND4(sx, _mm_add_epi32(a0, KV(0)));
  RND4(sx, _mm_add_epi32(a1, KV(1)));
  RND4(sx, _mm_add_epi32(a2, KV(2)));
  RND4(sx, _mm_add_epi32(a3, KV(3)));
  for (int g = 4; g < 16; g += 4) {
    SCHED(a0, a1, a2, a3); RND4(sx, _mm_add_epi32(a0, KV(g)));
    SCHED(a1, a2, a3, a0); RND4(sx, _mm_add_epi32(a1, KV(g + 1)));
    SCHED(a2, a3, a0, a1); RND4(sx, _mm_add_epi32(a2, KV(g + 2)));
    SCHED(a3, a0, a1, a2); RND4(sx, _mm_add_epi32(a3, KV(g + 3)));
  }
  x->abef = _mm_add_epi32(x->abef, sx.abef); x->cdgh = _mm_add_epi32(x->cdgh, sx.cdgh);
}

/* A block whose whole schedule is constant (padding only): W+K precomputed. */
INL void compress2_wk(hs *x, hs *y, const __m128i wk[16]) {
  hs sx = *x, sy = *y;
  for (int g = 0; g < 16; g++) {
    __m128i t = _mm_load_si128(wk + g), u = _mm_shuffle_epi32(t, 0x0E);
    sx.cdgh = _mm_sha256rnds2_epu32(sx.cdgh, sx.abef, t);
    sy.cdgh = _mm_sha256rnds2_epu32(sy.cdgh, sy.abef, t);
    sx.abef = _mm_sha256rnds2_epu32(sx.abef, sx.cdgh, u);
    sy.abef = _mm_sha256rnds2_epu32(sy.abef, sy.cdgh, u);
  }
  x->abef = _mm_add_epi32(x->abef, sx.abef); x->cdgh = _mm_add_epi32(x->cdgh, sx.cdgh);
  y->abef = _mm_add_epi32(y->abef, sy.abef); y->cdgh = _mm_add_epi32(y->cdgh, sy.cdgh);
}

INL void compress1_wk(hs *x, const __m128i wk[16]) {
  hs sx = *x;
  for (int g = 0; g < 16; g++) RND4(sx, _mm_load_si128(wk + g));
  x->abef = _mm_add_epi32(x->abef, sx.abef); x->cdgh = _mm_add_epi32(x->cdgh, sx.cdgh);
}

/* State registers -> digest words [A,B,C,D] and [E,F,G,H]. */
INL void to_words(hs s, __m128i *w0, __m128i *w1) {
  __m128i t = _mm_shuffle_epi32(s.abef, 0x1B); /* A B E F */
  __m128i u = _mm_shuffle_epi32(s.cdgh, 0xB1); /* G H C D */
  *w0 = _mm_blend_epi16(t, u, 0xF0);
  *w1 = _mm_alignr_epi8(u, t, 8);
}

INL hs from_words(const uint32_t w[8]) {
  __m128i w0 = _mm_loadu_si128((const __m128i *)w), w1 = _mm_loadu_si128((const __m128i *)(w + 4));
  __m128i t = _mm_shuffle_epi32(w0, 0xB1); /* B A D C */
  __m128i u = _mm_shuffle_epi32(w1, 0x1B); /* H G F E */
  hs s = {_mm_alignr_epi8(t, u, 8), _mm_blend_epi16(u, t, 0xF0)};
  return s;
}

INL __m128i load_be(const uint8_t *p, __m128i mask) {
  return _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)p), mask);
}

typedef struct {
  hs iv, mid;
  __m128i pad64_wk[16];
  __m128i pad32_2, pad32_3;            /* padding words of a 32-byte message */
  __m128i hdr0, hdr1, hdr2;            /* header block 1 constant words */
  __m128i hdr_pad1, hdr_pad3;          /* header block 2 padding words */
  __m128i mask;
} consts;

static TGT void make_consts(const sc_job *j, consts *c) {
  c->iv = from_words(sc_iv);
  c->mid = from_words(j->midstate);
  c->mask = BSWAP_MASK;
  /* Schedule of the padding block of a 64-byte message, plus K. */
  uint32_t w[64];
  memset(w, 0, sizeof w);
  w[0] = 0x80000000u;
  w[15] = 512;
  for (int t = 16; t < 64; t++) {
    uint32_t x = w[t - 15], y = w[t - 2];
    uint32_t s0 = ((x >> 7) | (x << 25)) ^ ((x >> 18) | (x << 14)) ^ (x >> 3);
    uint32_t s1 = ((y >> 17) | (y << 15)) ^ ((y >> 19) | (y << 13)) ^ (y >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  for (int g = 0; g < 16; g++)
    c->pad64_wk[g] = _mm_set_epi32((int)(w[4 * g + 3] + sc_k[4 * g + 3]), (int)(w[4 * g + 2] + sc_k[4 * g + 2]),
                                   (int)(w[4 * g + 1] + sc_k[4 * g + 1]), (int)(w[4 * g] + sc_k[4 * g]));
  c->pad32_2 = _mm_set_epi32(0, 0, 0, (int)0x80000000u);
  c->pad32_3 = _mm_set_epi32(256, 0, 0, 0);
  const uint32_t *p = j->prev_words;
  c->hdr0 = _mm_set_epi32((int)p[2], (int)p[1], (int)p[0], 0);
  c->hdr1 = _mm_set_epi32((int)p[6], (int)p[5], (int)p[4], (int)p[3]);
  c->hdr2 = _mm_set_epi32((int)p[7], 0, 0, 0);
  c->hdr_pad1 = _mm_set_epi32(0, 0, 0, (int)0x80000000u);
  c->hdr_pad3 = _mm_set_epi32(640, 0, 0, 0);
}

static inline uint32_t rd_le32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v; /* x86 is little-endian */
}

INL void finish(hs s, const sc_job *j, uint8_t *out) {
  __m128i w0, w1;
  uint32_t h[8];
  to_words(s, &w0, &w1);
  _mm_storeu_si128((__m128i *)h, w0);
  _mm_storeu_si128((__m128i *)(h + 4), w1);
  sc_write_result(h, j, out);
}

/* The whole share check for two records in lockstep. */
static TGT void check_pair(const sc_job *j, const consts *c, const uint8_t *ra, const uint8_t *rb,
                           uint8_t *ta, uint8_t *tb, uint8_t *oa, uint8_t *ob) {
  __m128i m = c->mask, a0, a1, b0, b1;
  memcpy(ta + j->en2_offset, ra + 16, j->en2_len);
  memcpy(tb + j->en2_offset, rb + 16, j->en2_len);
  hs x = c->mid, y = c->mid;
  for (uint32_t blk = 0; blk < j->tail_blocks; blk++) {
    const uint8_t *pa = ta + 64 * blk, *pb = tb + 64 * blk;
    compress2(&x, load_be(pa, m), load_be(pa + 16, m), load_be(pa + 32, m), load_be(pa + 48, m), &y,
              load_be(pb, m), load_be(pb + 16, m), load_be(pb + 32, m), load_be(pb + 48, m));
  }
  to_words(x, &a0, &a1);
  to_words(y, &b0, &b1);
  x = y = c->iv;
  compress2(&x, a0, a1, c->pad32_2, c->pad32_3, &y, b0, b1, c->pad32_2, c->pad32_3);
  for (uint32_t k = 0; k < j->branch_count; k++) {
    __m128i br0 = load_be(j->branches + 32 * k, m), br1 = load_be(j->branches + 32 * k + 16, m);
    to_words(x, &a0, &a1);
    to_words(y, &b0, &b1);
    x = y = c->iv;
    compress2(&x, a0, a1, br0, br1, &y, b0, b1, br0, br1);
    compress2_wk(&x, &y, c->pad64_wk);
    to_words(x, &a0, &a1);
    to_words(y, &b0, &b1);
    x = y = c->iv;
    compress2(&x, a0, a1, c->pad32_2, c->pad32_3, &y, b0, b1, c->pad32_2, c->pad32_3);
  }
  /* Header block 1 = version, prevhash, root words 0..6; block 2 = root word 7,
   * ntime, nbits, nonce, padding. */
  to_words(x, &a0, &a1);
  to_words(y, &b0, &b1);
  x = y = c->iv;
  compress2(&x, _mm_insert_epi32(c->hdr0, (int)__builtin_bswap32(rd_le32(ra)), 0), c->hdr1,
            _mm_alignr_epi8(a0, c->hdr2, 12), _mm_alignr_epi8(a1, a0, 12), &y,
            _mm_insert_epi32(c->hdr0, (int)__builtin_bswap32(rd_le32(rb)), 0), c->hdr1,
            _mm_alignr_epi8(b0, c->hdr2, 12), _mm_alignr_epi8(b1, b0, 12));
  __m128i tna = _mm_set_epi32(0, (int)__builtin_bswap32(rd_le32(ra + 8)), (int)j->nbits_word,
                              (int)__builtin_bswap32(rd_le32(ra + 4)));
  __m128i tnb = _mm_set_epi32(0, (int)__builtin_bswap32(rd_le32(rb + 8)), (int)j->nbits_word,
                              (int)__builtin_bswap32(rd_le32(rb + 4)));
  __m128i zero = _mm_setzero_si128();
  compress2(&x, _mm_alignr_epi8(tna, a1, 12), c->hdr_pad1, zero, c->hdr_pad3, &y,
            _mm_alignr_epi8(tnb, b1, 12), c->hdr_pad1, zero, c->hdr_pad3);
  to_words(x, &a0, &a1);
  to_words(y, &b0, &b1);
  x = y = c->iv;
  compress2(&x, a0, a1, c->pad32_2, c->pad32_3, &y, b0, b1, c->pad32_2, c->pad32_3);
  finish(x, j, oa);
  finish(y, j, ob);
}

/* The same for an odd record left at the end of a batch. */
static TGT void check_one(const sc_job *j, const consts *c, const uint8_t *ra, uint8_t *ta,
                          uint8_t *oa) {
  __m128i m = c->mask, a0, a1;
  memcpy(ta + j->en2_offset, ra + 16, j->en2_len);
  hs x = c->mid;
  for (uint32_t blk = 0; blk < j->tail_blocks; blk++) {
    const uint8_t *pa = ta + 64 * blk;
    compress1(&x, load_be(pa, m), load_be(pa + 16, m), load_be(pa + 32, m), load_be(pa + 48, m));
  }
  to_words(x, &a0, &a1);
  x = c->iv;
  compress1(&x, a0, a1, c->pad32_2, c->pad32_3);
  for (uint32_t k = 0; k < j->branch_count; k++) {
    to_words(x, &a0, &a1);
    x = c->iv;
    compress1(&x, a0, a1, load_be(j->branches + 32 * k, m), load_be(j->branches + 32 * k + 16, m));
    compress1_wk(&x, c->pad64_wk);
    to_words(x, &a0, &a1);
    x = c->iv;
    compress1(&x, a0, a1, c->pad32_2, c->pad32_3);
  }
  to_words(x, &a0, &a1);
  x = c->iv;
  compress1(&x, _mm_insert_epi32(c->hdr0, (int)__builtin_bswap32(rd_le32(ra)), 0), c->hdr1,
            _mm_alignr_epi8(a0, c->hdr2, 12), _mm_alignr_epi8(a1, a0, 12));
  __m128i tna = _mm_set_epi32(0, (int)__builtin_bswap32(rd_le32(ra + 8)), (int)j->nbits_word,
                              (int)__builtin_bswap32(rd_le32(ra + 4)));
  compress1(&x, _mm_alignr_epi8(tna, a1, 12), c->hdr_pad1, _mm_setzero_si128(), c->hdr_pad3);
  to_words(x, &a0, &a1);
  x = c->iv;
  compress1(&x, a0, a1, c->pad32_2, c->pad32_3);
  finish(x, j, oa);
}

void sc_check_shani(const sc_job *j, const uint8_t *shares, size_t count, uint8_t *out) {
  if (!sc_cpu_has_shani()) {
    sc_check_portable(j, shares, count, out);
    return;
  }
  consts c __attribute__((aligned(16)));
  make_consts(j, &c);
  /* 32 KiB of stack: Node worker threads and pthreads default to far more. */
  uint8_t ta[SC_MAX_TAIL_BLOCKS * 64], tb[SC_MAX_TAIL_BLOCKS * 64];
  size_t tail_len = (size_t)j->tail_blocks * 64;
  memcpy(ta, j->tail, tail_len);
  memcpy(tb, j->tail, tail_len);
  size_t n = 0;
  for (; n + 2 <= count; n += 2) {
    check_pair(j, &c, shares + n * SC_SHARE_STRIDE, shares + (n + 1) * SC_SHARE_STRIDE, ta, tb,
               out + n * SC_RESULT_STRIDE, out + (n + 1) * SC_RESULT_STRIDE);
  }
  if (n < count) check_one(j, &c, shares + n * SC_SHARE_STRIDE, ta, out + n * SC_RESULT_STRIDE);
}

#else
void sc_check_shani(const sc_job *j, const uint8_t *shares, size_t count, uint8_t *out) {
  sc_check_portable(j, shares, count, out);
}
#endif
