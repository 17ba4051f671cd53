/* bench_svg.c: the bench report as one self-contained SVG file: per-layer device times of the
 * first model at its largest batch (when profiled) and images/s against batch size per model. */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define WIDTH 960
#define LABEL_W 230 /* layer names left of the bars */
#define ROW_H 14

static void text(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

static const char *kind_color(const char *kind) {
    static const char *const names[] = {"stem", "pool", "pointwise", "depthwise", "head"};
    static const char *const colors[] = {"#8c564b", "#7f7f7f", "#1f77b4", "#ff7f0e", "#2ca02c"};
    for (int i = 0; i < 5; i++)
        if (strcmp(kind, names[i]) == 0) return colors[i];
    return "#9467bd";
}

/* 1, 2 or 5 times a power of ten, so that about `n` steps span `max`. */
static double nice_step(double max, int n) {
    double raw = max / n, p = pow(10, floor(log10(raw)));
    return raw <= p ? p : raw <= 2 * p ? 2 * p : raw <= 5 * p ? 5 * p : 10 * p;
}

/* Horizontal bars, one per launch; returns the height used. */
static int layer_panel(FILE *f, const bench_model *m, const bench_batch *b, int y0) {
    double max = 0;
    for (int i = 0; i < b->nrows; i++)
        max = b->rows[i].ms > max ? b->rows[i].ms : max;
    if (max <= 0) max = 1;
    int bar_w = WIDTH - LABEL_W - 90;
    fprintf(f, "<text x=\"10\" y=\"%d\" class=\"h\">", y0 + 16);
    text(f, m->name);
    fprintf(f,
            ": device time per launch at batch %d (ms, median of %d runs; total %.3f ms)</text>\n",
            b->batch, b->profile_runs, b->profile_sum_ms);
    int y = y0 + 30;
    static const char *const kinds[] = {"stem", "pool", "pointwise", "depthwise", "head"};
    for (int k = 0; k < 5; k++) {
        int x = LABEL_W + 110 * k;
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>", x, y,
                kind_color(kinds[k]));
        fprintf(f, "<text x=\"%d\" y=\"%d\">%s</text>\n", x + 14, y + 9, kinds[k]);
    }
    y += 20;
    for (int i = 0; i < b->nrows; i++, y += ROW_H) {
        const bench_row *r = &b->rows[i];
        double w = r->ms / max * bar_w;
        const char *kind = bench_kind_of(r->op);
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"m\">", LABEL_W - 6, y + 10);
        text(f, r->info.name);
        fprintf(f,
                "</text><rect x=\"%d\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\"><title>",
                LABEL_W, y + 1, w, ROW_H - 3, kind_color(kind));
        text(f, r->info.name);
        fprintf(f, " (%s%s%s): %.4f ms, %.2f GFLOP/s, %.2f GB/s</title></rect>", r->op,
                r->has_launch ? ", " : "", r->has_launch ? r->kernel : "", r->ms,
                bench_gflops(r->macs, r->ms), bench_gbps(r->bytes, r->ms));
        fprintf(f, "<text x=\"%.2f\" y=\"%d\">%.3f</text>\n", LABEL_W + w + 4, y + 10, r->ms);
    }
    return y - y0 + 10;
}

/* images/s against batch size (log2 axis), a line per model; returns the height used. */
static int throughput_panel(FILE *f, const bench_report *r, int y0) {
    const int px = 80, pw = 560, ph = 300, legend_x = px + pw + 30;
    int bmin = 0, bmax = 0;
    double ymax = 0;
    for (int i = 0; i < r->nmodels; i++)
        for (int k = 0; k < r->models[i].nbatches; k++) {
            const bench_batch *b = &r->models[i].batches[k];
            if (!bmin || b->batch < bmin) bmin = b->batch;
            if (b->batch > bmax) bmax = b->batch;
            if (b->images_per_s > ymax) ymax = b->images_per_s;
        }
    if (!bmin) return 0;
    double step = nice_step(ymax > 0 ? ymax : 1, 5),
           ytop = ceil((ymax > 0 ? ymax : 1) / step) * step;
    double lmin = log2(bmin), lspan = log2(bmax) - lmin;
    int top = y0 + 40;
    fprintf(f,
            "<text x=\"10\" y=\"%d\" class=\"h\">Throughput: images/s (batch / median host time) "
            "against batch size</text>\n",
            y0 + 16);
    for (double v = 0; v <= ytop + step / 2; v += step) {
        double y = top + ph - v / ytop * ph;
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"g\"/>", px, y,
                px + pw, y);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", px - 6, y + 4, v);
    }
    for (int i = 0; i < r->set.nbatches; i++) {
        /* a tick at every batch size measured (every model runs the same list) */
        int bs = r->set.batches[i];
        double x = px + (lspan > 0 ? (log2(bs) - lmin) / lspan * pw : pw / 2.0);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", x, top + ph + 16,
                bs);
    }
    fprintf(
        f,
        "<text transform=\"translate(%d %d) rotate(-90)\" text-anchor=\"middle\">images/s</text>\n",
        px - 50, top + ph / 2);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">batch size</text>\n", px + pw / 2,
            top + ph + 34);
    fprintf(f,
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n",
            px, top, pw, ph);
    static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    for (int mi = 0; mi < r->nmodels; mi++) {
        const bench_model *m = &r->models[mi];
        const char *col = palette[mi % 10];
        const char *dash = mi >= 10 ? " stroke-dasharray=\"4 3\"" : "";
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", col,
                dash);
        for (int k = 0; k < m->nbatches; k++) {
            const bench_batch *b = &m->batches[k];
            double x = px + (lspan > 0 ? (log2(b->batch) - lmin) / lspan * pw : pw / 2.0);
            fprintf(f, "%s%.1f,%.1f", k ? " " : "", x, top + ph - b->images_per_s / ytop * ph);
        }
        fputs("\"/>\n", f);
        for (int k = 0; k < m->nbatches; k++) {
            const bench_batch *b = &m->batches[k];
            double x = px + (lspan > 0 ? (log2(b->batch) - lmin) / lspan * pw : pw / 2.0);
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>", x,
                    top + ph - b->images_per_s / ytop * ph, col);
            text(f, m->name);
            fprintf(f, " batch %d: %.1f images/s, %.3f ms</title></circle>\n", b->batch,
                    b->images_per_s, b->host_ms.median);
        }
        int ly = top + 10 + 16 * mi;
        fprintf(
            f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"%s/>",
            legend_x, ly, legend_x + 20, ly, col, dash);
        fprintf(f, "<text x=\"%d\" y=\"%d\">", legend_x + 26, ly + 4);
        text(f, m->name);
        fputs("</text>\n", f);
    }
    int legend_h = 16 * r->nmodels + 20;
    return 40 + (ph + 50 > legend_h ? ph + 50 : legend_h);
}

int bench_write_svg(const bench_report *r, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return cli_error("bench: cannot write %s: %s", path, strerror(errno));
    const bench_model *first = r->nmodels ? &r->models[0] : NULL;
    const bench_batch *largest = NULL;
    for (int k = 0; first && k < first->nbatches; k++)
        if (!largest || first->batches[k].batch > largest->batch) largest = &first->batches[k];
    if (largest && !largest->profile_runs) largest = NULL;
    /* the height is known before drawing: the header, the bars, the chart */
    int bars_h = largest ? 60 + ROW_H * largest->nrows : 0;
    int chart_h = 40 + (350 > 16 * r->nmodels + 20 ? 350 : 16 * r->nmodels + 20);
    int height = 50 + bars_h + chart_h;
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n"
            "<style>.h{font-size:14px;font-weight:bold}.m{font-family:monospace;font-size:10px}"
            ".g{stroke:#ddd}</style>\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            WIDTH, height, WIDTH, height);
    fputs("<text x=\"10\" y=\"20\" class=\"h\">shufflecl bench: ", f);
    text(f, r->device.name);
    fprintf(f,
            "</text>\n<text x=\"10\" y=\"36\">%s, input %dx%d; ceiling %.1f GFLOP/s, %.1f "
            "GB/s</text>\n",
            r->date, r->set.height, r->set.width, r->peak.gflops, r->peak.gbps);
    int y = 50;
    if (largest) y += layer_panel(f, first, largest, y);
    throughput_panel(f, r, y);
    fputs("</svg>\n", f);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return cli_error("bench: writing %s failed", path);
    return 0;
}
