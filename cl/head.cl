// head.cl: the classifier head, a global average pool over H x W followed by a fully connected
// layer: out[n][k] = bias[k] + sum_c W[k][c] * mean_hw(in[n][c]).
//
// gap_fc does both in one launch: a work-item owns KN vectors of KV classes for NB images and
// walks the channels, pooling each plane it needs itself and multiplying the means into its
// classes. The weights are stored transposed, classes padded to whole tiles of KV * KN, so that
// a work-item's classes for one channel are one contiguous run of vector loads. BLOCKED picks
// how the runs are laid out: tile by tile (tiles x C x tile), so each work-item streams one
// contiguous block, which CPU prefetchers follow (a row of all classes per channel puts every
// step of a work-item on a new page); or channel by channel (C x KP), so that on GPUs
// neighbouring work-items (neighbouring tiles) read neighbouring addresses.
//
// One launch repeats the pooling once per class tile. The alternative, and the default where
// measured (PoCL, batch 1 and 32: docs/kernels.md), is two: `gap` pools every plane once into a
// dense N x C buffer, then gap_fc runs over that buffer as a tensor of 1 x 1 planes (HW = 1,
// pitch 1, identity map).

#ifndef KV
#define KV 16 // classes per vector: 1, 2, 4, 8 or 16
#endif
#ifndef KN
#define KN 4 // vectors of classes per work-item
#endif
#ifndef NB
#define NB 1 // images per work-item
#endif
#ifndef BLOCKED
#define BLOCKED 1 // weight layout: 1 tiles x C x (KV * KN), 0 C x KP
#endif

#if !VALID_WIDTH(KV)
#error "KV must be 1, 2, 4, 8 or 16"
#endif
typedef VTYPE(KV) floatk;
#define KLOAD(p) VLOAD_N(KV, p)
#define KSTORE(v, p) VSTORE_N(KV, v, p)

// The mean of hw floats at p. Only the plane's own floats are read: its padding up to the
// pitch holds anything (NaN in the tests).
static inline float plane_mean(__global const data_t *p, int hw, float inv_hw) {
    float16 v = 0.0f;
    int i = 0;
    for (; i + 16 <= hw; i += 16) v += DLOAD_N(16, p + i);
    float8 h8 = v.lo + v.hi;
    float4 h4 = h8.lo + h8.hi;
    float s = (h4.x + h4.y) + (h4.z + h4.w);
    for (; i < hw; i++) s += DLOAD(p + i);
    return s * inv_hw;
}

// One mean per work-item: plane (n, c) for work-item (c, n), into pooled[n * C + c].
__kernel void gap(__global const data_t *in, __global const int *in_map, int in_bstride,
                  int in_pitch, int HW, __global data_t *pooled, int N, int C) {
    const int c = get_global_id(0), n = get_global_id(1);
    if (c >= C || n >= N) return;
    DSTORE(plane_mean(in + n * in_bstride + in_map[c] * in_pitch, HW, 1.0f / HW), pooled + n * C + c);
}

// Arguments: input (data, map, floats per image, floats per plane, H*W), output (data, map,
// floats per image, floats per plane), images, channels, classes, padded classes (a multiple
// of KV * KN), transposed weights (see BLOCKED), bias (KP).
__kernel void gap_fc(__global const data_t *in, __global const int *in_map, int in_bstride,
                     int in_pitch, int HW, __global float *out, __global const int *out_map,
                     int out_bstride, int out_pitch, int N, int C, int K, int KP,
                     __global const data_t *wt, __global const float *bias) {
    // dim 0 runs over images so that the work-items of one group share their class tile's
    // weights in cache
    const int n0 = get_global_id(0) * NB, k0 = get_global_id(1) * (KV * KN);
    if (n0 >= N || k0 >= K) return;
    const float inv_hw = 1.0f / HW;
    floatk acc[NB][KN];
#pragma unroll
    for (int j = 0; j < NB; j++)
#pragma unroll
        for (int i = 0; i < KN; i++) acc[j][i] = KLOAD(bias + k0 + i * KV);
    const int nn = min(NB, N - n0); // images of this block; the rest compute zeros, unstored
    __global const data_t *img = in + n0 * in_bstride;

    for (int c = 0; c < C; c++) {
        __global const data_t *plane = img + in_map[c] * in_pitch;
        // rolled (m is a small array in memory): NB inlined copies of plane_mean were most of
        // the kernel's code, generated again by PoCL at the first launch
        float m[NB];
#pragma unroll 1
        for (int j = 0; j < NB; j++)
            m[j] = j < nn ? plane_mean(plane + j * in_bstride, HW, inv_hw) : 0.0f;
        __global const data_t *wr = BLOCKED ? wt + k0 * C + c * (KV * KN) : wt + c * KP + k0;
#pragma unroll
        for (int i = 0; i < KN; i++) {
            const floatk wv = DLOAD_N(KV, wr + i * KV);
#pragma unroll
            for (int j = 0; j < NB; j++) acc[j][i] += m[j] * wv;
        }
    }

    // The scattered stores in rolled loops, once per work-item: unrolled they were NB x KN
    // copies of a loop over KV lanes. The sums are copied to an array of their own for them, so
    // that acc stays in registers in the loop above.
    floatk res[NB][KN];
#pragma unroll
    for (int j = 0; j < NB; j++)
#pragma unroll
        for (int i = 0; i < KN; i++) res[j][i] = acc[j][i];
#pragma unroll 1
    for (int j = 0; j < NB; j++) {
        __global float *dst = out + (n0 + j) * out_bstride;
#pragma unroll 1
        for (int i = 0; i < KN; i++) {
            float v[KV];
            KSTORE(res[j][i], v);
#pragma unroll 1
            for (int l = 0; l < KV; l++) {
                const int k = k0 + i * KV + l;
                if (j < nn && k < K) dst[out_map[k] * out_pitch] = v[l];
            }
        }
    }
}
