/* onnx_move.c: the ONNX ops that only move channels, evaluated on channel entries: Reshape,
 * Transpose, Gather, Slice, Split, Concat, Squeeze, Unsqueeze, Flatten, Pad and Identity. Each
 * output element says which input element it is, so a channel shuffle written as any chain of
 * these (torchvision's Reshape-Transpose-Reshape, Megvii's batch-mixing Reshape-Transpose-
 * Reshape-Gather) becomes a permutation; the spatial dimensions must stay last and whole. */
#include "net/onnx_eval.h"

#include <stdlib.h>
#include <string.h>

#define FAIL(...) scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL, __VA_ARGS__)

/* A new activation output like `x` (spatial fields copied) with the given outer dims. */
static val *new_act(ev *e, size_t out, const val *x, int orank, const int64_t *odims) {
    val *o = scl__ev_output(e, out);
    if (!o) {
        scl__ev_fail(e, SCL_ERROR_FILE_FORMAT, "output %zu has no name or is defined twice", out);
        return NULL;
    }
    if (orank + x->nsp > EV_MAX_RANK) {
        FAIL("makes a tensor of rank %d", orank + x->nsp);
        return NULL;
    }
    *o = *x;
    o->rank = orank + x->nsp;
    memcpy(o->dims, odims, (size_t)orank * sizeof *odims);
    memcpy(o->dims + orank, x->dims + x->rank - x->nsp, (size_t)x->nsp * sizeof *odims);
    int64_t n = scl__ev_outer(o);
    o->e = scl__ev_alloc(e, n);
    if (!o->e) return NULL;
    return o;
}

static int norm_axis(int64_t a, int rank) {
    if (a < 0) a += rank;
    return a < 0 || a >= rank ? -1 : (int)a;
}

/* Strides of the outer dims (row-major). */
static void strides(const int64_t *d, int r, int64_t *s) {
    int64_t k = 1;
    for (int i = r - 1; i >= 0; i--)
        s[i] = k, k *= d[i];
}

/* Reshape and friends: new dims over the same elements in the same order. The spatial part
 * must end the new shape as (H, W) or (H*W); once pooled (1 x 1) every dim is outer. */
static scl_status reshape_to(ev *e, const val *x, int rank, const int64_t *d) {
    int64_t total = 1, sp = (int64_t)x->h * x->w;
    for (int i = 0; i < rank; i++)
        total *= d[i];
    if (total != scl__ev_outer(x) * (x->nsp ? sp : 1))
        return FAIL("reshapes %lld elements into %lld", (long long)(scl__ev_outer(x) * sp),
                    (long long)total);
    val tmp = *x;
    if (x->nsp == 0) {
        tmp.nsp = 0;
    } else if (rank >= 2 && d[rank - 2] == x->h && d[rank - 1] == x->w) {
        tmp.nsp = 2;
    } else if (rank >= 1 && d[rank - 1] == sp) {
        tmp.nsp = 1;
    } else {
        return FAIL("reshapes so that the %dx%d spatial dimensions mix with channels or images",
                    x->h, x->w);
    }
    tmp.rank = rank;
    memcpy(tmp.dims, d, (size_t)rank * sizeof *d);
    val *o = new_act(e, 0, &tmp, rank - tmp.nsp, d);
    if (!o) return SCL_ERROR_UNSUPPORTED_MODEL;
    memcpy(o->e, x->e, (size_t)scl__ev_outer(x) * sizeof *o->e);
    return SCL_OK;
}

static scl_status ev_reshape(ev *e, val *x) {
    int64_t d[EV_MAX_RANK];
    int n = scl__ev_ints(e, scl__ev_input(e, 1), d, EV_MAX_RANK, "target shape");
    if (n < 0) return SCL_ERROR_UNSUPPORTED_MODEL;
    int infer = -1;
    int64_t known = 1, total = scl__ev_outer(x) * (x->nsp ? (int64_t)x->h * x->w : 1);
    for (int i = 0; i < n; i++) {
        if (d[i] == 0 && !scl__ev_attr_i(e, "allowzero", 0)) {
            if (i >= x->rank) return FAIL("copies dimension %d of a rank-%d tensor", i, x->rank);
            d[i] = x->dims[i];
        }
        if (d[i] == -1) {
            if (infer >= 0) return FAIL("has two -1 dimensions");
            infer = i;
        } else if (d[i] <= 0 || d[i] > EV_MAX_ENTRIES) {
            return FAIL("reshapes to a dimension of %lld", (long long)d[i]);
        } else {
            known *= d[i];
        }
    }
    if (infer >= 0) {
        if (total % known) return FAIL("cannot infer its -1 dimension");
        d[infer] = total / known;
    }
    return reshape_to(e, x, n, d);
}

static scl_status ev_squeeze(ev *e, val *x, int unsq) {
    int64_t ax[EV_MAX_RANK];
    int na = scl__ev_attr_ints(e, "axes", ax, EV_MAX_RANK);
    if (na < 0 && scl__ev_input(e, 1))
        na = scl__ev_ints(e, scl__ev_input(e, 1), ax, EV_MAX_RANK, "axes");
    if (na == -2 || (na < 0 && unsq)) return FAIL("has no axes or too many");
    int64_t d[EV_MAX_RANK];
    int r = 0;
    if (unsq) {
        int orank = x->rank + na, mark[EV_MAX_RANK * 2] = {0};
        if (orank > EV_MAX_RANK) return FAIL("makes a tensor of rank %d", orank);
        for (int i = 0; i < na; i++) {
            int a = norm_axis(ax[i], orank);
            if (a < 0 || mark[a]) return FAIL("has a bad axis %lld", (long long)ax[i]);
            mark[a] = 1;
        }
        for (int i = 0, k = 0; i < orank; i++)
            d[r++] = mark[i] ? 1 : x->dims[k++];
    } else {
        int drop[EV_MAX_RANK] = {0};
        for (int i = 0; i < na; i++) {
            int a = norm_axis(ax[i], x->rank);
            if (a < 0 || x->dims[a] != 1) return FAIL("squeezes a dimension that is not 1");
            drop[a] = 1;
        }
        for (int i = 0; i < x->rank; i++)
            if (na >= 0 ? !drop[i] : x->dims[i] != 1) d[r++] = x->dims[i];
    }
    return reshape_to(e, x, r, d);
}

static scl_status ev_flatten(ev *e, val *x) {
    int a = (int)scl__ev_attr_i(e, "axis", 1);
    if (a < 0) a += x->rank;
    if (a < 0 || a > x->rank) return FAIL("has a bad axis");
    int64_t d[2] = {1, 1};
    for (int i = 0; i < x->rank; i++)
        d[i >= a] *= x->dims[i];
    return reshape_to(e, x, 2, d);
}

static scl_status ev_transpose(ev *e, val *x) {
    int64_t perm[EV_MAX_RANK];
    int r = x->rank, np = scl__ev_attr_ints(e, "perm", perm, EV_MAX_RANK), outer = r - x->nsp;
    if (np < 0)
        for (int i = 0; i < r; i++)
            perm[i] = r - 1 - i, np = r;
    if (np != r) return FAIL("has %d entries in perm for a rank-%d tensor", np, r);
    for (int i = outer; i < r; i++)
        if (perm[i] != i) return FAIL("moves the spatial dimensions");
    int seen[EV_MAX_RANK] = {0};
    int64_t d[EV_MAX_RANK], s[EV_MAX_RANK];
    for (int i = 0; i < outer; i++) {
        if (perm[i] < 0 || perm[i] >= outer || seen[perm[i]]++) return FAIL("has a bad perm");
        d[i] = x->dims[perm[i]];
    }
    strides(x->dims, outer, s);
    val *o = new_act(e, 0, x, outer, d);
    if (!o) return SCL_ERROR_UNSUPPORTED_MODEL;
    int64_t n = scl__ev_outer(o);
    for (int64_t j = 0; j < n; j++) {
        int64_t rem = j, src = 0;
        for (int k = outer - 1; k >= 0; k--) {
            src += (rem % d[k]) * s[perm[k]];
            rem /= d[k];
        }
        o->e[j] = x->e[src];
    }
    return SCL_OK;
}

/* Output `out` = x with dim `a` replaced by the `n` indices idx (rank 0 when scalar). */
static scl_status take(ev *e, size_t out, const val *x, int a, const int64_t *idx, int n,
                       int scalar) {
    int outer = x->rank - x->nsp, r = 0;
    int64_t d[EV_MAX_RANK] = {0}, pre = 1, post = 1;
    for (int i = 0; i < outer; i++) {
        if (i < a) pre *= x->dims[i];
        if (i > a) post *= x->dims[i];
        if (i != a)
            d[r++] = x->dims[i];
        else if (!scalar)
            d[r++] = n;
    }
    val *o = new_act(e, out, x, r, d);
    if (!o) return SCL_ERROR_UNSUPPORTED_MODEL;
    int64_t len = x->dims[a];
    for (int64_t p = 0; p < pre; p++)
        for (int k = 0; k < n; k++)
            memcpy(o->e + (p * n + k) * post, x->e + (p * len + idx[k]) * post,
                   (size_t)post * sizeof *o->e);
    return SCL_OK;
}

static int outer_axis(ev *e, const val *x, int64_t a) {
    int k = norm_axis(a, x->rank);
    if (k < 0 || k >= x->rank - x->nsp) {
        FAIL("works along a spatial dimension or a bad axis (%lld)", (long long)a);
        return -1;
    }
    return k;
}

static scl_status ev_gather(ev *e, val *x) {
    int a = outer_axis(e, x, scl__ev_attr_i(e, "axis", 0));
    val *iv = scl__ev_input(e, 1);
    int64_t idx[EV_MAX_INTS];
    int n = a < 0 ? -1 : scl__ev_ints(e, iv, idx, EV_MAX_INTS, "indices");
    if (n < 0) return SCL_ERROR_UNSUPPORTED_MODEL;
    int scalar = iv->kind == V_INT ? iv->rank == 0 : iv->t->n_dims == 0;
    if ((iv->kind == V_INT ? iv->rank : (int)iv->t->n_dims) > 1) return FAIL("has 2-D indices");
    for (int i = 0; i < n; i++) {
        if (idx[i] < 0) idx[i] += x->dims[a];
        if (idx[i] < 0 || idx[i] >= x->dims[a]) return FAIL("has an index out of range");
    }
    return take(e, 0, x, a, idx, n, scalar);
}

static scl_status range_take(ev *e, size_t out, const val *x, int a, int64_t s, int64_t t,
                             int64_t step) {
    int64_t n = (t - s + step - 1) / step;
    int64_t *idx = n >= 0 && n <= EV_MAX_ENTRIES ? malloc((size_t)(n ? n : 1) * sizeof *idx) : NULL;
    if (!idx) return scl__ev_fail(e, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    for (int64_t i = 0; i < n; i++)
        idx[i] = s + i * step;
    scl_status st = take(e, out, x, a, idx, (int)n, 0);
    free(idx);
    return st;
}

static scl_status ev_slice(ev *e, val *x) {
    int64_t s[EV_MAX_RANK], t[EV_MAX_RANK], ax[EV_MAX_RANK], st[EV_MAX_RANK];
    int ns, nt, na, nst;
    if (scl__ev_input(e, 1)) {
        ns = scl__ev_ints(e, scl__ev_input(e, 1), s, EV_MAX_RANK, "starts");
        nt = scl__ev_ints(e, scl__ev_input(e, 2), t, EV_MAX_RANK, "ends");
        na = scl__ev_input(e, 3) ? scl__ev_ints(e, scl__ev_input(e, 3), ax, EV_MAX_RANK, "axes")
                                 : -2;
        nst = scl__ev_input(e, 4) ? scl__ev_ints(e, scl__ev_input(e, 4), st, EV_MAX_RANK, "steps")
                                  : -2;
    } else { /* opset < 10: attributes */
        ns = scl__ev_attr_ints(e, "starts", s, EV_MAX_RANK);
        nt = scl__ev_attr_ints(e, "ends", t, EV_MAX_RANK);
        na = scl__ev_attr_ints(e, "axes", ax, EV_MAX_RANK);
        nst = -2;
        if (na == -1) na = -2;
    }
    if (ns < 0 || nt != ns || na == -1 || nst == -1 || (na >= 0 && na != ns) ||
        (nst >= 0 && nst != ns) || ns != 1)
        return ns < 0 || nt < 0 ? SCL_ERROR_UNSUPPORTED_MODEL : FAIL("slices more than one axis");
    int a = outer_axis(e, x, na >= 0 ? ax[0] : 0);
    int64_t step = nst >= 0 ? st[0] : 1, len = a < 0 ? 0 : x->dims[a];
    if (a < 0) return SCL_ERROR_UNSUPPORTED_MODEL;
    if (step != 1) return FAIL("slices with step %lld", (long long)step);
    int64_t b = s[0] < 0 ? s[0] + len : s[0], c = t[0] < 0 ? t[0] + len : t[0];
    b = b < 0 ? 0 : b > len ? len : b;
    c = c < b ? b : c > len ? len : c;
    return range_take(e, 0, x, a, b, c, 1);
}

static scl_status ev_split(ev *e, val *x) {
    const SclOnnx__NodeProto *nd = e->g->node[e->node];
    int a = outer_axis(e, x, scl__ev_attr_i(e, "axis", 0));
    if (a < 0) return SCL_ERROR_UNSUPPORTED_MODEL;
    int64_t sz[EV_MAX_INTS];
    int n = scl__ev_attr_ints(e, "split", sz, EV_MAX_INTS);
    if (n < 0 && scl__ev_input(e, 1))
        n = scl__ev_ints(e, scl__ev_input(e, 1), sz, EV_MAX_INTS, "split");
    if (n == -2 || (n < 0 && nd->n_output > EV_MAX_INTS)) return FAIL("has too many outputs");
    if (n < 0) {
        n = (int)nd->n_output;
        if (!n || x->dims[a] % n) return FAIL("splits %lld unevenly", (long long)x->dims[a]);
        for (int i = 0; i < n; i++)
            sz[i] = x->dims[a] / n;
    }
    int64_t at = 0;
    if ((size_t)n != nd->n_output) return FAIL("has %d sizes for %zu outputs", n, nd->n_output);
    for (int i = 0; i < n; i++) {
        if (sz[i] < 0 || at + sz[i] > x->dims[a]) return FAIL("has bad split sizes");
        scl_status st = range_take(e, (size_t)i, x, a, at, at + sz[i], 1);
        if (st != SCL_OK) return st;
        at += sz[i];
    }
    return at == x->dims[a] ? SCL_OK
                            : FAIL("split sizes do not add up to %lld", (long long)x->dims[a]);
}

static scl_status ev_concat(ev *e, val *x0) {
    const SclOnnx__NodeProto *nd = e->g->node[e->node];
    int a = outer_axis(e, x0, scl__ev_attr_i(e, "axis", 0)), outer = x0->rank - x0->nsp;
    if (a < 0) return SCL_ERROR_UNSUPPORTED_MODEL;
    int64_t d[EV_MAX_RANK], pre = 1, post = 1;
    memcpy(d, x0->dims, sizeof d);
    d[a] = 0;
    for (size_t i = 0; i < nd->n_input; i++) {
        val *x = scl__ev_input(e, i);
        if (!x || x->kind != V_ACT || x->rank != x0->rank || x->nsp != x0->nsp || x->h != x0->h ||
            x->w != x0->w || x->pad || x->pooled != x0->pooled)
            return FAIL("joins tensors of different kinds or sizes");
        for (int k = 0; k < x->rank; k++)
            if (k != a && x->dims[k] != x0->dims[k])
                return FAIL("joins tensors of different shapes");
        d[a] += x->dims[a];
    }
    for (int i = 0; i < outer; i++)
        pre *= i < a ? d[i] : 1, post *= i > a ? d[i] : 1;
    val *o = new_act(e, 0, x0, outer, d);
    if (!o) return SCL_ERROR_UNSUPPORTED_MODEL;
    int64_t at = 0;
    for (size_t i = 0; i < nd->n_input; i++) {
        val *x = scl__ev_input(e, i);
        int64_t chunk = x->dims[a] * post;
        for (int64_t p = 0; p < pre; p++)
            memcpy(o->e + p * d[a] * post + at, x->e + p * chunk, (size_t)chunk * sizeof *o->e);
        at += chunk;
    }
    return SCL_OK;
}

/* Pad: only the 1-pixel zero border that Megvii V1's average pool is exported with. */
static scl_status ev_pad(ev *e, val *x) {
    int64_t p[2 * EV_MAX_RANK];
    int n = scl__ev_attr_ints(e, "pads", p, 2 * EV_MAX_RANK);
    if (n < 0) n = scl__ev_ints(e, scl__ev_input(e, 1), p, 2 * EV_MAX_RANK, "pads");
    if (n < 0) return SCL_ERROR_UNSUPPORTED_MODEL;
    const SclOnnx__AttributeProto *mode = scl__ev_attr(e, "mode");
    float value = 0;
    val *cv = scl__ev_input(e, 2);
    char msg[256];
    if (cv && (cv->kind != V_TENSOR || scl__onnx_tensor_count(cv->t) != 1 ||
               scl__onnx_tensor_f32(e->m, cv->t, &value, 1, msg, sizeof msg) != SCL_OK))
        return FAIL("has a padding value that is not a constant float");
    int zeros = n == 8;
    for (int i = 0; zeros && i < 8; i++)
        zeros = p[i] == 0;
    if (zeros) { /* torch pads by nothing before some pools: an identity */
        val *o = new_act(e, 0, x, x->rank - x->nsp, x->dims);
        if (!o) return SCL_ERROR_UNSUPPORTED_MODEL;
        memcpy(o->e, x->e, (size_t)scl__ev_outer(x) * sizeof *o->e);
        return SCL_OK;
    }
    int ok = x->rank == 4 && x->nsp == 2 && n == 8 && !x->pad && value == 0 &&
             (!mode || (mode->has_s && mode->s.len == 8 && !memcmp(mode->s.data, "constant", 8)));
    for (int i = 0; ok && i < 8; i++)
        ok = p[i] == ((i % 4) >= 2 ? 1 : 0);
    if (!ok) return FAIL("is not a 1-pixel zero border around the spatial dimensions");
    val *o = new_act(e, 0, x, 2, x->dims);
    if (!o) return SCL_ERROR_UNSUPPORTED_MODEL;
    memcpy(o->e, x->e, (size_t)scl__ev_outer(x) * sizeof *o->e);
    o->pad = 1;
    return SCL_OK;
}

/* The channel-moving ops on an activation x (input 0); 0 when `op` is not one of them. */
int scl__ev_move(ev *e, const char *op, val *x, scl_status *st) {
    if (x->pad && strcmp(op, "AveragePool")) {
        *st = FAIL("uses a padded tensor other than in an AveragePool");
        return 1;
    }
    if (!strcmp(op, "Reshape"))
        *st = ev_reshape(e, x);
    else if (!strcmp(op, "Transpose"))
        *st = ev_transpose(e, x);
    else if (!strcmp(op, "Gather"))
        *st = ev_gather(e, x);
    else if (!strcmp(op, "Slice"))
        *st = ev_slice(e, x);
    else if (!strcmp(op, "Split"))
        *st = ev_split(e, x);
    else if (!strcmp(op, "Concat"))
        *st = ev_concat(e, x);
    else if (!strcmp(op, "Squeeze"))
        *st = ev_squeeze(e, x, 0);
    else if (!strcmp(op, "Unsqueeze"))
        *st = ev_squeeze(e, x, 1);
    else if (!strcmp(op, "Flatten"))
        *st = ev_flatten(e, x);
    else if (!strcmp(op, "Pad"))
        *st = ev_pad(e, x);
    else if (!strcmp(op, "Identity") || !strcmp(op, "Dropout")) {
        val *o = new_act(e, 0, x, x->rank - x->nsp, x->dims);
        *st = o ? SCL_OK : SCL_ERROR_UNSUPPORTED_MODEL;
        if (o) memcpy(o->e, x->e, (size_t)scl__ev_outer(x) * sizeof *o->e);
    } else
        return 0;
    return 1;
}
