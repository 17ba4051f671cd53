/* bench_devices.c: `shufflecl bench --device all`: the bench on each OpenCL device in turn (each
 * report as for one device), then one table of every device's medians. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

typedef struct device_run {
    char spec[24]; /* "P:D" */
    char name[128];
    bench_report r;
    int rc;
} device_run;

static void print_table(const bench_settings *set, const device_run *runs, int count) {
    printf("\nevery device: %s, input %dx%d; medians (images/s on the host clock)\n", set->model,
           set->height, set->width);
    printf("  %-6s %-34s %-12s %6s %10s %10s %11s\n", "device", "name", "model", "batch", "host ms",
           "device ms", "images/s");
    for (int i = 0; i < count; i++) {
        const device_run *d = &runs[i];
        if (d->rc) {
            printf("  %-6s %-34.34s FAILED (its error is above)\n", d->spec, d->name);
            continue;
        }
        for (int m = 0; m < d->r.nmodels; m++) {
            const bench_model *bm = &d->r.models[m];
            for (int b = 0; b < bm->nbatches; b++) {
                const bench_batch *bb = &bm->batches[b];
                printf("  %-6s %-34.34s %-12s %6d %10.3f %10.3f %11.1f\n", d->spec, d->name,
                       bm->name, bb->batch, bb->host_ms.median, bb->device_ms.median,
                       bb->images_per_s);
            }
        }
    }
}

int bench_all_devices(const bench_settings *set) {
    if (set->json_path || set->svg_path || set->op_family)
        return cli_error("bench: --device all prints one table of every device; --json, --svg "
                         "and --op take one device (--device P:D)");
    int count = 0;
    if (scl_device_list(NULL, 0, &count) != SCL_OK) return cli_error("%s", scl_last_error(NULL));
    if (count == 0)
        return cli_error(
            "no OpenCL device found: install a driver (Debian: pocl-opencl-icd for the CPU)");
    scl_device_info *info = calloc((size_t)count, sizeof *info);
    device_run *runs = calloc((size_t)count, sizeof *runs);
    if (!info || !runs) return free(info), free(runs), cli_error("out of memory");
    for (int i = 0; i < count; i++)
        info[i].size = sizeof *info;
    int rc = 0;
    if (scl_device_list(info, count, &count) != SCL_OK) rc = cli_error("%s", scl_last_error(NULL));
    for (int i = 0; i < count && !rc; i++) {
        device_run *d = &runs[i];
        snprintf(d->spec, sizeof d->spec, "%d:%d", info[i].platform_index, info[i].device_index);
        snprintf(d->name, sizeof d->name, "%s", info[i].name);
        printf("%s=== device %s: %s\n", i ? "\n" : "", d->spec, d->name);
        fflush(stdout);
        d->r.set = *set;
        d->r.set.device = d->spec;
        /* one device failing is reported and the others still run */
        d->rc = bench_report_run(&d->r);
        fflush(stdout);
    }
    if (!rc) print_table(set, runs, count);
    for (int i = 0; i < count; i++) {
        rc |= runs[i].rc;
        bench_report_free(&runs[i].r);
    }
    free(runs), free(info);
    return rc;
}
