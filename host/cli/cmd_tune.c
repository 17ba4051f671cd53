/* cmd_tune.c: `shufflecl tune`: run the auto-tuner for a model on a device and persist the
 * winners in the device's tuning file. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static void progress(const char *line, void *user) {
    (void)user;
    printf("  %s\n", line);
    fflush(stdout);
}

int cli_tune(int argc, char **argv) {
    const char *model = NULL, *device = NULL, *weights = NULL, *families = NULL, *v;
    int n = 1, h = 224, w = 224, err = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            puts(
                "usage: shufflecl tune [MODEL] [--weights W] [--batch N] [--height H] [--width W]\n"
                "                      [--device D] [--ops LIST]\n\n"
                "MODEL is a preset or 'auto' (the default with --weights): the architecture of W.\n"
                "Times the configurations the op descriptors name (each tunable in turn over its\n"
                "probes) for every layer shape of MODEL at N x 3 x H x W (default 1 x 3 x 224 x "
                "224)\n"
                "whose op family is in LIST (comma-separated; default "
                "pointwise,depthwise,unit,block;\n"
                "also stem, pool, head), rejects any candidate whose output differs from the\n"
                "default kernel's, and keeps the winners that beat the default by more than 5% in\n"
                "the device's tuning file in the cache directory. 'block' (at N > 1) then times "
                "the\n"
                "whole network over the batch in blocks of 1, 2, 4, 8 and 16 images against the\n"
                "whole batch at once, and keeps the fastest for batch N where it is 5% faster.\n"
                "Every op and network made on the device afterwards uses them; a kernel source\n"
                "change makes the file stale (ignored). Run it again for other models or sizes:\n"
                "their entries are merged.");
            return 0;
        }
        if (cli_opt(argc, argv, &i, "--batch", &v, &err) ||
            cli_opt(argc, argv, &i, "--height", &v, &err) ||
            cli_opt(argc, argv, &i, "--width", &v, &err)) {
            if (err) return 1;
            char *end;
            long x = strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || x < 1 || x > 4096)
                return cli_error("tune: %s: '%s' is not a whole number from 1 to 4096", argv[i - 1],
                                 v);
            *(strncmp(argv[i - 1], "--batch", 7) == 0    ? &n
              : strncmp(argv[i - 1], "--height", 8) == 0 ? &h
                                                         : &w) = (int)x;
        } else if (cli_opt(argc, argv, &i, "--device", &v, &err)) {
            if (err) return 1;
            device = v;
        } else if (cli_opt(argc, argv, &i, "--weights", &v, &err)) {
            if (err) return 1;
            weights = v;
        } else if (cli_opt(argc, argv, &i, "--ops", &v, &err)) {
            if (err) return 1;
            families = v;
        } else if (argv[i][0] == '-') {
            return cli_error("tune: unknown option '%s'", argv[i]);
        } else if (!model) {
            model = argv[i];
        } else {
            return cli_error("tune: more than one model given ('%s' and '%s')", model, argv[i]);
        }
    }
    if (!model && !weights)
        return cli_error("tune: which model? (shufflecl models lists them; or --weights FILE)");
    scl_context *ctx;
    if (cli_context(device, &ctx)) return 1;
    scl_network *net;
    scl_model_desc d;
    d.size = sizeof d;
    if (cli_network(ctx, "tune", model, weights, 0, &net)) {
        scl_context_destroy(ctx);
        return 1;
    }
    scl_network_get_desc(net, &d);
    scl_network_destroy(net);
    scl_device_info info = {.size = sizeof(scl_device_info)};
    scl_context_device_info(ctx, &info);
    char text[256];
    printf("tuning %s at %dx3x%dx%d on %s\n", scl_model_desc_text(&d, text, sizeof text), n, h, w,
           info.name);
    scl_tune_report r = {.size = sizeof(scl_tune_report)};
    scl_status st = scl_tune_desc_ex(ctx, &d, n, h, w, families, cli_precision, progress, NULL, &r);
    int rc = 0;
    if (st != SCL_OK) {
        rc = cli_error("%s", scl_last_error(ctx));
    } else {
        printf("%d shapes, %d candidates timed, %d rejected (output differed), %d improved\n",
               r.shapes, r.candidates, r.rejected, r.improved);
        printf("sum of layer times: default %.3f ms, tuned %.3f ms (%.2fx)\n", r.default_ms,
               r.tuned_ms, r.tuned_ms > 0 ? r.default_ms / r.tuned_ms : 0.0);
        printf("written: %s\n", r.path);
    }
    scl_context_destroy(ctx);
    return rc;
}
