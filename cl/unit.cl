// unit.cl: a whole ShuffleNet V2 unit's branches in one launch of `unit`: the stride-1 branch
// (1x1 conv + ReLU, depthwise 3x3, 1x1 conv + ReLU; BN folded into every conv), or the stride-2
// unit's two branches (depthwise 3x3 s2, 1x1 conv + ReLU; and 1x1 conv + ReLU, depthwise 3x3
// s2, 1x1 conv + ReLU) from the same input, reading and writing through channel maps like every
// other kernel, so the unit's split, concat and shuffle stay free.
//
// A work-group owns a band of `TH` whole output rows of one image, for every output channel.
// It stages the input rows its band needs (TH + 2 at stride 1, 2 TH + 1 at stride 2: the
// depthwise's one-row halo, recomputed by both neighbouring bands) in local memory, and keeps
// every intermediate there: nothing but the unit's input and output touches global memory.
// Whole rows keep each band's pixels contiguous, so the 1x1 convs walk them VEC at a time as
// pointwise.cl does (register tiles of CO_TILE channels x VEC pixels, two side by side), and the
// depthwise only needs a halo of rows; its left and right padding are lanes selected to zero.
//
// The phases of a work-group are separated by barriers; in each, its work-items share the tasks
// (channel x pixel chunk, or channel tile x pixel chunk) in turn, so any work-group size works.
// Each local plane ("region", `rs*` floats apart) is laid out as: one float of padding, the rows
// (rows outside the image and the padding around them zero), then at least 2 VEC + 1 floats of
// zeros: the vector loads of the depthwise and of the 1x1 convs may run past the rows.
//
// Shapes are arguments, not build options: one program serves every unit of every model.
// Build options: VEC (pixels per vector: 1, 2, 4, 8, 16), CO_TILE (output channels per task,
// the weights packed per tile to match), MAC (fma or mad, as in pointwise.cl).

#ifndef VEC
#define VEC 16
#endif
#ifndef CO_TILE
#define CO_TILE 8
#endif

#if !VALID_WIDTH(VEC)
#error "VEC must be 1, 2, 4, 8 or 16"
#endif
typedef VTYPE(VEC) floatv;
#define LOADV(p) VLOAD_N(VEC, p)
#define STOREV(v, p) VSTORE_N(VEC, v, p)

#ifndef MAC
#if defined(FP_FAST_FMAF) || defined(__FMA__)
#define MAC(a, b, c) fma(a, b, c)
#else
#define MAC(a, b, c) mad(a, b, c)
#endif
#endif

// The lane numbers 0 .. VEC-1 as ints, for the column masks of the depthwise.
#if VEC == 1
typedef int intv;
#define IOTA 0
#elif VEC == 2
typedef int2 intv;
#define IOTA ((int2)(0, 1))
#elif VEC == 4
typedef int4 intv;
#define IOTA ((int4)(0, 1, 2, 3))
#elif VEC == 8
typedef int8 intv;
#define IOTA ((int8)(0, 1, 2, 3, 4, 5, 6, 7))
#else
typedef int16 intv;
#define IOTA ((int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
#endif

// The first n lanes of v at p (all of them when n >= VEC): stores never pass the band's last
// pixel, which may be the first of another work-group's band.
#define STORE_PART_FN(name, AS)                                                                    \
    INLINE void name(floatv v, AS float *p, int n) {                                               \
        if (n >= VEC) {                                                                            \
            STOREV(v, p);                                                                          \
            return;                                                                                \
        }                                                                                          \
        float t[VEC];                                                                              \
        VSTORE_N(VEC, v, t);                                                                       \
        for (int i = 0; i < n; i++)                                                                \
            p[i] = t[i];                                                                           \
    }
STORE_PART_FN(store_part_l, __local)
STORE_PART_FN(store_part_g, __global)

// Floats [a, b) of each of C regions rs apart set to zero. One task per channel: a division per
// float (the flat index) cost more than the 1x1 convs of a small band.
INLINE void zero_range(__local float *p, int rs, int C, int a, int b, int lid, int lsz) {
    for (int c = lid; c < C; c += lsz)
        for (int i = a; i < b; i++)
            p[c * rs + i] = 0.0f;
}

// `count` floats from `start` of each of the C planes map[c] of src into the regions of dst.
INLINE void load_band(__global const float *src, __global const int *map, int pitch, int start,
                      int count, int C, __local float *dst, int rs, int lid, int lsz) {
    for (int c = lid; c < C; c += lsz) {
        __global const float *s = src + map[c] * pitch + start;
        __local float *d = dst + c * rs;
        int x = 0;
        for (; x + VEC <= count; x += VEC)
            STOREV(LOADV(s + x), d + x);
        for (; x < count; x++)
            d[x] = s[x];
    }
}

// The register tiles of one task: a[c] = bias + sum_k w[k][c] * in[k][px ..], the K input
// regions is apart, the tile's packed weights wt ([k][CO_TILE]). Two tiles side by side, pixels
// px and px + VEC: per input channel two vector loads feed 2 CO_TILE multiply-adds, so the
// broadcast weight loads no longer outnumber them (with one tile, 9 loads per 8 FMAs kept
// AVX-512's two load ports busier than its FMA units). Where a pair would pass the band's end,
// a single tile (PW_ACC1, not unrolled over k: only a band's last task takes it); the pair there
// too wasted up to an eighth of the multiply-adds of a 14 x 14 plane's 1x1 convs.
#define PW_ACC2(a0, a1, in, is, K, wt)                                                             \
    do {                                                                                           \
        for (int k_ = 0; k_ < (K); k_++) {                                                         \
            const floatv x0_ = LOADV((in) + k_ * (is)), x1_ = LOADV((in) + k_ * (is) + VEC);      \
            _Pragma("unroll") for (int c_ = 0; c_ < CO_TILE; c_++) {                               \
                const floatv w_ = (floatv)((wt)[k_ * CO_TILE + c_]);                               \
                a0[c_] = MAC(x0_, w_, a0[c_]);                                                     \
                a1[c_] = MAC(x1_, w_, a1[c_]);                                                     \
            }                                                                                      \
        }                                                                                          \
    } while (0)

#define PW_ACC1(acc, in, is, K, wt)                                                                \
    do {                                                                                           \
        for (int k_ = 0; k_ < (K); k_++) {                                                         \
            const floatv x_ = LOADV((in) + k_ * (is));                                             \
            _Pragma("unroll") for (int c_ = 0; c_ < CO_TILE; c_++) acc[c_] =                       \
                MAC(x_, (floatv)((wt)[k_ * CO_TILE + c_]), acc[c_]);                               \
        }                                                                                          \
    } while (0)

// The tasks of a 1x1 conv over P pixels: a pair of pixel vectors (one where the pair would pass
// P) times a channel tile. Sets px, j, two (1: a pair), a0 and a1 (bias + the sums) for task t.
#define PW_TASK(t, P, tiles, K, in, is, w, b)                                                      \
    const int pair_ = (t) / (tiles), j = (t) - pair_ * (tiles), px = pair_ * 2 * VEC;              \
    const int two = px + VEC < (P);                                                                \
    floatv a0[CO_TILE], a1[CO_TILE];                                                               \
    _Pragma("unroll") for (int c_ = 0; c_ < CO_TILE; c_++) a0[c_] = a1[c_] =                       \
        (floatv)((b)[j * CO_TILE + c_]);                                                           \
    if (two)                                                                                       \
        PW_ACC2(a0, a1, (in) + px, is, K, (w) + j * (K) * CO_TILE);                                \
    else                                                                                           \
        PW_ACC1(a0, (in) + px, is, K, (w) + j * (K) * CO_TILE)

// The stores of a task, `o` the expression of channel c's output at pixel px. Whole pairs
// (every task but a band's last) are plain vector stores, unrolled; the last pair goes through
// store_part one channel at a time in a rolled loop, so that its guarded scalar tail is one
// copy: inlined for each of the 2 CO_TILE vectors it made most of the kernel's code and of
// PoCL's code generation at first launch. The tiles are copied to an array of their own for
// it, so that a0 and a1 stay in registers.
#define PW_STORE(P, cout, o, store_part)                                                           \
    do {                                                                                           \
        if (px + 2 * VEC <= (P)) {                                                                 \
            _Pragma("unroll") for (int c = 0; c < CO_TILE; c++) {                                  \
                if (j * CO_TILE + c >= (cout)) continue;                                           \
                STOREV(fmax(a0[c], 0.0f), (o));                                                    \
                STOREV(fmax(a1[c], 0.0f), (o) + VEC);                                              \
            }                                                                                      \
        } else {                                                                                   \
            floatv t0[CO_TILE], t1[CO_TILE];                                                       \
            _Pragma("unroll") for (int c = 0; c < CO_TILE; c++) t0[c] = a0[c], t1[c] = a1[c];      \
            _Pragma("unroll 1") for (int c = 0; c < CO_TILE && j * CO_TILE + c < (cout); c++) {    \
                store_part(fmax(t0[c], 0.0f), (o), (P) - px);                                      \
                if (two) store_part(fmax(t1[c], 0.0f), (o) + VEC, (P) - px - VEC);                 \
            }                                                                                      \
        }                                                                                          \
    } while (0)

// 1x1 conv + ReLU over P pixels: K regions of in (is apart) to cout regions of out (os apart).
INLINE void pw_local(__local const float *in, int is, int K, int P, __global const float *w,
                     __global const float *b, int cout, __local float *out, int os, int lid,
                     int lsz) {
    const int pairs = (P + 2 * VEC - 1) / (2 * VEC), tiles = (cout + CO_TILE - 1) / CO_TILE;
    for (int t = lid; t < pairs * tiles; t += lsz) {
        PW_TASK(t, P, tiles, K, in, is, w, b);
        PW_STORE(P, cout, out + (j * CO_TILE + c) * os + px, store_part_l);
    }
}

// The same into global planes map[c] (from `start`) of out.
INLINE void pw_global(__local const float *in, int is, int K, int P, __global const float *w,
                      __global const float *b, int cout, __global float *out,
                      __global const int *map, int pitch, int start, int lid, int lsz) {
    const int pairs = (P + 2 * VEC - 1) / (2 * VEC), tiles = (cout + CO_TILE - 1) / CO_TILE;
    for (int t = lid; t < pairs * tiles; t += lsz) {
        PW_TASK(t, P, tiles, K, in, is, w, b);
        PW_STORE(P, cout, out + map[j * CO_TILE + c] * pitch + start + px, store_part_g);
    }
}

// Depthwise 3x3 (bias, no ReLU) of C regions of in to `rows` output rows of OW in out: in's
// row 0 (at in + 0, its padding float before it) is the input row of tap 0 of output row 0.
// At stride 1 the taps of VEC outputs are three overlapping loads; at stride 2 the even and odd
// lanes of two loads and one more float. Lanes whose tap is the left or right padding are
// selected to zero; lanes past the row are computed but never stored.
INLINE void dw_local(__local const float *in, int is, int W, int OW, int rows, const int stride,
                     __global const float *wd, __global const float *bd, int C, __local float *out,
                     int os, int lid, int lsz) {
    // one task per output row: the divisions of a flat index stay out of the chunk loop
    for (int t = lid; t < C * rows; t += lsz) {
        const int c = t / rows, y = t - c * rows;
        for (int x0 = 0; x0 < OW; x0 += VEC) {
            const intv x = (intv)(x0) + IOTA;
            const intv left = x == (intv)(0);
            const intv right = stride == 1 ? x == (intv)(W - 1) : 2 * x + 1 >= (intv)(W);
            __global const float *w = wd + c * 9;
            floatv acc = (floatv)bd[c];
#pragma unroll
            for (int ky = 0; ky < 3; ky++) {
                __local const float *p = in + c * is + (y * stride + ky) * W + x0 * stride - 1;
                floatv t0, t1, t2;
                if (stride == 1) {
                    t0 = LOADV(p), t1 = LOADV(p + 1), t2 = LOADV(p + 2);
                } else {
                    const floatv a = LOADV(p), b = LOADV(p + VEC);
                    t0 = EVENS_N(VEC, a, b);
                    t1 = ODDS_N(VEC, a, b);
                    t2 = SHIFT_DOWN_N(VEC, t0, p[2 * VEC]);
                }
                t0 = select(t0, (floatv)(0.0f), left);
                t2 = select(t2, (floatv)(0.0f), right);
                acc = MAC(t0, (floatv)w[3 * ky], acc);
                acc = MAC(t1, (floatv)w[3 * ky + 1], acc);
                acc = MAC(t2, (floatv)w[3 * ky + 2], acc);
            }
            store_part_l(acc, out + c * os + y * OW + x0, OW - x0);
        }
    }
}

// Both strides, one kernel: a second kernel made PoCL generate the shared code again at its
// first launch (0.4 s of the cold start). in: cin planes of H x W (map, floats per image, per
// plane); out: OH x OW (stride 1: H x W). Branch a (stride 2 only): depthwise of all cin
// channels, then a 1x1 conv to couta channels (out_map[0 .. couta)); branch b: 1x1 conv to mid,
// depthwise, 1x1 conv to coutb (out_map[couta ..)). Weights w and biases b hold the layers at
// the given offsets (pw: packed per tile; branch a's unused at stride 1). Local: l0 the band's
// input (cin regions rs0 apart), l1 branch b's first conv with its halo rows (mid, rs1), l2 its
// depthwise (mid, rs2), l3 branch a's depthwise (cin, rs3; unused at stride 1).
__kernel void unit(__global const float *restrict in, __global const int *restrict in_map,
                   int in_bs, int in_pitch, __global float *out,
                   __global const int *restrict out_map, int out_bs, int out_pitch, int H, int W,
                   int OH, int OW, int stride, int TH, int cin, int mid, int couta, int coutb,
                   __global const float *restrict w, __global const float *restrict b, int wda,
                   int bda, int wpa, int bpa, int w1, int b1, int wd, int bd, int w2, int b2,
                   __local float *l0, __local float *l1, __local float *l2, __local float *l3,
                   int rs0, int rs1, int rs2, int rs3) {
    const int lid = get_local_id(0), lsz = get_local_size(0);
    const int y0 = get_group_id(0) * TH, n = get_global_id(1);
    const int th = min(TH, OH - y0);
    // the input rows the band reads: s y0 - 1 .. s (y0 + th) - (s - 1), those inside the image
    // ys .. ye
    const int ys = max(stride * y0 - 1, 0), ye = min(stride * (y0 + th) - (stride - 1), H - 1);
    const int top = ys - (stride * y0 - 1), nv = (ye - ys + 1) * W, at = 1 + top * W;
    // at stride 2 branch a's depthwise reads l0, which then takes l1's layout
    const int a0 = stride == 2 ? at : 0;
    load_band(in + n * in_bs, in_map, in_pitch, ys * W, nv, cin, l0 + a0, rs0, lid, lsz);
    zero_range(l0, rs0, cin, 0, a0, lid, lsz);
    zero_range(l0, rs0, cin, a0 + nv, rs0, lid, lsz);
    zero_range(l1, rs1, mid, 0, at, lid, lsz);
    zero_range(l1, rs1, mid, at + nv, rs1, lid, lsz);
    barrier(CLK_LOCAL_MEM_FENCE);
    pw_local(l0 + a0, rs0, cin, nv, w + w1, b + b1, mid, l1 + at, rs1, lid, lsz);
    barrier(CLK_LOCAL_MEM_FENCE);
    // The branches of a stride-2 unit go through one copy of the depthwise and one of the 1x1
    // conv, each in a loop kept rolled: a second inlined copy of each was half of the stride-2
    // code's generation at first launch (branch a's depthwise is in this phase, not the first,
    // for it). The depthwise's stride stays a literal at each call, so its loop is the one a
    // kernel per stride had.
    const int br0 = stride == 2 ? 0 : 1;
    if (stride == 1) {
        dw_local(l1 + 1, rs1, W, OW, th, 1, w + wd, b + bd, mid, l2, rs2, lid, lsz);
    } else {
#pragma unroll 1
        for (int br = 0; br < 2; br++)
            dw_local((br ? l1 : l0) + 1, br ? rs1 : rs0, W, OW, th, 2, w + (br ? wd : wda),
                     b + (br ? bd : bda), br ? mid : cin, br ? l2 : l3, br ? rs2 : rs3, lid, lsz);
    }
#pragma unroll 1
    for (int br = br0; br < 2; br++)
        zero_range(br ? l2 : l3, br ? rs2 : rs3, br ? mid : cin, th * OW, br ? rs2 : rs3, lid, lsz);
    barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll 1
    for (int br = br0; br < 2; br++)
        pw_global(br ? l2 : l3, br ? rs2 : rs3, br ? mid : cin, th * OW, w + (br ? w2 : wpa),
                  b + (br ? b2 : bpa), br ? coutb : couta, out + n * out_bs,
                  out_map + (br ? couta : 0), out_pitch, y0 * OW, lid, lsz);
}
