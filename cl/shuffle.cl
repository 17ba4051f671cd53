// shuffle.cl: the explicit channel shuffle that moves data, out[c] = in[src(c)]: the baseline
// that the zero-copy channel maps replace, kept for comparison and for tests.
//
// src(c) = (c % A) * B + c / A covers both directions of scl_chanmap_create_shuffle with
// n = C / groups: forward A = groups, B = n; inverse A = n, B = groups.
// NDRange: dim 0 = pixel chunks of VEC, dim 1 = logical channel, dim 2 = batch. Planes are
// padded to 16 floats, so whole vectors may be copied over a plane's padded tail.

#ifndef VEC
#define VEC 16
#endif

#if !VALID_WIDTH(VEC)
#error "VEC must be 1, 2, 4, 8 or 16"
#endif
#define COPYV(s, d) DSTORE_N(VEC, DLOAD_N(VEC, s), d)

__kernel void channel_shuffle(__global const data_t *restrict in,
                              __global const int *restrict in_map, int in_bstride, int in_pitch,
                              __global data_t *restrict out, __global const int *restrict out_map,
                              int out_bstride, int out_pitch, int chunks, int A, int B) {
    const int px = get_global_id(0);
    if (px >= chunks) return;
    const int c = get_global_id(1), n = get_global_id(2);
    const int s = (c % A) * B + c / A;
    COPYV(in + n * in_bstride + in_map[s] * in_pitch + px * VEC,
          out + n * out_bstride + out_map[c] * out_pitch + px * VEC);
}
