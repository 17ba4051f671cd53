// stem.cl: ShuffleNet's first layer, a 3x3 stride-2 pad-1 convolution from 3 input channels to
// COUT, with bias and ReLU, reading and writing through channel maps.
//
// A work-item owns one output row, a segment of `seg` outputs along it (the whole row on CPUs)
// and CO output channels: every input tap vector it loads feeds CO accumulators, which is where
// the reuse is in a layer with only 3 input channels. Along the row it works VW outputs at a
// time exactly as depthwise.cl's stride-2 kernel does: even/odd lanes of two loads, the padding
// tap of the chunks at the row's ends shifted in as a zero, one guarded column at a time only
// where no vector fits.

#ifndef VW
#define VW 16 // outputs per vector: 1, 2, 4, 8 or 16
#endif
#ifndef CO
#define CO 8 // output channels per work-item; the weights are padded to a multiple of it
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#if VW == 1
typedef float floatv;
#define VSTORE(v, p) (*(p) = (v))
#else
typedef CAT(float, VW) floatv;
#define VLOAD(p) CAT(vload, VW)(0, (p))
#define VSTORE(v, p) CAT(vstore, VW)((v), 0, (p))
#endif

// v moved one lane up (SHR) or down (SHL), a zero filling the lane left free.
#if VW == 2
#define SHR(v) ((floatv)(0.0f, (v).s0))
#define SHL(v) ((floatv)((v).s1, 0.0f))
#elif VW == 4
#define SHR(v) ((floatv)(0.0f, (v).s012))
#define SHL(v) ((floatv)((v).s123, 0.0f))
#elif VW == 8
#define SHR(v) ((floatv)(0.0f, (v).s0123, (v).s456))
#define SHL(v) ((floatv)((v).s1234, (v).s567, 0.0f))
#elif VW == 16
#define SHR(v) ((floatv)(0.0f, (v).s0123, (v).s4567, (v).s89ab, (v).scde))
#define SHL(v) ((floatv)((v).s1234, (v).s5678, (v).s9abc, (v).sdef, 0.0f))
#endif

#define INSIDE 0
#define LEFT 1  // tap 0 of the first output is padding
#define RIGHT 2 // tap 2 of the last output is padding (odd widths)

// The three tap vectors of outputs x .. x+VW-1 in one input row: t_k[i] = row[2 * (x + i) - 1 + k].
static inline void taps(__global const float *row, int x, const int edge, floatv *t0, floatv *t1,
                        floatv *t2) {
#if VW == 1
    *t0 = row[2 * x - 1], *t1 = row[2 * x], *t2 = row[2 * x + 1];
#else
    __global const float *p = row + 2 * x; // tap 1 of output x
    if (edge == LEFT) {
        const floatv a = VLOAD(p), b = VLOAD(p + VW);
        *t1 = (floatv)(a.even, b.even);
        *t2 = (floatv)(a.odd, b.odd);
        *t0 = SHR(*t2);
    } else {
        const floatv a = VLOAD(p - 1), b = VLOAD(p - 1 + VW);
        *t0 = (floatv)(a.even, b.even);
        *t1 = (floatv)(a.odd, b.odd);
        if (edge == RIGHT) {
            *t2 = SHL(*t0);
        } else {
            const floatv c = VLOAD(p), d = VLOAD(p + VW);
            *t2 = (floatv)(c.odd, d.odd);
        }
    }
#endif
}

// Outputs x .. x+VW-1 of row oy for CO channels. w: the CO x 3 x 3 x 3 weights of the group.
static inline void chunk(__global const float *src0, __global const float *src1,
                         __global const float *src2, __global float *const *dst,
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
            taps(src + iy * W, x, edge, &t0, &t1, &t2);
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

// Output x of row oy for CO channels, taps outside the input reading zero.
static inline void column(__global const float *src0, __global const float *src1,
                          __global const float *src2, __global float *const *dst,
                          __global const float *w, const float *b, int H, int W, int OW, int oy,
                          int x) {
    float acc[CO];
#pragma unroll
    for (int k = 0; k < CO; k++) acc[k] = b[k];
    const int ix = 2 * x - 1; // column of tap 0; tap 1 (2x) is always inside
#pragma unroll
    for (int ci = 0; ci < 3; ci++) {
        __global const float *src = ci == 0 ? src0 : ci == 1 ? src1 : src2;
#pragma unroll
        for (int ky = 0; ky < 3; ky++) {
            const int iy = 2 * oy - 1 + ky;
            if (iy < 0 || iy >= H) continue;
            __global const float *row = src + iy * W;
            const float t0 = ix >= 0 ? row[ix] : 0.0f, t1 = row[ix + 1];
            const float t2 = ix + 2 < W ? row[ix + 2] : 0.0f;
            __global const float *wk = w + ci * 9 + ky * 3;
#pragma unroll
            for (int k = 0; k < CO; k++)
                acc[k] += wk[k * 27] * t0 + wk[k * 27 + 1] * t1 + wk[k * 27 + 2] * t2;
        }
    }
#pragma unroll
    for (int k = 0; k < CO; k++)
        if (dst[k]) dst[k][oy * OW + x] = fmax(acc[k], 0.0f);
}

// Arguments: input (data, map of its 3 channels, floats per image, floats per plane, H, W),
// output (likewise, OH, OW), output channels, images x channel groups of CO, outputs per
// work-item along W, weights and bias padded to whole groups of CO channels.
__kernel void stem3x3s2(__global const float *in, __global const int *in_map, int in_bstride,
                        int in_pitch, int H, int W, __global float *out,
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
    __global float *dst[CO];
    float b[CO];
#pragma unroll
    for (int k = 0; k < CO; k++) {
        dst[k] = co0 + k < COUT ? out + n * out_bstride + out_map[co0 + k] * out_pitch : 0;
        b[k] = bias[co0 + k];
    }
    __global const float *w = wts + co0 * 27;
    const int xe = min(xs + seg, OW);
    // Inside chunks start from 1 (tap 0 of output 0 is padding) to xmax (the last whose taps
    // all fit). Truncating division only errs for negative values, giving 0.
    const int xmax = (W + 1 - (2 * VW + 1)) / 2;
#if VW > 1
    const int left_ok = xs == 0 && VW <= xe && 2 * VW <= W;
    const int xr = OW - VW;
    const int right_ok = W % 2 == 1 && xe == OW && xr >= max(xs, 1);
#endif
    for (int x = xs; x < xe;) {
#if VW > 1
        if (x == 0 && left_ok) {
            chunk(src0, src1, src2, dst, w, b, H, W, OW, oy, 0, LEFT);
            x = VW;
            continue;
        }
#endif
        if (x >= 1 && x <= xmax && x + VW <= xe) {
            chunk(src0, src1, src2, dst, w, b, H, W, OW, oy, x, INSIDE);
            x += VW;
            continue;
        }
#if VW > 1
        if (right_ok && x >= xr) {
            // it redoes outputs this work-item already wrote: no other work-item's
            chunk(src0, src1, src2, dst, w, b, H, W, OW, oy, xr, RIGHT);
            x = OW;
            continue;
        }
#endif
        // the inside chunk that ends the segment, started early if need be (as above)
        const int xv = min(min(x, xe - VW), xmax);
        if (xv >= max(xs, 1) && xv + VW > x) {
            chunk(src0, src1, src2, dst, w, b, H, W, OW, oy, xv, INSIDE);
            x = xv + VW;
        } else {
            column(src0, src1, src2, dst, w, b, H, W, OW, oy, x);
            x++;
        }
    }
}
