// pool.cl: 3x3 stride-2 pad-1 pooling (ShuffleNet's max pool after the stem, and V1's average
// pool shortcut), reading and writing through channel maps so the result can land straight in
// its concat slot.
//
// One work-item per output pixel; dim 0 runs along W so neighbouring work-items read
// neighbouring addresses (coalesced on GPUs, vectorised across work-items by PoCL).

// Tensor operands: data, channel map (logical channel -> plane), floats per image, floats per plane.
#define PLANE(base, map, bstride, pitch, n, c) ((base) + (n) * (bstride) + (map)[c] * (pitch))

__kernel void maxpool3x3s2(__global const float *in, __global const int *in_map, int in_bstride,
                           int in_pitch, int H, int W, __global float *out,
                           __global const int *out_map, int out_bstride, int out_pitch, int OH,
                           int OW, int C) {
    const int ox = get_global_id(0), oy = get_global_id(1), nc = get_global_id(2);
    if (ox >= OW || oy >= OH) return;
    const int n = nc / C, c = nc % C;
    __global const float *src = PLANE(in, in_map, in_bstride, in_pitch, n, c);
    const int y0 = 2 * oy - 1, x0 = 2 * ox - 1;
    // Padding never wins: start from the first in-bounds tap, not from 0 or -inf.
    float m = -INFINITY;
    for (int dy = 0; dy < 3; dy++) {
        const int y = y0 + dy;
        if (y < 0 || y >= H) continue;
        for (int dx = 0; dx < 3; dx++) {
            const int x = x0 + dx;
            if (x >= 0 && x < W) m = fmax(m, src[y * W + x]);
        }
    }
    PLANE(out, out_map, out_bstride, out_pitch, n, c)[oy * OW + ox] = m;
}

__kernel void avgpool3x3s2(__global const float *in, __global const int *in_map, int in_bstride,
                           int in_pitch, int H, int W, __global float *out,
                           __global const int *out_map, int out_bstride, int out_pitch, int OH,
                           int OW, int C) {
    const int ox = get_global_id(0), oy = get_global_id(1), nc = get_global_id(2);
    if (ox >= OW || oy >= OH) return;
    const int n = nc / C, c = nc % C;
    __global const float *src = PLANE(in, in_map, in_bstride, in_pitch, n, c);
    const int y0 = 2 * oy - 1, x0 = 2 * ox - 1;
    float s = 0.0f;
    for (int dy = 0; dy < 3; dy++) {
        const int y = y0 + dy;
        if (y < 0 || y >= H) continue;
        for (int dx = 0; dx < 3; dx++) {
            const int x = x0 + dx;
            if (x >= 0 && x < W) s += src[y * W + x];
        }
    }
    // count_include_pad=True: the border taps that fall in the padding still count in the 9.
    PLANE(out, out_map, out_bstride, out_pitch, n, c)[oy * OW + ox] = s * (1.0f / 9.0f);
}
