/* bench_profile.c: one row per launch of a network (what the library reports it computes and
 * moves), and the sums per op kind. */
#include "bench.h"

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

/* One row per launch, from the library's own account of each (kernel, layers, MACs, bytes). */
int bench_rows_init(scl_network *net, int n, int h, int w, bench_batch *b) {
    if (scl_network_reshape(net, n, h, w) != SCL_OK)
        return cli_error("bench: cannot plan %dx3x%dx%d", n, h, w);
    int nl = scl_network_launch_count(net);
    free(b->rows);
    b->rows = calloc((size_t)nl, sizeof *b->rows);
    if (!b->rows) return cli_error("out of memory");
    b->nrows = nl;
    double moved = 0;
    for (int i = 0; i < nl; i++) {
        bench_row *r = &b->rows[i];
        scl_launch_info li = {.size = sizeof(scl_launch_info)};
        if (scl_network_launch_info(net, i, &li) != SCL_OK ||
            (r->info.size = sizeof r->info,
             scl_network_layer_info(net, li.first_layer, h, w, &r->info)) != SCL_OK)
            return cli_error("bench: no information on launch %d", i);
        /* a launch of several layers is a fused unit: its own kind in the totals */
        r->op = li.layers > 1 ? "unit" : scl_op_kind_name(r->info.kind);
        r->in_h = r->info.in_h, r->in_w = r->info.in_w;
        snprintf(r->kernel, sizeof r->kernel, "%s", li.kernel);
        r->weight_bytes = (size_t)li.weight_bytes;
        r->macs = li.macs;
        r->bytes = (double)li.bytes;
        moved += r->bytes;
    }
    b->bytes_moved_per_image = moved / n;
    return 0;
}

/* The NDRange of each launch as the ops last made it (kernel variants depend on the shape). */
void bench_rows_launches(scl_network *net, bench_batch *b) {
    for (int i = 0; i < b->nrows; i++) {
        scl_launch_info li = {.size = sizeof(scl_launch_info)};
        if (scl_network_launch_info(net, i, &li) != SCL_OK || li.dims == 0) continue;
        bench_row *r = &b->rows[i];
        for (int d = 0; d < 3; d++)
            r->global[d] = li.global[d], r->local[d] = li.local[d];
        r->has_launch = 1;
    }
}

int bench_kind_totals(const bench_batch *b, bench_kind_total *out) {
    static const char *const order[] = {"stem", "pool", "pointwise", "depthwise", "head"};
    int nk = 0;
    /* the usual kinds first, in network order, so that tables line up between runs */
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
        out[nk++] = (bench_kind_total){.kind = order[k]};
    for (int i = 0; i < b->nrows; i++) {
        const char *kind = bench_kind_of(b->rows[i].op);
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
