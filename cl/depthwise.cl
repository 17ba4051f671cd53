// depthwise.cl: depthwise 3x3 convolution, pad 1, stride 1 (dw3x3s1) or 2 (dw3x3s2), with fused
// bias and optional ReLU, reading and writing channel planes through channel maps.
//
// A work-item owns TH output rows of one plane and a segment of `seg` outputs along W (a runtime
// argument: the whole row on CPUs, one vector on GPUs). It walks the segment VW outputs at a
// time: the three taps of an input row are loaded as three VW-wide vectors (overlapping loads at
// stride 1, even/odd lanes of two loads at stride 2), and each input row feeds every output row
// of the block that needs it. The chunks at the two ends of a row take their padding taps from
// lanes already loaded, shifted in with a zero, so no load leaves the row and no lane is masked;
// only segments narrower than a vector (or a row too short for one) go one guarded column at
// a time. Padding rows are skipped whole. Borders are exact either way.

// The stride is a build option rather than an argument so that the row loops unroll before
// inlining and every kernel-row test folds away. The kernel is named after it.
#ifndef STRIDE
#define STRIDE 1 // 1 or 2
#endif
#ifndef VW
#define VW 8 // outputs per vector: 1, 2, 4, 8 or 16
#endif
#ifndef TH
#define TH 1 // output rows per work-item
#endif
#ifndef RELU
#define RELU 0
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#if VW == 1
typedef float floatv;
#define VLOAD(p) (*(p))
#define VSTORE(v, p) (*(p) = (v))
#else
typedef CAT(float, VW) floatv;
#define VLOAD(p) CAT(vload, VW)(0, (p))
#define VSTORE(v, p) CAT(vstore, VW)((v), 0, (p))
#endif

// Input columns one chunk of VW outputs reads.
#define SPAN ((VW - 1) * STRIDE + 3)

// v moved one lane up (SHR) or down (SHL), a zero filling the lane left free: the padding tap
// of a chunk at the left or right end of the row, built from the lanes already loaded.
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

// Where a chunk sits: all taps inside the row, or tap 0 of its first output / tap 2 of its last
// output in the padding. The argument is a literal at every call, so each use specialises.
#define INSIDE 0
#define LEFT 1
#define RIGHT 2

// The three tap vectors of a chunk of outputs x .. x+VW-1 in one input row:
// t_k[i] = row[(x + i) * STRIDE - 1 + k], zero in the padding.
static inline void taps(__global const float *row, int x, const int edge, floatv *t0, floatv *t1,
                        floatv *t2) {
#if VW == 1
    *t0 = row[x * STRIDE - 1], *t1 = row[x * STRIDE], *t2 = row[x * STRIDE + 1];
#else
    __global const float *p = row + x * STRIDE; // tap 1 of output x
    if (STRIDE == 1) {
        // three overlapping loads (one cache line or two); the edge chunks shift instead
        *t1 = VLOAD(p);
        *t0 = edge == LEFT ? SHR(*t1) : VLOAD(p - 1);
        *t2 = edge == RIGHT ? SHL(*t1) : VLOAD(p + 1);
    } else if (edge == LEFT) {
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

// Outputs x .. x+VW-1 of rows oy0 .. oy0+TH-1: whole vectors, no masks.
static inline void chunk(__global const float *src, __global float *dst, const float *w, float b,
                         int H, int OH, int W, int OW, int oy0, int x, const int edge) {
    floatv acc[TH];
#pragma unroll
    for (int t = 0; t < TH; t++) acc[t] = (floatv)(b);
#pragma unroll
    for (int r = 0; r < (TH - 1) * STRIDE + 3; r++) {
        const int iy = oy0 * STRIDE - 1 + r;
        if (iy < 0 || iy >= H) continue; // a padding row adds nothing
        floatv t0, t1, t2;
        taps(src + iy * W, x, edge, &t0, &t1, &t2);
#pragma unroll
        for (int t = 0; t < TH; t++) {
            const int ky = r - t * STRIDE; // the kernel row this input row is for output row t
            if (ky >= 0 && ky < 3)
                acc[t] += w[3 * ky] * t0 + w[3 * ky + 1] * t1 + w[3 * ky + 2] * t2;
        }
    }
#pragma unroll
    for (int t = 0; t < TH; t++) {
        if (oy0 + t >= OH) break;
#if RELU
        acc[t] = fmax(acc[t], 0.0f);
#endif
        VSTORE(acc[t], dst + (oy0 + t) * OW + x);
    }
}

// Output x of rows oy0 .. oy0+TH-1, taps outside the input reading zero (the borders).
static inline void column(__global const float *src, __global float *dst,
                          const float *w, float b, int H, int OH, int W, int OW, int oy0, int x) {
    float acc[TH];
#pragma unroll
    for (int t = 0; t < TH; t++) acc[t] = b;
    const int ix = x * STRIDE - 1; // column of tap 0; tap 1 (x * STRIDE) is always inside
#pragma unroll
    for (int r = 0; r < (TH - 1) * STRIDE + 3; r++) {
        const int iy = oy0 * STRIDE - 1 + r;
        if (iy < 0 || iy >= H) continue;
        __global const float *row = src + iy * W;
        const float t0 = ix >= 0 ? row[ix] : 0.0f, t1 = row[ix + 1];
        const float t2 = ix + 2 < W ? row[ix + 2] : 0.0f;
#pragma unroll
        for (int t = 0; t < TH; t++) {
            const int ky = r - t * STRIDE;
            if (ky >= 0 && ky < 3)
                acc[t] += w[3 * ky] * t0 + w[3 * ky + 1] * t1 + w[3 * ky + 2] * t2;
        }
    }
#pragma unroll
    for (int t = 0; t < TH; t++) {
        if (oy0 + t >= OH) break;
        dst[(oy0 + t) * OW + x] = RELU ? fmax(acc[t], 0.0f) : acc[t];
    }
}

#if STRIDE == 1
#define DW_KERNEL dw3x3s1
#else
#define DW_KERNEL dw3x3s2
#endif

// Arguments: input (data, map, floats per image, floats per plane, H, W), output (likewise, OH,
// OW), channels, images x channels, outputs per work-item along W, weights (C x 3 x 3), bias (C).
__kernel void DW_KERNEL(__global const float *in, __global const int *in_map, int in_bstride,
                        int in_pitch, int H, int W, __global float *out,
                        __global const int *out_map, int out_bstride, int out_pitch, int OH,
                        int OW, int C, int NC, int seg, __global const float *wts,
                        __global const float *bias) {
    const int xs = get_global_id(0) * seg, oy0 = get_global_id(1) * TH, nc = get_global_id(2);
    // Geometry is rounded up to whole work-groups: the spare work-items leave here.
    if (xs >= OW || oy0 >= OH || nc >= NC) return;
    const int n = nc / C, c = nc % C;
    __global const float *src = in + n * in_bstride + in_map[c] * in_pitch;
    __global float *dst = out + n * out_bstride + out_map[c] * out_pitch;
    float w[9];
    for (int i = 0; i < 9; i++) w[i] = wts[c * 9 + i];
    const float b = bias[c];
    const int xe = min(xs + seg, OW);
    // Chunks inside the row start from 1 (tap 0 of output 0 is padding) to xmax (the last
    // whose taps all fit). Truncating division only errs for negative values, giving 0.
    const int xmax = (W + 1 - SPAN) / STRIDE;
    // The edge chunks need a row of more than one vector; at stride 2 only an odd width puts
    // the last output's tap 2 in the padding.
#if VW > 1
    const int left_ok = xs == 0 && VW <= xe && (STRIDE == 1 ? VW < W : 2 * VW <= W);
    const int xr = OW - VW;
#if STRIDE == 1
    const int right_ok = xe == OW && xr >= max(xs, 1);
#else
    const int right_ok = W % 2 == 1 && xe == OW && xr >= max(xs, 1);
#endif
#endif
    for (int x = xs; x < xe;) {
#if VW > 1
        if (x == 0 && left_ok) {
            chunk(src, dst, w, b, H, OH, W, OW, oy0, 0, LEFT);
            x = VW;
            continue;
        }
#endif
        if (x >= 1 && x <= xmax && x + VW <= xe) {
            chunk(src, dst, w, b, H, OH, W, OW, oy0, x, INSIDE);
            x += VW;
            continue;
        }
#if VW > 1
        if (right_ok && x >= xr) {
            // it redoes outputs this work-item already wrote: no other work-item's
            chunk(src, dst, w, b, H, OH, W, OW, oy0, xr, RIGHT);
            x = OW;
            continue;
        }
#endif
        // the inside chunk that ends the segment, started early if need be (as above)
        const int xv = min(min(x, xe - VW), xmax);
        if (xv >= max(xs, 1) && xv + VW > x) {
            chunk(src, dst, w, b, H, OH, W, OW, oy0, xv, INSIDE);
            x = xv + VW;
        } else {
            column(src, dst, w, b, H, OH, W, OW, oy0, x);
            x++;
        }
    }
}
