// depthwise.cl: depthwise 3x3 convolution, pad 1, stride 1 (dw3x3s1) or 2 (dw3x3s2), with fused
// bias and optional ReLU, reading and writing channel planes through channel maps.
//
// A work-item owns TH output rows of one plane and a segment of `seg` outputs along W (a runtime
// argument: the whole row on CPUs, one vector on GPUs). It walks the segment VW outputs at a
// time with stencil.cl (built ahead of this file, after common.cl): the three taps of an input
// row are loaded as three VW-wide vectors (overlapping loads at stride 1, even/odd lanes of two
// loads at stride 2), and each input row feeds every output row of the block that needs it.
// The chunks at the two ends of a row take their padding taps from lanes already loaded,
// shifted in with a zero, so no load leaves the row and no lane is masked; only segments
// narrower than a vector (or a row too short for one) go one guarded column at a time.
// Padding rows are skipped whole. Borders are exact either way.

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

#if !VALID_WIDTH(VW)
#error "VW must be 1, 2, 4, 8 or 16"
#endif
typedef VTYPE(VW) floatv;
#define VSTORE(v, p) DSTORE_N(VW, v, p)

// Outputs x .. x+VW-1 of rows oy0 .. oy0+TH-1: whole vectors, no masks.
static inline void chunk(__global const data_t *src, __global data_t *dst, const float *w, float b,
                         int H, int OH, int W, int OW, int oy0, int x, const int edge) {
    floatv acc[TH];
#pragma unroll
    for (int t = 0; t < TH; t++) acc[t] = (floatv)(b);
#pragma unroll
    for (int r = 0; r < (TH - 1) * STRIDE + 3; r++) {
        const int iy = oy0 * STRIDE - 1 + r;
        if (iy < 0 || iy >= H) continue; // a padding row adds nothing
        floatv t0, t1, t2;
        STENCIL_TAPS_DATA(VW)(src + iy * W, x, STRIDE, edge, &t0, &t1, &t2);
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
static inline void column(__global const data_t *src, __global data_t *dst,
                          const float *w, float b, int H, int OH, int W, int OW, int oy0, int x) {
    float acc[TH];
#pragma unroll
    for (int t = 0; t < TH; t++) acc[t] = b;
    const int ix = x * STRIDE - 1; // column of tap 0; tap 1 (x * STRIDE) is always inside
#pragma unroll
    for (int r = 0; r < (TH - 1) * STRIDE + 3; r++) {
        const int iy = oy0 * STRIDE - 1 + r;
        if (iy < 0 || iy >= H) continue;
        float t0, t1, t2;
        stencil_column_taps_data(src + iy * W, ix, W, &t0, &t1, &t2);
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
        DSTORE(RELU ? fmax(acc[t], 0.0f) : acc[t], dst + (oy0 + t) * OW + x);
    }
}

#if STRIDE == 1
#define DW_KERNEL dw3x3s1
#else
#define DW_KERNEL dw3x3s2
#endif

// Arguments: input (data, map, floats per image, floats per plane, H, W), output (likewise, OH,
// OW), channels, images x channels, outputs per work-item along W, weights (C x 3 x 3), bias (C).
__kernel void DW_KERNEL(__global const data_t *in, __global const int *in_map, int in_bstride,
                        int in_pitch, int H, int W, __global data_t *out,
                        __global const int *out_map, int out_bstride, int out_pitch, int OH,
                        int OW, int C, int NC, int seg, __global const data_t *wts,
                        __global const float *bias) {
    const int xs = get_global_id(0) * seg, oy0 = get_global_id(1) * TH, nc = get_global_id(2);
    // Geometry is rounded up to whole work-groups: the spare work-items leave here.
    if (xs >= OW || oy0 >= OH || nc >= NC) return;
    const int n = nc / C, c = nc % C;
    __global const data_t *src = in + n * in_bstride + in_map[c] * in_pitch;
    __global data_t *dst = out + n * out_bstride + out_map[c] * out_pitch;
    float w[9];
    for (int i = 0; i < 9; i++) w[i] = DLOAD(wts + c * 9 + i);
    const float b = bias[c];
    // each kind of chunk its own call, so that its edge is a literal there
    const stencil_row row = stencil_row_init(xs, seg, W, OW, VW, STRIDE);
    for (int x = xs; x < row.xe;) {
        int at;
        const int kind = stencil_next(&row, &x, &at, VW);
        if (kind == LEFT)
            chunk(src, dst, w, b, H, OH, W, OW, oy0, at, LEFT);
        else if (kind == INSIDE)
            chunk(src, dst, w, b, H, OH, W, OW, oy0, at, INSIDE);
        else if (kind == RIGHT)
            chunk(src, dst, w, b, H, OH, W, OW, oy0, at, RIGHT);
        else
            column(src, dst, w, b, H, OH, W, OW, oy0, at);
    }
}
