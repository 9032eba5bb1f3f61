/*
 * N-API addon: batched share checks for surplus (see share_core.h for the
 * byte layouts). Plain node_api.h, no C++ wrapper, so nothing is added to
 * package.json dependencies.
 *
 *   checkBatch(ctx, shares, count, out, impl?) -> undefined
 *     ctx, shares, out: Uint8Array (Buffers are fine); impl 0 = best, 1 = portable C
 *   shaNi: boolean      this CPU has SHA-NI and the fast path will use it
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdio.h>

#include "share_core.h"

#define CHECK(call)                                            \
  do {                                                         \
    if ((call) != napi_ok) {                                   \
      napi_throw_error(env, "ERR_SURPLUS_NATIVE", #call " failed"); \
      return NULL;                                             \
    }                                                          \
  } while (0)

static int get_bytes(napi_env env, napi_value v, const char *name, uint8_t **data, size_t *len) {
  bool is_ta = false;
  napi_typedarray_type type;
  void *ptr = NULL;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, v, &type, len, &ptr, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a Uint8Array or Buffer", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return 0;
  }
  *data = ptr;
  return 1;
}

static napi_value check_batch(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "checkBatch(ctx, shares, count, out, impl?) needs 4 arguments");
    return NULL;
  }
  uint8_t *ctx, *shares, *out;
  size_t ctx_len, shares_len, out_len;
  if (!get_bytes(env, argv[0], "ctx", &ctx, &ctx_len) || !get_bytes(env, argv[1], "shares", &shares, &shares_len) ||
      !get_bytes(env, argv[3], "out", &out, &out_len))
    return NULL;
  double count_d = -1;
  /* Range first: casting an out-of-range double to an integer is undefined. */
  if (napi_get_value_double(env, argv[2], &count_d) != napi_ok || !(count_d >= 0) || count_d > 1e12 ||
      count_d != (double)(int64_t)count_d) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "count must be a non-negative integer");
    return NULL;
  }
  int64_t count = (int64_t)count_d;
  if ((uint64_t)count * SC_SHARE_STRIDE > shares_len || (uint64_t)count * SC_RESULT_STRIDE > out_len) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                           "count exceeds shares.length / 48 or out.length / 48");
    return NULL;
  }
  int32_t impl = 0;
  if (argc >= 5) {
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[4], &t));
    if (t != napi_undefined && (napi_get_value_int32(env, argv[4], &impl) != napi_ok || impl < 0 || impl > 1)) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "impl must be 0 (best) or 1 (portable)");
      return NULL;
    }
  }
  sc_job job;
  const char *err = sc_job_parse(ctx, ctx_len, &job);
  if (err) {
    napi_throw_range_error(env, "ERR_SURPLUS_JOB_CONTEXT", err);
    return NULL;
  }
  sc_check_batch(&job, shares, (size_t)count, out, impl == 1 ? SC_IMPL_PORTABLE : SC_IMPL_AUTO);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn, shani;
  CHECK(napi_create_function(env, "checkBatch", NAPI_AUTO_LENGTH, check_batch, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "checkBatch", fn));
  CHECK(napi_get_boolean(env, sc_cpu_has_shani() != 0, &shani));
  CHECK(napi_set_named_property(env, exports, "shaNi", shani));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
