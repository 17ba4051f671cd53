// unit.cl: a whole ShuffleNet unit in one launch. V2: unit_s1 computes the stride-1 branch (1x1
// conv + ReLU, depthwise 3x3, 1x1 conv + ReLU; BN folded into every conv), unit_s2 the stride-2
// unit's two branches (depthwise 3x3 s2, 1x1 conv + ReLU; and 1x1 conv + ReLU, depthwise 3x3
// s2, 1x1 conv + ReLU) from the same input. V1: unit_v1_s1 and unit_v1_s2 (grouped 1x1 convs,
// the channel shuffle, the residual or the average-pool shortcut; see there). All read and
// write through channel maps like every other kernel, so splits, concats and shuffles stay free.
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
// acc[c] = bias + sum_k w[k][c] * in[k][px ..], the K input regions is apart, the tile's packed
// weights wt ([k][CO_TILE]). Not unrolled over k: only one task a band takes it, and each
// unrolled copy is code PoCL generates again at the kernel's first launch (the cold start).
#define PW_ACC1(acc, in, is, K, wt)                                                                \
    do {                                                                                           \
        for (int k_ = 0; k_ < (K); k_++) {                                                         \
            const floatv x_ = LOADV((in) + k_ * (is));                                             \
            DROW(w_, CO_TILE, (wt) + k_ * CO_TILE);                                                \
            _Pragma("unroll") for (int c_ = 0; c_ < CO_TILE; c_++) acc[c_] =                       \
                MAC(x_, (floatv)w_[c_], acc[c_]);                                                  \
        }                                                                                          \
    } while (0)

// Two register tiles side by side, pixels px and px + VEC: per input channel two vector loads
// feed 2 CO_TILE multiply-adds, so the broadcast weight loads no longer outnumber them (with
// one tile, 9 loads per 8 FMAs kept AVX-512's two load ports busier than its FMA units).
#define PW_ACC2(a0, a1, in, is, K, wt)                                                             \
    do {                                                                                           \
        for (int k_ = 0; k_ < (K); k_++) {                                                         \
            const floatv x0_ = LOADV((in) + k_ * (is)), x1_ = LOADV((in) + k_ * (is) + VEC);      \
            DROW(wr_, CO_TILE, (wt) + k_ * CO_TILE);                                               \
            _Pragma("unroll") for (int c_ = 0; c_ < CO_TILE; c_++) {                               \
                const floatv w_ = (floatv)wr_[c_];                                                 \
                a0[c_] = MAC(x0_, w_, a0[c_]);                                                     \
                a1[c_] = MAC(x1_, w_, a1[c_]);                                                     \
            }                                                                                      \
        }                                                                                          \
    } while (0)

// The tasks of a 1x1 conv of G groups over P pixels: a pair of pixel vectors (one where the
// pair would pass P) times a channel tile of one group (tpg tiles a group, tiles in all). A
// group's K input regions lie `is` apart, the groups `gs` apart: contiguous groups have gs =
// K is, and V1's channel shuffle before a grouped conv is is = G rs, gs = rs (group g's input k
// is region k G + g). Sets px, j (the tile), gi (its group), two (1: a pair), a0 and a1 (bias +
// the sums) for task t.
#define PW_TASK(t, P, tiles, tpg, K, in, is, gs, w, b)                                             \
    const int pair_ = (t) / (tiles), j = (t) - pair_ * (tiles), px = pair_ * 2 * VEC;              \
    const int gi = j / (tpg), two = px + VEC < (P);                                                \
    floatv a0[CO_TILE], a1[CO_TILE];                                                               \
    _Pragma("unroll") for (int c_ = 0; c_ < CO_TILE; c_++) a0[c_] = a1[c_] =                       \
        (floatv)((b)[j * CO_TILE + c_]);                                                           \
    if (two)                                                                                       \
        PW_ACC2(a0, a1, (in) + gi * (gs) + px, is, K, (w) + j * (K) * CO_TILE);                    \
    else                                                                                           \
        PW_ACC1(a0, (in) + gi * (gs) + px, is, K, (w) + j * (K) * CO_TILE)

// 1x1 conv + ReLU over P pixels, G groups of K inputs and cg outputs each: input regions of in
// (is, gs as in PW_TASK) to G cg regions of out (os apart), group by group.
INLINE void pw_local(__local const float *in, int is, int gs, int K, int P, int G,
                     __global const data_t *w, __global const float *b, int cg, __local float *out,
                     int os, int lid, int lsz) {
    const int tpg = (cg + CO_TILE - 1) / CO_TILE, tiles = G * tpg;
    const int pairs = (P + 2 * VEC - 1) / (2 * VEC);
    for (int t = lid; t < pairs * tiles; t += lsz) {
        PW_TASK(t, P, tiles, tpg, K, in, is, gs, w, b);
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

// The same into global planes map[c] (from `start`) of out; with `residual`, the output
// channel's region of res (rs apart, at the same pixels) is added before the ReLU (V1's
// relu(x + branch), x being the band's staged input).
INLINE void pw_global(__local const float *in, int is, int gs, int K, int P, int G,
                      __global const data_t *w, __global const float *b, int cg,
                      __global data_t *out, __global const int *map, int pitch, int start,
                      const int residual, __local const float *res, int rs, int lid, int lsz) {
    const int tpg = (cg + CO_TILE - 1) / CO_TILE, tiles = G * tpg;
    const int pairs = (P + 2 * VEC - 1) / (2 * VEC);
    for (int t = lid; t < pairs * tiles; t += lsz) {
        PW_TASK(t, P, tiles, tpg, K, in, is, gs, w, b);
        const int o0 = (j - gi * tpg) * CO_TILE, oc0 = gi * cg + o0;
        if (px + 2 * VEC <= P) {
#pragma unroll
            for (int c = 0; c < CO_TILE; c++) {
                if (o0 + c >= cg) continue;
                floatv v0 = a0[c], v1 = a1[c];
                if (residual) {
                    v0 += LOADV(res + (oc0 + c) * rs + px);
                    v1 += LOADV(res + (oc0 + c) * rs + px + VEC);
                }
                __global data_t *o = out + map[oc0 + c] * pitch + start + px;
                DSTORE_N(VEC, fmax(v0, 0.0f), o);
                DSTORE_N(VEC, fmax(v1, 0.0f), o + VEC);
            }
        } else { // the band's last pair, as in pw_local
            floatv t0[CO_TILE], t1[CO_TILE];
#pragma unroll
            for (int c = 0; c < CO_TILE; c++)
                t0[c] = a0[c], t1[c] = a1[c];
#pragma unroll 1
            for (int c = 0; c < CO_TILE && o0 + c < cg; c++) {
                floatv v0 = t0[c], v1 = t1[c];
                if (residual) {
                    // the region's zero tail covers the vector past the band's last pixel
                    v0 += LOADV(res + (oc0 + c) * rs + px);
                    if (two) v1 += LOADV(res + (oc0 + c) * rs + px + VEC);
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

// Stride 1, every kernel's first phase: the band's input rows into l0 (cin regions rs0 apart,
// from 0, zeros after), and zeros around where the first conv writes its rows in l1 (mid
// regions from 1 + top W: the padding float, then the halo row outside the image if any).
INLINE unit_band stage_s1(__global const data_t *in, __global const int *in_map, int in_bs,
                          int in_pitch, int H, int W, int TH, int cin, int mid, __local float *l0,
                          int rs0, __local float *l1, int rs1, int lid, int lsz) {
    const unit_band b = band_of(H, H, W, TH, 1);
    load_band(in + b.n * in_bs, in_map, in_pitch, b.ys * W, b.nv, cin, l0, rs0, lid, lsz);
    zero_range(l0, rs0, cin, b.nv, rs0, lid, lsz);
    zero_range(l1, rs1, mid, 0, 1 + b.top * W, lid, lsz);
    zero_range(l1, rs1, mid, 1 + b.top * W + b.nv, rs1, lid, lsz);
    barrier(CLK_LOCAL_MEM_FENCE);
    return b;
}

// Stride 2: the input rows into l0 from 1 + top W (the padding float and a zero halo row before
// them), l0 and l1 zero around them.
INLINE unit_band stage_s2(__global const data_t *in, __global const int *in_map, int in_bs,
                          int in_pitch, int H, int W, int OH, int TH, int cin, int mid,
                          __local float *l0, int rs0, __local float *l1, int rs1, int lid,
                          int lsz) {
    const unit_band b = band_of(H, OH, W, TH, 2);
    const int at = 1 + b.top * W;
    load_band(in + b.n * in_bs, in_map, in_pitch, b.ys * W, b.nv, cin, l0 + at, rs0, lid, lsz);
    zero_range(l0, rs0, cin, 0, at, lid, lsz);
    zero_range(l0, rs0, cin, at + b.nv, rs0, lid, lsz);
    zero_range(l1, rs1, mid, 0, at, lid, lsz);
    zero_range(l1, rs1, mid, at + b.nv, rs1, lid, lsz);
    barrier(CLK_LOCAL_MEM_FENCE);
    return b;
}

// Stride 1. in: cin planes of H x W (map, floats per image, per plane); out: cout planes.
// Weights w and biases b hold the three layers at the given offsets (pw: packed per tile).
// Local: l0 the band's input (cin regions rs0 apart), l1 the first conv's output with its halo
// rows (mid, rs1), l2 the depthwise's output (mid, rs2).
__kernel void unit_s1(__global const data_t *restrict in, __global const int *restrict in_map,
                      int in_bs, int in_pitch, __global data_t *out,
                      __global const int *restrict out_map, int out_bs, int out_pitch, int H, int W,
                      int TH, int cin, int mid, int cout, __global const data_t *restrict w,
                      __global const float *restrict b, int w1, int b1, int wd, int bd, int w2,
                      int b2, __local float *l0, __local float *l1, __local float *l2, int rs0,
                      int rs1, int rs2) {
    const int lid = get_local_id(0), lsz = get_local_size(0);
    const unit_band u =
        stage_s1(in, in_map, in_bs, in_pitch, H, W, TH, cin, mid, l0, rs0, l1, rs1, lid, lsz);
    pw_local(l0, rs0, 0, cin, u.nv, 1, w + w1, b + b1, mid, l1 + 1 + u.top * W, rs1, lid, lsz);
    barrier(CLK_LOCAL_MEM_FENCE);
    dw_local(l1 + 1, rs1, W, W, u.th, 1, w + wd, b + bd, mid, l2, rs2, lid, lsz);
    zero_range(l2, rs2, mid, u.th * W, rs2, lid, lsz);
    barrier(CLK_LOCAL_MEM_FENCE);
    pw_global(l2, rs2, 0, mid, u.th * W, 1, w + w2, b + b2, cout, out + u.n * out_bs, out_map,
              out_pitch, u.y0 * W, 0, l0, 0, lid, lsz);
}

// Stride 2: H x W in, OH x OW out. Branch a: depthwise of all cin channels, then a 1x1 conv to
// couta channels (out_map[0 .. couta)); branch b: 1x1 conv to mid, depthwise, 1x1 conv to coutb
// (out_map[couta ..)). Local: l0 the input rows (cin, rs0), l1 branch b's first conv (mid, rs1),
// l2 its depthwise (mid, rs2), l3 branch a's depthwise (cin, rs3).
__kernel void unit_s2(__global const data_t *restrict in, __global const int *restrict in_map,
                      int in_bs, int in_pitch, __global data_t *out,
                      __global const int *restrict out_map, int out_bs, int out_pitch, int H, int W,
                      int OH, int OW, int TH, int cin, int mid, int couta, int coutb,
                      __global const data_t *restrict w, __global const float *restrict b, int wda,
                      int bda, int wpa, int bpa, int w1, int b1, int wd, int bd, int w2, int b2,
                      __local float *l0, __local float *l1, __local float *l2, __local float *l3,
                      int rs0, int rs1, int rs2, int rs3) {
    const int lid = get_local_id(0), lsz = get_local_size(0);
    const unit_band u = stage_s2(in, in_map, in_bs, in_pitch, H, W, OH, TH, cin, mid, l0, rs0, l1,
                                 rs1, lid, lsz);
    const int y0 = u.y0, n = u.n, th = u.th, nv = u.nv, at = 1 + u.top * W;
    pw_local(l0 + at, rs0, 0, cin, nv, 1, w + w1, b + b1, mid, l1 + at, rs1, lid, lsz);
    barrier(CLK_LOCAL_MEM_FENCE);
    // The two branches through one copy of the depthwise and one of the last 1x1 conv, in loops
    // kept rolled: a second inlined copy of each was half the code PoCL generated at the
    // kernel's first launch (the cold start). Branch a's depthwise waits for this phase for it.
#pragma unroll 1
    for (int br = 0; br < 2; br++) {
        dw_local((br ? l1 : l0) + 1, br ? rs1 : rs0, W, OW, th, 2, w + (br ? wd : wda),
                 b + (br ? bd : bda), br ? mid : cin, br ? l2 : l3, br ? rs2 : rs3, lid, lsz);
        zero_range(br ? l2 : l3, br ? rs2 : rs3, br ? mid : cin, th * OW, br ? rs2 : rs3, lid,
                   lsz);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    __global data_t *o = out + n * out_bs;
#pragma unroll 1
    for (int br = 0; br < 2; br++)
        pw_global(br ? l2 : l3, br ? rs2 : rs3, 0, br ? mid : cin, th * OW, 1, w + (br ? w2 : wpa),
                  b + (br ? b2 : bpa), br ? coutb : couta, o, out_map + (br ? couta : 0),
                  out_pitch, y0 * OW, 0, l0, 0, lid, lsz);
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

// ShuffleNet V1, stride 1 (cin = cout): out = relu(x + conv2(shuffle(dw(relu(conv1(x)))))),
// conv1 of g1 groups (cin -> mid), conv2 of g groups (mid -> cout), BN folded into each. The
// shuffle is only where conv2's groups read the depthwise's regions (PW_TASK), and the residual
// x is the band's own staged input. Arguments and local buffers as unit_s1's, the out planes
// disjoint from the in planes (neighbouring bands read the rows a band would overwrite).
__kernel void unit_v1_s1(__global const data_t *restrict in, __global const int *restrict in_map,
                         int in_bs, int in_pitch, __global data_t *out,
                         __global const int *restrict out_map, int out_bs, int out_pitch, int H,
                         int W, int TH, int cin, int mid, int cout, int g1, int g,
                         __global const data_t *restrict w, __global const float *restrict b,
                         int w1, int b1, int wd, int bd, int w2, int b2, __local float *l0,
                         __local float *l1, __local float *l2, int rs0, int rs1, int rs2) {
    const int lid = get_local_id(0), lsz = get_local_size(0);
    const unit_band u =
        stage_s1(in, in_map, in_bs, in_pitch, H, W, TH, cin, mid, l0, rs0, l1, rs1, lid, lsz);
    const int y0 = u.y0, n = u.n, th = u.th, ys = u.ys, top = u.top, nv = u.nv;
    const int k1 = cin / g1;
    pw_local(l0, rs0, k1 * rs0, k1, nv, g1, w + w1, b + b1, mid / g1, l1 + 1 + top * W, rs1, lid,
             lsz);
    barrier(CLK_LOCAL_MEM_FENCE);
    dw_local(l1 + 1, rs1, W, W, th, 1, w + wd, b + bd, mid, l2, rs2, lid, lsz);
    zero_range(l2, rs2, mid, th * W, rs2, lid, lsz);
    barrier(CLK_LOCAL_MEM_FENCE);
    pw_global(l2, g * rs2, rs2, mid / g, th * W, g, w + w2, b + b2, cout / g, out + n * out_bs,
              out_map, out_pitch, y0 * W, 1, l0 + (y0 - ys) * W, rs0, lid, lsz);
}

// ShuffleNet V1, stride 2: out = concat(avgpool(x), relu(conv2(shuffle(dw_s2(relu(conv1(x))))))),
// the pool into out_map[0 .. cin), the branch's coutb channels after it. Arguments as unit_s2's;
// local: l0 the input rows (cin, rs0), l1 conv1's output (mid, rs1), l2 the depthwise's (mid,
// rs2). The pool reads l0 while conv1 writes l1: one phase.
__kernel void unit_v1_s2(__global const data_t *restrict in, __global const int *restrict in_map,
                         int in_bs, int in_pitch, __global data_t *out,
                         __global const int *restrict out_map, int out_bs, int out_pitch, int H,
                         int W, int OH, int OW, int TH, int cin, int mid, int coutb, int g1, int g,
                         __global const data_t *restrict w, __global const float *restrict b,
                         int w1, int b1, int wd, int bd, int w2, int b2, __local float *l0,
                         __local float *l1, __local float *l2, int rs0, int rs1, int rs2) {
    const int lid = get_local_id(0), lsz = get_local_size(0);
    const unit_band u = stage_s2(in, in_map, in_bs, in_pitch, H, W, OH, TH, cin, mid, l0, rs0, l1,
                                 rs1, lid, lsz);
    const int y0 = u.y0, n = u.n, th = u.th, nv = u.nv, at = 1 + u.top * W;
    __global data_t *o = out + n * out_bs;
    const int k1 = cin / g1;
    pw_local(l0 + at, rs0, k1 * rs0, k1, nv, g1, w + w1, b + b1, mid / g1, l1 + at, rs1, lid, lsz);
    avg_global(l0 + 1, rs0, W, OW, th, cin, o, out_map, out_pitch, y0 * OW, lid, lsz);
    barrier(CLK_LOCAL_MEM_FENCE);
    dw_local(l1 + 1, rs1, W, OW, th, 2, w + wd, b + bd, mid, l2, rs2, lid, lsz);
    zero_range(l2, rs2, mid, th * OW, rs2, lid, lsz);
    barrier(CLK_LOCAL_MEM_FENCE);
    pw_global(l2, g * rs2, rs2, mid / g, th * OW, g, w + w2, b + b2, coutb / g, o, out_map + cin,
              out_pitch, y0 * OW, 0, l0, 0, lid, lsz);
}
