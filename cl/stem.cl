// stem.cl: ShuffleNet's first layer, a 3x3 stride-2 pad-1 convolution from 3 input channels to
// COUT, with bias and ReLU, reading and writing through channel maps.
//
// A work-item owns one output row, a segment of `seg` outputs along it (the whole row on CPUs)
// and CO output channels: every input tap vector it loads feeds CO accumulators, which is where
// the reuse is in a layer with only 3 input channels. Along the row it works VW outputs at a
// time with stencil.cl (built ahead of this file, after common.cl), as depthwise.cl's stride-2
// kernel does: even/odd lanes of two loads, the padding tap of the chunks at the row's ends
// shifted in as a zero, one guarded column at a time only where no vector fits.

#ifndef VW
#define VW 16 // outputs per vector: 1, 2, 4, 8 or 16
#endif
#ifndef CO
#define CO 8 // output channels per work-item; the weights are padded to a multiple of it
#endif

#if !VALID_WIDTH(VW)
#error "VW must be 1, 2, 4, 8 or 16"
#endif
typedef VTYPE(VW) floatv;
#define VSTORE(v, p) DSTORE_N(VW, v, p)

// Outputs x .. x+VW-1 of row oy for CO channels. w: the CO x 3 x 3 x 3 weights of the group.
static inline void chunk(__global const float *src0, __global const float *src1,
                         __global const float *src2, __global data_t *const *dst,
                         __global const float *w, const float *b, int H, int W, int OW, int oy,
                         int x, const int edge) {
    floatv acc[CO];
#pragma unroll
    for (int k = 0; k < CO; k++) acc[k] = (floatv)(b[k]);
#pragma unroll
    for (int ci = 0; ci < 3; ci++) {
        __global const float *src = ci == 0 ? src0 : ci == 1 ? src1 : src2;
#pragma unroll
        for (int ky = 0; ky < 3; ky++) {
            const int iy = 2 * oy - 1 + ky;
            if (iy < 0 || iy >= H) continue; // a padding row adds nothing
            floatv t0, t1, t2;
            STENCIL_TAPS(VW)(src + iy * W, x, 2, edge, &t0, &t1, &t2);
            __global const float *wk = w + ci * 9 + ky * 3;
#pragma unroll
            for (int k = 0; k < CO; k++)
                acc[k] += wk[k * 27] * t0 + wk[k * 27 + 1] * t1 + wk[k * 27 + 2] * t2;
        }
    }
#pragma unroll
    for (int k = 0; k < CO; k++)
        if (dst[k]) VSTORE(fmax(acc[k], 0.0f), dst[k] + oy * OW + x);
}

// Output x of row oy for CO channels, taps outside the input reading zero. Only rows or
// segments narrower than a vector come here: its loops stay rolled, since unrolled this rare
// path was half of the kernel's code, and of PoCL's code generation at first launch.
static inline void column(__global const float *src0, __global const float *src1,
                          __global const float *src2, __global data_t *const *dst,
                          __global const float *w, const float *b, int H, int W, int OW, int oy,
                          int x) {
    float acc[CO];
#pragma unroll 1
    for (int k = 0; k < CO; k++) acc[k] = b[k];
    const int ix = 2 * x - 1; // column of tap 0; tap 1 (2x) is always inside
#pragma unroll 1
    for (int ci = 0; ci < 3; ci++) {
        __global const float *src = ci == 0 ? src0 : ci == 1 ? src1 : src2;
#pragma unroll 1
        for (int ky = 0; ky < 3; ky++) {
            const int iy = 2 * oy - 1 + ky;
            if (iy < 0 || iy >= H) continue;
            float t0, t1, t2;
            stencil_column_taps(src + iy * W, ix, W, &t0, &t1, &t2);
            __global const float *wk = w + ci * 9 + ky * 3;
#pragma unroll 1
            for (int k = 0; k < CO; k++)
                acc[k] += wk[k * 27] * t0 + wk[k * 27 + 1] * t1 + wk[k * 27 + 2] * t2;
        }
    }
#pragma unroll 1
    for (int k = 0; k < CO; k++)
        if (dst[k]) DSTORE(fmax(acc[k], 0.0f), dst[k] + oy * OW + x);
}

// Arguments: input (data, map of its 3 channels, floats per image, floats per plane, H, W),
// output (likewise, OH, OW), output channels, images x channel groups of CO, outputs per
// work-item along W, weights and bias padded to whole groups of CO channels.
__kernel void stem3x3s2(__global const float *in, __global const int *in_map, int in_bstride,
                        int in_pitch, int H, int W, __global data_t *out,
                        __global const int *out_map, int out_bstride, int out_pitch, int OH,
                        int OW, int COUT, int NG, int seg, __global const float *wts,
                        __global const float *bias) {
    const int xs = get_global_id(0) * seg, oy = get_global_id(1), ng = get_global_id(2);
    // Geometry is rounded up to whole work-groups: the spare work-items leave here.
    if (xs >= OW || oy >= OH || ng >= NG) return;
    const int groups = (COUT + CO - 1) / CO, n = ng / groups, co0 = (ng % groups) * CO;
    __global const float *img = in + n * in_bstride;
    __global const float *src0 = img + in_map[0] * in_pitch;
    __global const float *src1 = img + in_map[1] * in_pitch;
    __global const float *src2 = img + in_map[2] * in_pitch;
    // the padding channels of the last group compute (zero weights) but store nowhere
    __global data_t *dst[CO];
    float b[CO];
#pragma unroll
    for (int k = 0; k < CO; k++) {
        dst[k] = co0 + k < COUT ? out + n * out_bstride + out_map[co0 + k] * out_pitch : 0;
        b[k] = bias[co0 + k];
    }
    __global const float *w = wts + co0 * 27;
    // each kind of chunk its own call, so that its edge is a literal there
    const stencil_row row = stencil_row_init(xs, seg, W, OW, VW, 2);
    for (int x = xs; x < row.xe;) {
        int at;
        const int kind = stencil_next(&row, &x, &at, VW);
        if (kind == LEFT)
            chunk(src0, src1, src2, dst, w, b, H, W, OW, oy, at, LEFT);
        else if (kind == INSIDE)
            chunk(src0, src1, src2, dst, w, b, H, W, OW, oy, at, INSIDE);
        else if (kind == RIGHT)
            chunk(src0, src1, src2, dst, w, b, H, W, OW, oy, at, RIGHT);
        else
            column(src0, src1, src2, dst, w, b, H, W, OW, oy, at);
    }
}
