/*
 * Batched Stratum V1 share checks (SHA-256d), shared by the N-API addon
 * (native/src/addon.c) and the reference benchmark (native-bench/).
 *
 * The byte layouts below are mirrored in src/shares/hashing/layout.ts; change
 * both together. All integers are little-endian.
 *
 * Job context (built once per job and session by the JS side):
 *   0   u32 magic SC_MAGIC
 *   4   u32 en2_offset   where extranonce2 starts inside the coinbase tail
 *   8   u32 en2_len      1..SC_MAX_EN2
 *   12  u32 tail_blocks  64-byte blocks in the padded coinbase tail
 *   16  u32 branch_count 0..SC_MAX_BRANCHES
 *   20  u32 prefix_blocks full 64-byte blocks of coinb1 || extranonce1
 *   24  u32[8] midstate  SHA-256 state after those blocks (the IV when none)
 *   56  u32 coinbase_len total coinbase bytes
 *   60  u32 reserved
 *   64  80-byte header template: prevhash (header order) at 4..36 and nbits
 *       at 72..76 are used; version, merkle root, ntime and nonce come per share
 *   144 32 bytes network target from nbits, as a little-endian 256-bit integer
 *   176 16 bytes reserved
 *   192 branch_count x 32 bytes merkle branches as sent by mining.notify
 *   ... tail_blocks x 64 bytes: the rest of coinb1 || extranonce1, a zeroed
 *       extranonce2 slot, coinb2 and SHA-256 padding for the whole coinbase
 *   ... prefix_blocks x 64 bytes: the raw prefix blocks the midstate covers,
 *       for implementations that cannot start from a midstate (node:crypto);
 *       the C code never reads them
 *
 * Share record (SC_SHARE_STRIDE bytes each):
 *   0  u32 version (final header version after BIP310 rolling)
 *   4  u32 ntime
 *   8  u32 nonce
 *   12 u32 reserved
 *   16 extranonce2 bytes (en2_len of them, zero-padded to SC_MAX_EN2)
 *
 * Result record (SC_RESULT_STRIDE bytes each):
 *   0  32 bytes sha256d(header) in internal byte order (reverse for display)
 *   32 f64 share difficulty in bdiff units, (0xFFFF * 2^208) / hash
 *   40 u32 flags: SC_FLAG_BLOCK when hash <= network target
 *   44 u32 reserved
 */
#ifndef SURPLUS_SHARE_CORE_H
#define SURPLUS_SHARE_CORE_H

#include <stddef.h>
#include <stdint.h>

#define SC_MAGIC 0x31435053u /* "SPC1" */
#define SC_HEADER_BYTES 192
#define SC_MAX_EN2 32
#define SC_MAX_BRANCHES 32
#define SC_MAX_TAIL_BLOCKS 256 /* 16 KiB of coinbase tail */
#define SC_MAX_PREFIX_BLOCKS 1024
#define SC_SHARE_STRIDE 48
#define SC_RESULT_STRIDE 48
#define SC_FLAG_BLOCK 1u

typedef struct {
  const uint8_t *ctx;
  uint32_t en2_offset;
  uint32_t en2_len;
  uint32_t tail_blocks;
  uint32_t branch_count;
  uint32_t midstate[8];
  uint32_t prev_words[8]; /* header bytes 4..36 as big-endian words */
  uint32_t nbits_word;    /* header bytes 72..76 as a big-endian word */
  uint32_t target_le[8];  /* network target, little-endian words */
  const uint8_t *branches;
  const uint8_t *tail;
} sc_job;

typedef enum { SC_IMPL_AUTO = 0, SC_IMPL_PORTABLE = 1, SC_IMPL_SHANI = 2 } sc_impl;

/* Parses and bounds-checks a job context; returns NULL or a static message. */
const char *sc_job_parse(const uint8_t *ctx, size_t len, sc_job *out);

/* 1 when this CPU has SHA-NI, SSSE3 and SSE4.1 (CPUID leaf 7 / leaf 1). */
int sc_cpu_has_shani(void);

/* Checks `count` shares; SC_IMPL_SHANI falls back to portable on CPUs without it. */
void sc_check_batch(const sc_job *job, const uint8_t *shares, size_t count, uint8_t *out,
                    sc_impl impl);

/* Portable building blocks, also used by the benchmark's self-tests. */
void sc_compress(uint32_t state[8], const uint32_t w[16]);
void sc_check_portable(const sc_job *job, const uint8_t *shares, size_t count, uint8_t *out);
void sc_check_shani(const sc_job *job, const uint8_t *shares, size_t count, uint8_t *out);
void sc_write_result(const uint32_t h[8], const sc_job *job, uint8_t *out);

extern const uint32_t sc_k[64];
extern const uint32_t sc_iv[8];

#endif
