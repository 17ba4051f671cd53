// unit.cl: a whole ShuffleNet unit in one launch, by one kernel, `unit`, for every kind: V2's
// stride-1 branch (1x1 conv + ReLU, depthwise 3x3, 1x1 conv + ReLU; BN folded into every conv),
// V2's stride-2 unit with its two branches (depthwise 3x3 s2, 1x1 conv + ReLU; and 1x1 conv +
// ReLU, depthwise 3x3 s2, 1x1 conv + ReLU) from the same input, and V1's (grouped 1x1 convs, the
// channel shuffle, the residual or the average-pool shortcut). All read and write through
// channel maps like every other kernel, so splits, concats and shuffles stay free.
//
// A work-group owns a band of `TH` whole output rows of one image, for every output channel.
// It stages the input rows its band needs (TH + 2 at stride 1, 2 TH + 1 at stride 2: the
// depthwise's one-row halo, recomputed by both neighbouring bands) in local memory, and keeps
// every intermediate there: nothing but the unit's input and output touches global memory.
// Where local memory is scarce (STAGE_X 0: GPUs), a stride-1 band stages nothing: its first conv
// and V1's residual read the input rows from global memory, and the band needs local memory only
// for the first conv's and the depthwise's outputs (docs/kernels.md).
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
// the weights packed per tile to match), STAGE_X (below), MAC (fma or mad, as in pointwise.cl).

#ifndef VEC
#define VEC 16
#endif
#ifndef CO_TILE
#define CO_TILE 8
#endif
// 1: a stride-1 band's input rows are staged in local memory too, for its first conv and V1's
// residual; 0: those read global memory, and a stride-1 band needs no local memory for its input
// (the host's choice: 1 where local memory is plentiful, as on CPUs, 0 where it is scarce).
#ifndef STAGE_X
#define STAGE_X 1
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
#define STORE_PART_FN(name, AS, T, ST_N)                                                           \
    INLINE void name(floatv v, AS T *p, int n) {                                                   \
        if (n >= VEC) {                                                                            \
            ST_N(VEC, v, p);                                                                       \
            return;                                                                                \
        }                                                                                          \
        float t[VEC];                                                                              \
        VSTORE_N(VEC, v, t);                                                                       \
        for (int i = 0; i < n; i++)                                                                \
            ST_N(1, t[i], p + i);                                                                  \
    }
STORE_PART_FN(store_part_l, __local, float, VSTORE_N)
STORE_PART_FN(store_part_g, __global, data_t, DSTORE_N)

// Floats [a, b) of each of C regions rs apart set to zero. One task per channel: a division per
// float (the flat index) cost more than the 1x1 convs of a small band.
INLINE void zero_range(__local float *p, int rs, int C, int a, int b, int lid, int lsz) {
    for (int c = lid; c < C; c += lsz)
        for (int i = a; i < b; i++)
            p[c * rs + i] = 0.0f;
}

// `count` floats from `start` of each of the C planes map[c] of src into the regions of dst.
INLINE void load_band(__global const data_t *src, __global const int *map, int pitch, int start,
                      int count, int C, __local float *dst, int rs, int lid, int lsz) {
    for (int c = lid; c < C; c += lsz) {
        __global const data_t *s = src + map[c] * pitch + start;
        __local float *d = dst + c * rs;
        int x = 0;
        for (; x + VEC <= count; x += VEC)
            STOREV(DLOAD_N(VEC, s + x), d + x);
        for (; x < count; x++)
            d[x] = DLOAD(s + x);
    }
}

// The register tile of a band's last task, where a pair of vectors would pass its end:
// acc[c] = bias + sum_k w[k][c] * in[k][px ..], input row k at ROW(k) (the task's first pixel of
// a local region or of a global plane), loaded by LD; the tile's packed weights wt ([k][CO_TILE]).
// Not unrolled over k: only one task a band takes it, and each unrolled copy is code PoCL
// generates again at the kernel's first launch (the cold start).
#define PW_ACC1(acc, ROW, LD, K, wt)                                                               \
    do {                                                                                           \
        for (int k_ = 0; k_ < (K); k_++) {                                                         \
            const floatv x_ = LD(ROW(k_));                                                         \
            DROW(w_, CO_TILE, (wt) + k_ * CO_TILE);                                                \
            _Pragma("unroll") for (int c_ = 0; c_ < CO_TILE; c_++) acc[c_] =                       \
                MAC(x_, (floatv)w_[c_], acc[c_]);                                                  \
        }                                                                                          \
    } while (0)

// Two register tiles side by side, pixels px and px + VEC: per input channel two vector loads
// feed 2 CO_TILE multiply-adds, so the broadcast weight loads no longer outnumber them (with
// one tile, 9 loads per 8 FMAs kept AVX-512's two load ports busier than its FMA units).
#define PW_ACC2(a0, a1, ROW, LD, K, wt)                                                            \
    do {                                                                                           \
        for (int k_ = 0; k_ < (K); k_++) {                                                         \
            const floatv x0_ = LD(ROW(k_)), x1_ = LD(ROW(k_) + VEC);                               \
            DROW(wr_, CO_TILE, (wt) + k_ * CO_TILE);                                               \
            _Pragma("unroll") for (int c_ = 0; c_ < CO_TILE; c_++) {                               \
                const floatv w_ = (floatv)wr_[c_];                                                 \
                a0[c_] = MAC(x0_, w_, a0[c_]);                                                     \
                a1[c_] = MAC(x1_, w_, a1[c_]);                                                     \
            }                                                                                      \
        }                                                                                          \
    } while (0)

// A task's tiles (a pair where `two`, else one) from K input rows: local regions `is` apart
// from lb, or global planes gmap[k] (pitch apart) of the image from s0 (the task's first
// pixel). The rows are the ROW argument of PW_ACC1/2, named by these macros.
#define LOCAL_ROW_(k) (lb_ + (k) * is_)
#define GLOBAL_ROW_(k) (gs0_ + gmap_[k] * gpitch_)
#define GLOBAL_LOAD_(p) DLOAD_N(VEC, p)
#define PW_ACC(a0, a1, two, ROW, LD, K, wt)                                                        \
    do {                                                                                           \
        if (two)                                                                                   \
            PW_ACC2(a0, a1, ROW, LD, K, wt);                                                       \
        else                                                                                       \
            PW_ACC1(a0, ROW, LD, K, wt);                                                           \
    } while (0)
#define PW_ACC_LOCAL(a0, a1, two, lb, is, K, wt)                                                   \
    do {                                                                                           \
        __local const float *lb_ = (lb);                                                           \
        const int is_ = (is);                                                                      \
        PW_ACC(a0, a1, two, LOCAL_ROW_, LOADV, K, wt);                                             \
    } while (0)
#define PW_ACC_GLOBAL(a0, a1, two, s0, gmap, pitch, K, wt)                                         \
    do {                                                                                           \
        __global const data_t *gs0_ = (s0);                                                        \
        __global const int *gmap_ = (gmap);                                                        \
        const int gpitch_ = (pitch);                                                               \
        PW_ACC(a0, a1, two, GLOBAL_ROW_, GLOBAL_LOAD_, K, wt);                                     \
    } while (0)

// The tasks of a 1x1 conv of G groups over P pixels: a pair of pixel vectors (one where the
// pair would pass P) times a channel tile of one group (tpg tiles a group, tiles in all). Sets
// px, j (the tile), gi (its group), two (1: a pair), and a0 and a1 to the tile's biases b.
#define PW_TASK(t, P, tiles, tpg, b)                                                               \
    const int pair_ = (t) / (tiles), j = (t) - pair_ * (tiles), px = pair_ * 2 * VEC;              \
    const int gi = j / (tpg), two = px + VEC < (P);                                                \
    floatv a0[CO_TILE], a1[CO_TILE];                                                               \
    _Pragma("unroll") for (int c_ = 0; c_ < CO_TILE; c_++) a0[c_] = a1[c_] =                       \
        (floatv)((b)[j * CO_TILE + c_])

// The unit's first 1x1 conv + ReLU over P pixels, G groups of K inputs and cg outputs each, to
// G cg local regions of out (os apart), group by group. Its input: with STAGE_X or `staged`
// (stride 2), the band's staged regions of lin (group g's input k at lin + (g K + k) is); else
// straight from global memory, group g's input k being plane map[g K + k] of src from pixel
// `start` (the band's first input row). There the band's last pair of vectors may read past the
// plane's last pixel, into the next plane or the buffer's slack (SCL__TENSOR_SLACK): lanes that
// are never stored.
INLINE void pw_first(__local const float *lin, int is, const int staged,
                     __global const data_t *src, __global const int *map, int pitch, int start,
                     int K, int P, int G, __global const data_t *w, __global const float *b, int cg,
                     __local float *out, int os, int lid, int lsz) {
    const int tpg = (cg + CO_TILE - 1) / CO_TILE, tiles = G * tpg;
    const int pairs = (P + 2 * VEC - 1) / (2 * VEC);
    for (int t = lid; t < pairs * tiles; t += lsz) {
        PW_TASK(t, P, tiles, tpg, b);
        __global const data_t *wt = w + j * K * CO_TILE;
        if (STAGE_X || staged)
            PW_ACC_LOCAL(a0, a1, two, lin + gi * K * is + px, is, K, wt);
        else
            PW_ACC_GLOBAL(a0, a1, two, src + start + px, map + gi * K, pitch, K, wt);
        const int o0 = (j - gi * tpg) * CO_TILE;
        __local float *ob = out + (gi * cg + o0) * os + px; /* channel c at ob + c os */
        if (px + 2 * VEC <= P) {
#pragma unroll
            for (int c = 0; c < CO_TILE; c++) {
                if (o0 + c >= cg) continue;
                STOREV(fmax(a0[c], 0.0f), ob + c * os);
                STOREV(fmax(a1[c], 0.0f), ob + c * os + VEC);
            }
        } else {
            // the band's last pair: one rolled copy of the guarded partial stores (inlined per
            // vector they were most of the kernel's code, generated again at its first launch;
            // the tiles copied so that a0 and a1 stay in registers above)
            floatv t0[CO_TILE], t1[CO_TILE];
#pragma unroll
            for (int c = 0; c < CO_TILE; c++)
                t0[c] = a0[c], t1[c] = a1[c];
#pragma unroll 1
            for (int c = 0; c < CO_TILE && o0 + c < cg; c++) {
                store_part_l(fmax(t0[c], 0.0f), ob + c * os, P - px);
                if (two) store_part_l(fmax(t1[c], 0.0f), ob + c * os + VEC, P - px - VEC);
            }
        }
    }
}

// V1's residual for output channel oc at pixels px .. px + VEC - 1 of the band: with STAGE_X
// region oc of the staged lres (rs apart; its zero tail covers a vector past the band's last
// pixel), else plane res_map[oc] of res from `start` (a vector past the plane's end reads the
// next plane or the buffer's slack, as pw_first's).
INLINE floatv residual_at(__local const float *lres, int rs, __global const data_t *res,
                          __global const int *res_map, int res_pitch, int start, int oc, int px) {
    if (STAGE_X) return LOADV(lres + oc * rs + px);
    return DLOAD_N(VEC, res + res_map[oc] * res_pitch + start + px);
}

// The unit's last 1x1 conv + ReLU of local regions to global planes map[c] (from `start`) of
// out. A group's K input regions lie `is` apart, the groups `gs` apart: contiguous groups have
// gs = K is, and V1's channel shuffle before a grouped conv is is = G rs, gs = rs (group g's
// input k is region k G + g). With `residual` (stride 1), output channel c's input at the same
// pixels is added before the ReLU (V1's relu(x + branch); residual_at).
INLINE void pw_global(__local const float *in, int is, int gs, int K, int P, int G,
                      __global const data_t *w, __global const float *b, int cg,
                      __global data_t *out, __global const int *map, int pitch, int start,
                      const int residual, __local const float *lres, int rs,
                      __global const data_t *res, __global const int *res_map, int res_pitch,
                      int lid, int lsz) {
    const int tpg = (cg + CO_TILE - 1) / CO_TILE, tiles = G * tpg;
    const int pairs = (P + 2 * VEC - 1) / (2 * VEC);
    for (int t = lid; t < pairs * tiles; t += lsz) {
        PW_TASK(t, P, tiles, tpg, b);
        __global const data_t *wt = w + j * K * CO_TILE;
        PW_ACC_LOCAL(a0, a1, two, in + gi * gs + px, is, K, wt);
        const int o0 = (j - gi * tpg) * CO_TILE, oc0 = gi * cg + o0;
        if (px + 2 * VEC <= P) {
#pragma unroll
            for (int c = 0; c < CO_TILE; c++) {
                if (o0 + c >= cg) continue;
                floatv v0 = a0[c], v1 = a1[c];
                if (residual) {
                    v0 += residual_at(lres, rs, res, res_map, res_pitch, start, oc0 + c, px);
                    v1 += residual_at(lres, rs, res, res_map, res_pitch, start, oc0 + c, px + VEC);
                }
                __global data_t *o = out + map[oc0 + c] * pitch + start + px;
                DSTORE_N(VEC, fmax(v0, 0.0f), o);
                DSTORE_N(VEC, fmax(v1, 0.0f), o + VEC);
            }
        } else { // the band's last pair, as in pw_first
            floatv t0[CO_TILE], t1[CO_TILE];
#pragma unroll
            for (int c = 0; c < CO_TILE; c++)
                t0[c] = a0[c], t1[c] = a1[c];
#pragma unroll 1
            for (int c = 0; c < CO_TILE && o0 + c < cg; c++) {
                floatv v0 = t0[c], v1 = t1[c];
                if (residual) {
                    v0 += residual_at(lres, rs, res, res_map, res_pitch, start, oc0 + c, px);
                    if (two)
                        v1 += residual_at(lres, rs, res, res_map, res_pitch, start, oc0 + c,
                                          px + VEC);
                }
                __global data_t *o = out + map[oc0 + c] * pitch + start + px;
                store_part_g(fmax(v0, 0.0f), o, P - px);
                if (two) store_part_g(fmax(v1, 0.0f), o + VEC, P - px - VEC);
            }
        }
    }
}

// Depthwise 3x3 (bias, no ReLU) of C regions of in to `rows` output rows of OW in out: in's
// row 0 (at in + 0, its padding float before it) is the input row of tap 0 of output row 0.
// At stride 1 the taps of VEC outputs are three overlapping loads; at stride 2 the even and odd
// lanes of two loads and one more float. Lanes whose tap is the left or right padding are
// selected to zero; lanes past the row are computed but never stored.
INLINE void dw_local(__local const float *in, int is, int W, int OW, int rows, const int stride,
                     __global const data_t *wd, __global const float *bd, int C, __local float *out,
                     int os, int lid, int lsz) {
    // one task per output row: the divisions of a flat index stay out of the chunk loop
    for (int t = lid; t < C * rows; t += lsz) {
        const int c = t / rows, y = t - c * rows;
        DROW(w, 9, wd + c * 9);
        for (int x0 = 0; x0 < OW; x0 += VEC) {
            const intv x = (intv)(x0) + IOTA;
            const intv left = x == (intv)(0);
            const intv right = stride == 1 ? x == (intv)(W - 1) : 2 * x + 1 >= (intv)(W);
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

// A work-group's band: output rows y0 .. y0 + th - 1 of image n, and the input rows it stages
// with the depthwise's one-row halo: rows ys .. of the image, nv floats, `top` halo rows (0 or
// 1) above the image's first row. Stride 2 reads input rows 2 y0 - 1 .. 2 (y0 + th) - 1.
typedef struct unit_band {
    int y0, n, th, ys, top, nv;
} unit_band;

INLINE unit_band band_of(int H, int OH, int W, int TH, const int stride) {
    unit_band b;
    b.y0 = get_group_id(0) * TH, b.n = get_global_id(1);
    b.th = min(TH, OH - b.y0);
    const int first = stride * b.y0 - 1;
    const int last = min(stride * (b.y0 + b.th) - (stride - 1), H - 1);
    b.ys = max(first, 0), b.top = b.ys - first;
    b.nv = (last - b.ys + 1) * W;
    return b;
}

// V1's shortcut at stride 2: the 3x3 s2 average pool (count_include_pad: the inside taps' sum
// times 1/9, as pool.cl) of C regions of in, laid out as dw_local's input, to `rows` output
// rows of OW in global planes map[c] (from `start`) of out. The padding taps are the zero rows
// around the band and lanes selected to zero, as in dw_local.
INLINE void avg_global(__local const float *in, int is, int W, int OW, int rows, int C,
                       __global data_t *out, __global const int *map, int pitch, int start, int lid,
                       int lsz) {
    for (int t = lid; t < C * rows; t += lsz) {
        const int c = t / rows, y = t - c * rows;
        __global data_t *o = out + map[c] * pitch + start + y * OW;
        for (int x0 = 0; x0 < OW; x0 += VEC) {
            const intv x = (intv)(x0) + IOTA;
            const intv left = x == (intv)(0), right = 2 * x + 1 >= (intv)(W);
            floatv acc = (floatv)(0.0f);
#pragma unroll
            for (int ky = 0; ky < 3; ky++) {
                __local const float *p = in + c * is + (2 * y + ky) * W + 2 * x0 - 1;
                const floatv a = LOADV(p), b = LOADV(p + VEC);
                const floatv t0 = EVENS_N(VEC, a, b);
                const floatv t2 = SHIFT_DOWN_N(VEC, t0, p[2 * VEC]);
                acc += select(t0, (floatv)(0.0f), left) + ODDS_N(VEC, a, b) +
                       select(t2, (floatv)(0.0f), right);
            }
            store_part_g(acc * (1.0f / 9.0f), o + x0, OW - x0);
        }
    }
}

// The unit. Every kind is the same four phases, so one kernel serves them all (each kernel is
// code PoCL generates at its first launch: one, not four, is most of the cold start saved):
//  1. stage the band's input rows in l0 (cin regions rs0 apart; at stride 2 from 1 + top W, after
//     the padding float and a zero halo row, as the depthwise of branch a or V1's pool reads
//     them; at stride 1 only with STAGE_X), zeros around where phase 2 writes l1;
//  2. the first 1x1 conv + ReLU of the band's input rows (from l0, or at stride 1 without STAGE_X
//     from global memory) into l1 (mid regions, their rows from 1 + top W: the padding float,
//     then the halo row outside the image if any); V1 at stride 2 also writes its average-pool
//     shortcut, from l0, straight into its concat slot out_map[0 .. cin);
//  3. the depthwise of l1 into l2 (mid, rs2), and for V2 at stride 2 branch a's depthwise of l0
//     into l3 (cin, rs3);
//  4. the last 1x1 conv + ReLU of l2 into out_map[couta ..): V1's of g groups reading the
//     channel shuffle, adding the residual at stride 1 (the band's own input rows, staged or
//     global; the out planes must be disjoint from the in planes, as neighbouring bands read
//     the rows a band would overwrite); and for V2 at stride 2 branch a's 1x1 conv of l3 into
//     out_map[0 .. couta).
// in: cin planes of H x W (map, floats per image, per plane); out: the unit's planes, OH x OW.
// v1: 0 for V2 (g1 = g = 1), 1 for V1 (the first conv of g1 groups, the last of g; couta = cin
// at stride 2, the pool's channels, 0 at stride 1). Weights w and biases b hold the layers at the
// given offsets (1x1 convs packed per tile; wda .. bpa: V2 stride 2's branch a, else unused).
__kernel void unit(__global const data_t *restrict in, __global const int *restrict in_map,
                   int in_bs, int in_pitch, __global data_t *out,
                   __global const int *restrict out_map, int out_bs, int out_pitch, int H, int W,
                   int OH, int OW, int TH, int stride, int v1, int cin, int mid, int couta,
                   int coutb, int g1, int g, __global const data_t *restrict w,
                   __global const float *restrict b, int wda, int bda, int wpa, int bpa, int w1,
                   int b1, int wd, int bd, int w2, int b2, __local float *l0, __local float *l1,
                   __local float *l2, __local float *l3, int rs0, int rs1, int rs2, int rs3) {
    const int lid = get_local_id(0), lsz = get_local_size(0);
    const unit_band u = band_of(H, OH, W, TH, stride);
    const int y0 = u.y0, th = u.th, nv = u.nv, at = 1 + u.top * W;
    // V2 at stride 2: two branches, taken in the rolled loops of phases 3 and 4 (first = 0)
    const int first = stride == 2 && !v1 ? 0 : 1;
    __global data_t *o = out + u.n * out_bs;

    __global const data_t *x = in + u.n * in_bs;
    // the rows the first conv reads (STAGE_X), and branch a's depthwise or V1's pool (stride 2)
    // with their halo: at stride 1 from l0 + 0, at stride 2 after a padding float and halo row
    const int a0 = stride == 1 ? 0 : at;
    if (STAGE_X || stride == 2) {
        load_band(x, in_map, in_pitch, u.ys * W, nv, cin, l0 + a0, rs0, lid, lsz);
        zero_range(l0, rs0, cin, 0, a0, lid, lsz);
        zero_range(l0, rs0, cin, a0 + nv, rs0, lid, lsz);
    }
    zero_range(l1, rs1, mid, 0, at, lid, lsz);
    zero_range(l1, rs1, mid, at + nv, rs1, lid, lsz);
    barrier(CLK_LOCAL_MEM_FENCE);

    const int k1 = cin / g1;
    pw_first(l0 + a0, rs0, stride == 2, x, in_map, in_pitch, u.ys * W, k1, nv, g1, w + w1, b + b1,
             mid / g1, l1 + at, rs1, lid, lsz);
    if (v1 && stride == 2)
        avg_global(l0 + 1, rs0, W, OW, th, cin, o, out_map, out_pitch, y0 * OW, lid, lsz);
    barrier(CLK_LOCAL_MEM_FENCE);

    // one copy of the depthwise and of the last 1x1 conv for both branches, the loops kept
    // rolled: an inlined copy per branch was half the code generated at the first launch
#pragma unroll 1
    for (int br = first; br < 2; br++) {
        dw_local((br ? l1 : l0) + 1, br ? rs1 : rs0, W, OW, th, stride, w + (br ? wd : wda),
                 b + (br ? bd : bda), br ? mid : cin, br ? l2 : l3, br ? rs2 : rs3, lid, lsz);
        zero_range(br ? l2 : l3, br ? rs2 : rs3, br ? mid : cin, th * OW, br ? rs2 : rs3, lid,
                   lsz);
    }
    barrier(CLK_LOCAL_MEM_FENCE);

#pragma unroll 1
    for (int br = first; br < 2; br++) {
        const int G = br ? g : 1, K = br ? mid / g : cin;
        pw_global(br ? l2 : l3, br ? g * rs2 : rs3, br ? rs2 : rs3, K, th * OW, G,
                  w + (br ? w2 : wpa), b + (br ? b2 : bpa), br ? coutb / g : couta, o,
                  out_map + (br ? couta : 0), out_pitch, y0 * OW, br && v1 && stride == 1,
                  l0 + (y0 - u.ys) * W, rs0, x, in_map, in_pitch, lid, lsz);
    }
}
