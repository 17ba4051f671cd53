/* bench_profile.c: what each launch of a network computes and moves (MACs, bytes, from the
 * layers' shapes), and the sums per op kind. */
#include "bench.h"
#include "net/network_internal.h"
#include "ops/op.h"

#include <stdlib.h>
#include <string.h>

double bench_gflops(int64_t macs, double ms) {
    return ms > 0 ? 2.0 * (double)macs / (ms * 1e6) : 0;
}
double bench_gbps(double bytes, double ms) {
    return ms > 0 ? bytes / (ms * 1e6) : 0;
}

const char *bench_kind_of(const char *op) {
    if (strcmp(op, "maxpool") == 0 || strcmp(op, "avgpool") == 0) return "pool";
    if (strcmp(op, "gap_fc") == 0) return "head";
    return op; /* pointwise, depthwise, stem, and whatever else a network may launch */
}

/* Rows after `level` stride-2 steps, as the library sizes its buffers: ceil(size / 2^level). */
static int level_size(int size, int level) {
    for (int i = 0; i < level; i++)
        size = (size + 1) / 2;
    return size;
}

/* The input size of a stride-2 layer whose output is `out` rows: the level above it. */
static int level_above(int size, int out) {
    int k = 0;
    while (level_size(size, k) > out)
        k++;
    return k > 0 ? level_size(size, k - 1) : size;
}

static int is_stride2(const scl_layer_info *li) {
    return strcmp(li->op, "stem") == 0 || strcmp(li->op, "maxpool") == 0 ||
           strcmp(li->op, "avgpool") == 0 || (strcmp(li->op, "depthwise") == 0 && li->stride == 2);
}

/* Floats of weights and bias a layer holds on the device (BN folded into them). */
static size_t device_weights(const scl_layer_info *li) {
    size_t co = (size_t)li->cout;
    if (strcmp(li->op, "pointwise") == 0) return co * (size_t)(li->cin / li->groups) + co;
    if (strcmp(li->op, "depthwise") == 0) return co * 9 + co;
    if (strcmp(li->op, "stem") == 0) return co * 27 + co;
    if (strcmp(li->op, "gap_fc") == 0) return co * (size_t)li->cin + co;
    return 0;
}

int bench_rows_init(scl_network *net, int n, int h, int w, bench_batch *b) {
    int nl = scl_network_layer_count(net);
    free(b->rows);
    b->rows = calloc((size_t)nl, sizeof *b->rows);
    if (!b->rows) return cli_error("out of memory");
    b->nrows = nl;
    double moved = 0;
    for (int i = 0; i < nl; i++) {
        bench_row *r = &b->rows[i];
        if (scl_network_layer_info(net, i, h, w, &r->info) != SCL_OK)
            return cli_error("bench: no information on layer %d", i);
        const scl_layer_info *li = &r->info;
        if (strcmp(li->op, "gap_fc") == 0 && i > 0) {
            /* the head pools whatever the layer before it produced */
            r->in_h = b->rows[i - 1].info.out_h, r->in_w = b->rows[i - 1].info.out_w;
        } else if (is_stride2(li)) {
            r->in_h = level_above(h, li->out_h), r->in_w = level_above(w, li->out_w);
        } else {
            r->in_h = li->out_h, r->in_w = li->out_w;
        }
        double in_px = (double)r->in_h * r->in_w, out_px = (double)li->out_h * li->out_w;
        double act = ((double)li->cin * in_px + (double)li->cout * out_px) * sizeof(float);
        /* V1's stride-1 units read their input again, as the residual the last 1x1 conv adds */
        const scl_op *op = scl__network_op(net, i);
        if (op && (op->flags & SCL_OP_RESIDUAL)) act += (double)li->cout * out_px * sizeof(float);
        r->weight_bytes = device_weights(li) * sizeof(float);
        r->macs = li->macs * n;
        r->bytes = act * n + (double)r->weight_bytes;
        moved += r->bytes;
    }
    b->bytes_moved_per_image = moved / n;
    return 0;
}

int bench_kind_totals(const bench_batch *b, bench_kind_total *out) {
    static const char *const order[] = {"stem", "pool", "pointwise", "depthwise", "head"};
    int nk = 0;
    /* the usual kinds first, in network order, so that tables line up between runs */
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
        out[nk++] = (bench_kind_total){.kind = order[k]};
    for (int i = 0; i < b->nrows; i++) {
        const char *kind = bench_kind_of(b->rows[i].info.op);
        int k = 0;
        while (k < nk && strcmp(out[k].kind, kind) != 0)
            k++;
        if (k == nk) {
            if (nk == BENCH_MAX_KINDS)
                k = nk - 1; /* never with today's ops */
            else
                out[nk++] = (bench_kind_total){.kind = kind};
        }
        out[k].launches++;
        out[k].ms += b->rows[i].ms;
        out[k].bytes += b->rows[i].bytes;
        out[k].macs += b->rows[i].macs;
    }
    return nk;
}
