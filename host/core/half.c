/* half.c: float <-> IEEE 754 binary16 on the host, for half-storage tensors and weights. The
 * device converts with vstore_half_rte / vload_half; these give the same bits (round to nearest,
 * ties to even; subnormals kept; overflow to infinity; NaN stays NaN), so a value uploaded here
 * and one stored by a kernel round alike. */
#include "core/internal.h"

#include <string.h>

uint16_t scl__half_from_float(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) /* infinity, or NaN kept quiet with its top payload bits */
        return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u | ((ax >> 13) & 0x3ffu) : 0));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520 rounds past 65504 */
    if (ax < 0x38800000u) {
        /* below 2^-14: a subnormal half, in units of 2^-24; under 2^-25 (and the tie at it,
         * to even) is zero */
        if (ax <= 0x33000000u) return (uint16_t)sign;
        uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
        int shift = 126 - (int)(ax >> 23); /* 14 .. 24 */
        uint32_t q = mant >> shift, rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (q & 1))) q++; /* may carry into the smallest normal */
        return (uint16_t)(sign | q);
    }
    /* normal: rebias the exponent (127 -> 15) and drop 13 mantissa bits, rounding; a carry
     * moves into the exponent, which is what rounding up across a power of two means */
    uint32_t h = (ax - 0x38000000u) >> 13, rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

float scl__half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, mant = h & 0x3ffu, x;
    if (e == 0) {
        float f = (float)mant * 0x1p-24f; /* exact: at most 10 significant bits */
        return sign ? -f : f;
    }
    if (e == 31)
        x = sign | 0x7f800000u | (mant << 13);
    else
        x = sign | ((e + 112) << 23) | (mant << 13);
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

void scl__half_from_floats(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++)
        dst[i] = scl__half_from_float(src[i]);
}

void scl__half_to_floats(float *dst, const uint16_t *src, size_t n) {
    for (size_t i = 0; i < n; i++)
        dst[i] = scl__half_to_float(src[i]);
}

scl_status scl__storage_of(scl_context *ctx, scl_precision p, const char *fn, const char *what,
                           int *half) {
    *half = p == SCL_PRECISION_HALF_STORAGE;
    if (p == SCL_PRECISION_DEFAULT || p == SCL_PRECISION_FLOAT32 || *half) return SCL_OK;
    if (p == SCL_PRECISION_FLOAT16) {
        int fp16 = ctx && ctx->info.fp16;
        return scl__fail(ctx, SCL_ERROR_UNSUPPORTED,
                         "%s: %s = half (16-bit arithmetic) is not available: %s; "
                         "half-storage stores weights and activations in 16 bits on any device",
                         fn, what,
                         fp16 ? "shufflecl has no half-arithmetic kernels yet"
                              : "the device has no cl_khr_fp16");
    }
    return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: %s = %d is not a scl_precision", fn,
                     what, (int)p);
}
