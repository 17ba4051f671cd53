// pointwise.cl: grouped 1x1 convolution (most of ShuffleNet's MACs), with bias, optional
// residual and ReLU fused, reading and writing every operand through channel maps.
//
// Each work-item computes a register tile of CO_TILE output channels x VEC pixels: per input
// channel it loads one VEC-wide row of pixels and does CO_TILE fused multiply-adds with it, so
// the pixel load is amortised over CO_TILE channels and the weight over VEC pixels.
// NDRange: dim 0 = pixel chunks of VEC (neighbouring work-items read neighbouring addresses),
// dim 1 = channel tiles (tiles never cross a group), dim 2 = batch.
// Planes are padded to a multiple of 16 floats, so the last chunk of a plane may load and store
// a whole vector over the padding: those lanes compute garbage nobody reads.
//
// Build options (all optional, so the file compiles alone after common.cl):
//   VEC       pixels per work-item, 1, 2, 4, 8 or 16
//   CO_TILE   output channels per work-item (the weights are packed per tile to match)
//   K_UNROLL  unroll factor of the input-channel loop
//   MAC       the multiply-add, fma or mad (default: fma where the device has fast FMA)
//   RELU      1: fuse max(x, 0); 0 (default): not
//   RESIDUAL  1: add the residual operand before the ReLU; 0 (default): not

#ifndef VEC
#define VEC 16
#endif
#ifndef CO_TILE
#define CO_TILE 8
#endif
// 2, not 4: at 4 clang vectorises the map lookups and extracts the row addresses lane by lane,
// which put a vector-to-integer move before every load and cost a third of the speed on PoCL.
#ifndef K_UNROLL
#define K_UNROLL 2
#endif

#ifndef RELU
#define RELU 0
#endif
#ifndef RESIDUAL
#define RESIDUAL 0
#endif

#if !VALID_WIDTH(VEC)
#error "VEC must be 1, 2, 4, 8 or 16"
#endif
typedef VTYPE(VEC) floatv;
#define LOADV(p) DLOAD_N(VEC, p)
#define STOREV(v, p) DSTORE_N(VEC, v, p)

// One fused multiply-add where the hardware has it: PoCL compiles mad() to a separate multiply
// and add, which halved the CPU's throughput. Devices without fast FMA keep mad().
#ifndef MAC
#if defined(FP_FAST_FMAF) || defined(__FMA__)
#define MAC(a, b, c) fma(a, b, c)
#else
#define MAC(a, b, c) mad(a, b, c)
#endif
#endif

// acc[c] += x * wk[c] over the tile's channels
#define MAC_ROW(acc, x, wk)                                                                        \
    do {                                                                                           \
        DROW(w_, CO_TILE, wk);                                                                     \
        _Pragma("unroll") for (int c_ = 0; c_ < CO_TILE; c_++)                                     \
            acc[c_] = MAC(x, (floatv)w_[c_], acc[c_]);                                             \
    } while (0)

// in/out/res: data, map (logical channel -> plane), floats per image, floats per plane.
// w: packed [tile][k][CO_TILE] with zeros past each group's last channel; bias: [tile][CO_TILE].
// K: input channels per group; coutg: output channels per group; tiles: tiles per group.
__kernel void pointwise(__global const data_t *restrict in, __global const int *restrict in_map,
                        int in_bstride, int in_pitch, __global data_t *out,
                        __global const int *restrict out_map, int out_bstride, int out_pitch,
                        __global const data_t *res, __global const int *restrict res_map,
                        int res_bstride, int res_pitch, __global const data_t *restrict w,
                        __global const float *restrict bias, int chunks, int K, int coutg,
                        int tiles) {
    const int px = get_global_id(0);
    // dim 0 may be rounded up to the work-group size
    if (px >= chunks) return;
    const int t = get_global_id(1), n = get_global_id(2);
    const int g = t / tiles, j = t - g * tiles;
    const int co0 = g * coutg + j * CO_TILE;
    const int valid = min(CO_TILE, coutg - j * CO_TILE);

    __global const data_t *src = in + n * in_bstride + px * VEC;
    __global const int *imap = in_map + g * K;
    __global const data_t *wt = w + t * K * CO_TILE;

    floatv acc[CO_TILE];
#pragma unroll
    for (int c = 0; c < CO_TILE; c++) acc[c] = (floatv)bias[t * CO_TILE + c];

    // Unrolled by hand: clang declines '#pragma unroll N' on this loop of unknown trip count.
    int k = 0;
    for (; k + K_UNROLL <= K; k += K_UNROLL) {
#pragma unroll
        for (int u = 0; u < K_UNROLL; u++) {
            const floatv x = LOADV(src + imap[k + u] * in_pitch);
            MAC_ROW(acc, x, wt + (k + u) * CO_TILE);
        }
    }
    for (; k < K; k++) { // the last K % K_UNROLL rows
        const floatv x = LOADV(src + imap[k] * in_pitch);
        MAC_ROW(acc, x, wt + k * CO_TILE);
    }

#pragma unroll
    for (int c = 0; c < CO_TILE; c++) {
        // the tail tile of a group holds fewer real channels; its zero-weight lanes are dropped
        if (c < valid) {
            floatv r = acc[c];
#if RESIDUAL
            r += LOADV(res + n * res_bstride + res_map[co0 + c] * res_pitch + px * VEC);
#endif
#if RELU
            r = fmax(r, (floatv)0.0f);
#endif
            STOREV(r, out + n * out_bstride + out_map[co0 + c] * out_pitch + px * VEC);
        }
    }
}
