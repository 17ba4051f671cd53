// stencil.cl: the 3x3 pad-1 row machinery that depthwise.cl (stride 1 and 2) and stem.cl
// (stride 2) share, built ahead of them after common.cl: the tap loader and the walk along a
// row's outputs. Each family keeps its own arithmetic (what a chunk or a column accumulates).
//
// A work-item owns a segment of a row's outputs and walks it VW outputs at a time ("chunks").
// For one input row a chunk needs three tap vectors, t_k[i] = row[(x + i) * stride - 1 + k]:
// overlapping loads at stride 1, the even/odd lanes of two loads at stride 2. The chunks at the
// two ends of a row take their padding tap from lanes already loaded, shifted in with a zero, so
// no load leaves the row and no lane is masked; only segments narrower than a vector (or a row
// too short for one) go one guarded column at a time.
//
// The width is a family's build option, known only after this file (see common.cl), so the tap
// loader is written once for every width, stencil_taps_1 .. stencil_taps_16, and a family calls
// STENCIL_TAPS(VW). Stride and edge are literals at every call: everything here is inlined and
// each use specialises.

#ifndef SCL_STENCIL_CL
#define SCL_STENCIL_CL

// What a piece of the walk is: a chunk of VW outputs with all taps inside the row (INSIDE), with
// tap 0 of its first output in the padding (LEFT) or tap 2 of its last (RIGHT), or one output
// with guarded taps (COLUMN).
#define INSIDE 0
#define LEFT 1
#define RIGHT 2
#define COLUMN 3

// The three tap vectors of outputs x .. x+n-1 in one input row, zero in the padding; edge LEFT
// or RIGHT shifts the padding tap in instead of loading it.
#define SCL_STENCIL_TAPS_FN(name, T, LD, n)                                                        \
    INLINE void name##_##n(__global const T *row, int x, const int stride,             \
                                 const int edge, VTYPE(n) *t0, VTYPE(n) *t1, VTYPE(n) *t2) {     \
        __global const T *p = row + x * stride; /* tap 1 of output x */                      \
        if (n == 1) {                                                                            \
            *t0 = LD(n, p - 1), *t1 = LD(n, p), *t2 = LD(n, p + 1);               \
        } else if (stride == 1) {                                                                \
            /* three overlapping loads (one cache line or two); the edge chunks shift instead */ \
            *t1 = LD(n, p);                                                                 \
            *t0 = edge == LEFT ? SHIFT_UP_N(n, *t1, 0.0f) : LD(n, p - 1);                   \
            *t2 = edge == RIGHT ? SHIFT_DOWN_N(n, *t1, 0.0f) : LD(n, p + 1);                \
        } else if (edge == LEFT) {                                                               \
            const VTYPE(n) a = LD(n, p), b = LD(n, p + n);                             \
            *t1 = EVENS_N(n, a, b);                                                              \
            *t2 = ODDS_N(n, a, b);                                                               \
            *t0 = SHIFT_UP_N(n, *t2, 0.0f);                                                      \
        } else {                                                                                 \
            const VTYPE(n) a = LD(n, p - 1), b = LD(n, p - 1 + n);                     \
            *t0 = EVENS_N(n, a, b);                                                              \
            *t1 = ODDS_N(n, a, b);                                                               \
            if (edge == RIGHT) {                                                                 \
                *t2 = SHIFT_DOWN_N(n, *t0, 0.0f);                                                \
            } else {                                                                             \
                const VTYPE(n) c = LD(n, p), d = LD(n, p + n);                         \
                *t2 = ODDS_N(n, c, d);                                                           \
            }                                                                                    \
        }                                                                                        \
    }
SCL_STENCIL_TAPS_FN(stencil_taps, float, VLOAD_N, 1)
SCL_STENCIL_TAPS_FN(stencil_taps, float, VLOAD_N, 2)
SCL_STENCIL_TAPS_FN(stencil_taps, float, VLOAD_N, 4)
SCL_STENCIL_TAPS_FN(stencil_taps, float, VLOAD_N, 8)
SCL_STENCIL_TAPS_FN(stencil_taps, float, VLOAD_N, 16)
#if SCL_HALF
SCL_STENCIL_TAPS_FN(stencil_taps_data, data_t, DLOAD_N, 1)
SCL_STENCIL_TAPS_FN(stencil_taps_data, data_t, DLOAD_N, 2)
SCL_STENCIL_TAPS_FN(stencil_taps_data, data_t, DLOAD_N, 4)
SCL_STENCIL_TAPS_FN(stencil_taps_data, data_t, DLOAD_N, 8)
SCL_STENCIL_TAPS_FN(stencil_taps_data, data_t, DLOAD_N, 16)
#endif
#define STENCIL_TAPS(n) CAT(stencil_taps_, n)
// The same for rows of stored activations (data_t, common.cl): halves under SCL_HALF.
#if SCL_HALF
#define STENCIL_TAPS_DATA(n) CAT(stencil_taps_data_, n)
#else
#define STENCIL_TAPS_DATA(n) CAT(stencil_taps_, n)
#endif

// The taps of the one output whose tap 0 is column ix of a row of W (tap 1, ix + 1, is always
// inside), those outside the row reading zero.
#define SCL_STENCIL_COLUMN_FN(name, T, LD1)                                                       \
    INLINE void name(__global const T *row, int ix, int W, float *t0, float *t1, float *t2) {      \
        *t0 = ix >= 0 ? LD1(row + ix) : 0.0f;                                                      \
        *t1 = LD1(row + ix + 1);                                                                   \
        *t2 = ix + 2 < W ? LD1(row + ix + 2) : 0.0f;                                               \
    }
#define SCL_FLOAT_LOAD1(p) (*(p))
SCL_STENCIL_COLUMN_FN(stencil_column_taps, float, SCL_FLOAT_LOAD1)
#if SCL_HALF
SCL_STENCIL_COLUMN_FN(stencil_column_taps_data, data_t, DLOAD)
#else
#define stencil_column_taps_data stencil_column_taps
#endif

// A work-item's walk over outputs xs .. xe-1 of a row of OW outputs read from W inputs.
typedef struct stencil_row {
    int xs, xe;
    int xmax;     // the last start of an INSIDE chunk (they start from 1: output 0's tap 0 is padding)
    int xr;       // where the RIGHT chunk starts: it ends the row
    int left_ok;  // a LEFT chunk fits: the segment starts the row and the row holds a vector
    int right_ok; // a RIGHT chunk is needed and starts inside the segment, after output 0
} stencil_row;

INLINE stencil_row stencil_row_init(int xs, int seg, int W, int OW, const int vw, const int stride) {
    stencil_row r;
    r.xs = xs;
    r.xe = min(xs + seg, OW);
    // the last chunk whose taps all fit reads columns up to (xmax + vw - 1) * stride + 1 <= W - 1;
    // truncating division only errs for negative values, giving 0
    r.xmax = (W + 1 - ((vw - 1) * stride + 3)) / stride;
    // the edge chunks need a row of more than one vector; at stride 2 only an odd width puts
    // the last output's tap 2 in the padding
    r.left_ok = vw > 1 && xs == 0 && vw <= r.xe && (stride == 1 ? vw < W : 2 * vw <= W);
    r.xr = OW - vw;
    r.right_ok = vw > 1 && (stride == 1 || W % 2 == 1) && r.xe == OW && r.xr >= max(xs, 1);
    return r;
}

// The piece of the walk at *x: returns its kind, sets *at to its first output and moves *x past
// it. Chunks never cross the segment's end, but may start before *x and redo outputs this
// work-item already wrote (no other work-item's), so that a vector still fits.
INLINE int stencil_next(const stencil_row *r, int *x, int *at, const int vw) {
    const int x0 = *x;
    if (x0 == 0 && r->left_ok) {
        *at = 0, *x = vw;
        return LEFT;
    }
    if (x0 >= 1 && x0 <= r->xmax && x0 + vw <= r->xe) {
        *at = x0, *x = x0 + vw;
        return INSIDE;
    }
    if (r->right_ok && x0 >= r->xr) {
        *at = r->xr, *x = r->xe;
        return RIGHT;
    }
    // the inside chunk that ends the segment, started early if need be
    const int xv = min(min(x0, r->xe - vw), r->xmax);
    if (xv >= max(r->xs, 1) && xv + vw > x0) {
        *at = xv, *x = xv + vw;
        return INSIDE;
    }
    *at = x0, *x = x0 + 1;
    return COLUMN;
}

#endif // SCL_STENCIL_CL
