/* peak.cl: device ceilings for `shufflecl bench`: the fused multiply-add rate and the memory
 * bandwidth, so that every kernel's throughput can be read as a fraction of what is possible.
 *
 * Options: -DVW=1|2|4|8|16 (float vector width of the FMA accumulators, default 8).
 *
 * fma_peak: each work-item keeps 16 independent accumulators and updates each UNROLL times per
 * loop trip, so no FMA waits on the one before it (a single dependent chain runs at 1/latency
 * of the peak). Vector types map straight onto SIMD registers on CPUs (PoCL, Intel) and
 * unroll into independent scalar FMAs on GPUs; VW=1 leaves vectorisation to the compiler's
 * work-group vectoriser. a*m + c with m just below 1 converges to c / (1 - m): no overflow and
 * no denormals, whatever the trip count. */

#ifndef VW
#define VW 8
#endif
#define VEC VTYPE(VW)
#define UNROLL 8

#define REP16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) \
                 X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define DECL(k) VEC a##k = (VEC)(x + (float)(k) * 0.001f);
#define STEP(k) a##k = fma(a##k, vm, vc);
#define SUM(k) s += a##k;

/* Flops per work-item: iters * UNROLL * 16 * VW * 2. */
__kernel void fma_peak(__global VEC *out, int iters, float m, float c) {
    float x = (float)get_global_id(0) * 1e-6f;
    VEC vm = (VEC)(m), vc = (VEC)(c);
    REP16(DECL)
    for (int i = 0; i < iters; i++) {
#pragma unroll
        for (int u = 0; u < UNROLL; u++) {
            REP16(STEP)
        }
    }
    VEC s = (VEC)(0.0f);
    REP16(SUM)
    /* stored so that nothing above is dead code */
    out[get_global_id(0)] = s;
}

/* Reads n float16 (64-byte) vectors, each work-item a contiguous run of `per` of them (CPU
 * caches and prefetchers want long sequential streams). Four sums hide the add latency. */
__kernel void read_chunked(__global const float16 *src, __global float *out, int per) {
    size_t base = get_global_id(0) * (size_t)per;
    float16 s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    for (int i = 0; i + 3 < per; i += 4) {
        s0 += src[base + i];
        s1 += src[base + i + 1];
        s2 += src[base + i + 2];
        s3 += src[base + i + 3];
    }
    float16 s = (s0 + s1) + (s2 + s3);
    out[get_global_id(0)] = dot(s.lo.lo, s.hi.hi) + dot(s.lo.hi, s.hi.lo);
}

/* The same bytes read grid-strided: neighbouring work-items read neighbouring vectors (what
 * GPUs coalesce). */
__kernel void read_strided(__global const float16 *src, __global float *out, int n) {
    size_t g = get_global_size(0);
    float16 s0 = 0.0f, s1 = 0.0f;
    size_t i = get_global_id(0);
    for (; i + g < (size_t)n; i += 2 * g) {
        s0 += src[i];
        s1 += src[i + g];
    }
    if (i < (size_t)n) s0 += src[i];
    float16 s = s0 + s1;
    out[get_global_id(0)] = dot(s.lo.lo, s.hi.hi) + dot(s.lo.hi, s.hi.lo);
}

/* A plain copy: each vector read once and written once. */
__kernel void copy16(__global const float16 *src, __global float16 *dst) {
    size_t i = get_global_id(0);
    dst[i] = src[i];
}
