// pool.cl: 3x3 stride-2 pad-1 pooling (ShuffleNet's max pool after the stem, and V1's average
// pool shortcut), reading and writing through channel maps so the result can land straight in
// its concat slot.
//
// out[y][x] = reduce over in[2y-1+ky][2x-1+kx], ky, kx in 0..2, of the taps inside the input.
// Max: padding never wins (it acts as -inf; the centre tap 2y, 2x is always inside). Average
// (count_include_pad): the sum of the inside taps times 1/9, borders included.
//
// A work-item owns TH output rows of one plane and a segment of `seg` outputs along W (a
// runtime argument: the whole row on CPUs, one vector on GPUs), which it walks VW outputs at a
// time. Rows first, columns second:
//  - the 2*TH+1 input rows of the block are each loaded once per chunk, as the two VW-wide
//    vectors covering input columns 2x-1 .. 2x+2VW-2 plus the one scalar at 2x+2VW-1, and
//    folded straight into the TH per-output-row reductions that need them (a row between two
//    output rows feeds both);
//  - only then are the column taps separated, once per output row instead of once per input
//    row: tap 0 / tap 1 of output x+i are the even / odd lanes of the two vectors, and tap 2 is
//    tap 0 moved down one lane with the scalar shifted in.
// At the ends of a row no load leaves it: the first chunk loads columns 0 .. 2VW-1 and shifts
// the padding tap in as the lane below its first output; the last chunk of an odd width starts
// at OW-VW (redoing a few outputs of its own work-item) and shifts the padding in as the
// scalar. Rows in the vertical padding are skipped whole. Only segments narrower than a vector
// (or rows too short for one) go one guarded column at a time. Nothing reads past a row or
// relies on the plane padding; the plane pitch is an argument, rows are W floats apart.

#ifndef VW
#define VW 16 // outputs per vector: 1, 2, 4, 8 or 16
#endif
#ifndef TH
#define TH 4 // output rows per work-item
#endif

#if !VALID_WIDTH(VW)
#error "VW must be 1, 2, 4, 8 or 16"
#endif
typedef VTYPE(VW) vec_t;
#define LOADV(p) DLOAD_N(VW, p)
#define STOREV(v, p) DSTORE_N(VW, v, p)
#define EVENS(a, b) EVENS_N(VW, a, b)
#define ODDS(a, b) ODDS_N(VW, a, b)
#define LANE_IN_LOW(v, s) SHIFT_UP_N(VW, v, s)  // lane i <- v[i-1], lane 0 <- s
#define LANE_IN_HIGH(v, s) SHIFT_DOWN_N(VW, v, s) // lane i <- v[i+1], lane VW-1 <- s

// Every helper is forced inline (common.cl's INLINE): PoCL otherwise kept pool_chunk a real
// function, `where` and `is_max` stayed runtime values and every chunk tested them (20-30%
// slower).

// The reduction: IS_MAX is a literal at every call, so each kernel keeps one branch.
#define PAD_VALUE(is_max) ((is_max) ? -INFINITY : 0.0f)
// The max is a compare and select, which is fmax(acc, v) while acc is not NaN: accumulators
// start at -inf and a select never takes a NaN v, so they never are. (fmax itself costs an
// unordered compare and a blend more per use on x86: the max pool took 1.6x as long.)
#define FOLD(is_max, acc, v) ((is_max) ? ((v) > (acc) ? (v) : (acc)) : (acc) + (v))
#define FINISH(is_max, v) ((is_max) ? (v) : (v) * (1.0f / 9.0f))

// Where a chunk lies in its row (a literal at every call, so each use specialises): all taps
// inside (MID), tap 0 of its first output in the padding (FIRST), or tap 2 of its last output
// in the padding (LAST: odd widths only).
#define MID 0
#define FIRST 1
#define LAST 2

// Outputs x .. x+VW-1 of output rows oy0 .. oy0+TH-1 (those below OH).
INLINE void pool_chunk(__global const data_t *src, __global data_t *dst, int H, int OH, int W, int OW,
                       int oy0, int x, const int where, const int is_max) {
    vec_t lo[TH], hi[TH];
    float tail[TH];
#pragma unroll
    for (int t = 0; t < TH; t++)
        lo[t] = hi[t] = (vec_t)(PAD_VALUE(is_max)), tail[t] = PAD_VALUE(is_max);
    // FIRST: columns 0 .. 2VW-1 (no scalar); else columns 2x-1 .. 2x+2VW-2, and 2x+2VW-1 (MID).
    const int c0 = where == FIRST ? 0 : 2 * x - 1;
#pragma unroll
    for (int r = 0; r < 2 * TH + 1; r++) {
        const int iy = 2 * oy0 - 1 + r;
        if (iy < 0 || iy >= H) continue; // a padding row never wins and adds nothing
        __global const data_t *p = src + iy * W + c0;
        const vec_t a = LOADV(p), b = LOADV(p + VW);
        const float s = where == MID ? DLOAD(p + 2 * VW) : PAD_VALUE(is_max);
#pragma unroll
        for (int t = 0; t < TH; t++) {
            const int ky = r - 2 * t; // which kernel row this input row is for output row t
            if (ky >= 0 && ky <= 2) {
                lo[t] = FOLD(is_max, lo[t], a);
                hi[t] = FOLD(is_max, hi[t], b);
                if (where == MID) tail[t] = FOLD(is_max, tail[t], s);
            }
        }
    }
#pragma unroll
    for (int t = 0; t < TH; t++) {
        if (oy0 + t >= OH) break;
        vec_t k0, k1, k2; // column taps 0, 1, 2 of outputs x .. x+VW-1
        if (where == FIRST) {
            k1 = EVENS(lo[t], hi[t]);
            k2 = ODDS(lo[t], hi[t]);
            k0 = LANE_IN_LOW(k2, PAD_VALUE(is_max));
        } else {
            k0 = EVENS(lo[t], hi[t]);
            k1 = ODDS(lo[t], hi[t]);
            k2 = LANE_IN_HIGH(k0, tail[t]); // tail[t] is the padding value for LAST
        }
        const vec_t v = FOLD(is_max, FOLD(is_max, k0, k1), k2);
        STOREV(FINISH(is_max, v), dst + (oy0 + t) * OW + x);
    }
}

// Output x of output rows oy0 .. oy0+TH-1, one guarded tap at a time. Only rows or segments
// narrower than a vector come here: its loops stay rolled (less code to generate).
INLINE void pool_column(__global const data_t *src, __global data_t *dst, int H, int OH, int W,
                        int OW, int oy0, int x, const int is_max) {
    float acc[TH];
#pragma unroll 1
    for (int t = 0; t < TH; t++)
        acc[t] = PAD_VALUE(is_max);
    const int ix = 2 * x; // tap 1, always inside
#pragma unroll 1
    for (int r = 0; r < 2 * TH + 1; r++) {
        const int iy = 2 * oy0 - 1 + r;
        if (iy < 0 || iy >= H) continue;
        __global const data_t *row = src + iy * W;
        float h = DLOAD(row + ix);
        if (ix >= 1) h = FOLD(is_max, h, DLOAD(row + ix - 1));
        if (ix + 1 < W) h = FOLD(is_max, h, DLOAD(row + ix + 1));
#pragma unroll 1
        for (int t = 0; t < TH; t++) {
            const int ky = r - 2 * t;
            if (ky >= 0 && ky <= 2) acc[t] = FOLD(is_max, acc[t], h);
        }
    }
#pragma unroll 1
    for (int t = 0; t < TH; t++) {
        if (oy0 + t >= OH) break;
        DSTORE(FINISH(is_max, acc[t]), dst + (oy0 + t) * OW + x);
    }
}

// One work-item: outputs [xs, xs+seg) of output rows oy0 .. oy0+TH-1 of one (image, channel).
INLINE void pool_item(__global const data_t *in, __global const int *in_map, int in_bstride,
                      int in_pitch, int H, int W, __global data_t *out, __global const int *out_map,
                      int out_bstride, int out_pitch, int OH, int OW, int C, int NC, int seg,
                      const int is_max) {
    const int xs = get_global_id(0) * seg, oy0 = get_global_id(1) * TH, nc = get_global_id(2);
    // The grid is rounded up to whole work-groups: the spare work-items leave here.
    if (xs >= OW || oy0 >= OH || nc >= NC) return;
    const int n = nc / C, c = nc - n * C;
    __global const data_t *src = in + n * in_bstride + in_map[c] * in_pitch;
    __global data_t *dst = out + n * out_bstride + out_map[c] * out_pitch;
    const int xe = min(xs + seg, OW);
    // MID chunks start at 1 or later (output 0 has tap 0 in the padding) and at most at xmid,
    // the last start whose scalar column 2x+2VW-1 is inside (x >= 1 is tested separately, so
    // the truncating division of a negative is harmless).
    const int xmid = (W - 2 * VW) / 2;
    // FIRST needs its 2VW columns inside the row and its VW outputs in the segment. With an
    // odd width the last output's tap 2 is padding: a LAST chunk ends the row, when it starts
    // inside this segment (and after column 0, so its loads start inside the row).
    const int first = xs == 0 && 2 * VW <= W && VW <= xe, xl = OW - VW;
    const int last = (W & 1) && xe == OW && xl >= xs && xl >= 1;
    int x = xs;
    if (first) {
        x = VW;
    } else if (x == 0) {
        pool_column(src, dst, H, OH, W, OW, oy0, 0, is_max);
        x = 1;
    }
    // MID chunks, and where fewer than VW outputs are left (and no LAST chunk ends the row)
    // one ending as far right as it may, redoing outputs of this segment. Every chunk has one
    // call site of each kind, the edge chunks one together (their `where` a runtime value):
    // each inlined copy of pool_chunk is code PoCL generates again at the first launch.
    for (;;) {
        int at = x;
        if (x + VW > xe || x > xmid) {
            at = min(xe - VW, xmid);
            if (x >= xe || last || at < max(xs, 1) || at + VW <= x) break;
        }
        pool_chunk(src, dst, H, OH, W, OW, oy0, at, MID, is_max);
        x = at + VW;
    }
#pragma unroll 1
    for (int k = 0; k < 2; k++)
        if (k ? last && x < xe : first)
            pool_chunk(src, dst, H, OH, W, OW, oy0, k ? xl : 0, k ? LAST : FIRST, is_max);
    if (last) return;
    // single columns for whatever is past the chunks
    for (; x < xe; x++)
        pool_column(src, dst, H, OH, W, OW, oy0, x, is_max);
}

// Arguments: input (data, channel map, floats per image, floats per plane, H, W), output
// (likewise, OH, OW), channels, images x channels, outputs per work-item along W.
__kernel void maxpool3x3s2(__global const data_t *in, __global const int *in_map, int in_bstride,
                           int in_pitch, int H, int W, __global data_t *out,
                           __global const int *out_map, int out_bstride, int out_pitch, int OH,
                           int OW, int C, int NC, int seg) {
    pool_item(in, in_map, in_bstride, in_pitch, H, W, out, out_map, out_bstride, out_pitch, OH, OW,
              C, NC, seg, 1);
}

__kernel void avgpool3x3s2(__global const data_t *in, __global const int *in_map, int in_bstride,
                           int in_pitch, int H, int W, __global data_t *out,
                           __global const int *out_map, int out_bstride, int out_pitch, int OH,
                           int OW, int C, int NC, int seg) {
    pool_item(in, in_map, in_bstride, in_pitch, H, W, out, out_map, out_bstride, out_pitch, OH, OW,
              C, NC, seg, 0);
}
