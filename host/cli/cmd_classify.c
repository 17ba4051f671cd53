/* cmd_classify.c: `shufflecl classify`: decode pictures, preprocess them as the weights expect,
 * and print the top-5 ImageNet classes of each. */
#include "cli.h"
#include "image.h"
#include "imagenet_classes.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CROP 224
#define RESIZE 256
/* --max-pixels: at least a crop's worth, at most what a 65535 x 65535 image has */
#define MAX_PIXELS_LIMIT (65535ull * 65535ull)

static int parse_max_pixels(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end != '\0' || errno || v < (unsigned long long)CROP * CROP ||
        v > MAX_PIXELS_LIMIT)
        return cli_error("classify: --max-pixels: '%s' is not a whole number from %d to %llu", s,
                         CROP * CROP, MAX_PIXELS_LIMIT);
    *out = v;
    return 0;
}

static void top5(const float *logits, int classes, const char *path) {
    /* softmax for the probabilities people expect to read */
    double mx = logits[0], sum = 0;
    for (int k = 1; k < classes; k++) mx = logits[k] > mx ? logits[k] : mx;
    for (int k = 0; k < classes; k++) sum += exp(logits[k] - mx);
    int best[5] = {-1, -1, -1, -1, -1};
    for (int r = 0; r < 5 && r < classes; r++)
        for (int k = 0; k < classes; k++) {
            int taken = 0;
            for (int q = 0; q < r; q++) taken |= best[q] == k;
            if (!taken && (best[r] < 0 || logits[k] > logits[best[r]])) best[r] = k;
        }
    printf("%s\n", path);
    for (int r = 0; r < 5 && r < classes; r++)
        printf("  %5.1f%%  %4d  %s\n", 100.0 * exp(logits[best[r]] - mx) / sum, best[r],
               classes == 1000 ? scl_imagenet_classes[best[r]] : "");
}

int cli_classify(int argc, char **argv) {
    const char *model = NULL, *weights = NULL, *device = NULL, *v;
    const char **images = calloc((size_t)argc, sizeof *images);
    int nimg = 0, err = 0;
    uint64_t max_pixels = SCL_IMAGE_DEFAULT_MAX_PIXELS;
    if (!images) return cli_error("out of memory");
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            puts("usage: shufflecl classify MODEL --weights W.safetensors [--device D] [--max-pixels N]\n"
                 "                          IMAGE...\n\n"
                 "Prints the top-5 ImageNet classes of each PNG, JPEG or PPM picture. Pictures are\n"
                 "resized (short side 256) and centre-cropped to 224 x 224, then preprocessed as the\n"
                 "weights expect: torchvision (V2) RGB in [0,1] normalised with ImageNet's mean and\n"
                 "std; Megvii (V1) BGR 0..255 as is. A picture whose header claims more than\n"
                 "--max-pixels pixels (default 67108864, 64 Mpixel) is refused before it is decoded.");
            free(images);
            return 0;
        }
        if (cli_opt(argc, argv, &i, "--weights", &v, &err)) weights = v;
        else if (cli_opt(argc, argv, &i, "--device", &v, &err)) device = v;
        else if (cli_opt(argc, argv, &i, "--max-pixels", &v, &err)) {
            if (!err && parse_max_pixels(v, &max_pixels)) err = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            free(images);
            return cli_error("classify: unknown option '%s'", argv[i]);
        } else if (!model) model = argv[i];
        else images[nimg++] = argv[i];
        if (err) {
            free(images);
            return 1;
        }
    }
    if (!model || !weights || nimg == 0) {
        free(images);
        return cli_error("classify: usage: shufflecl classify MODEL --weights W.safetensors IMAGE...");
    }
    scl_context *ctx;
    if (cli_context(device, &ctx)) {
        free(images);
        return 1;
    }
    int rc = 0;
    scl_network *net = NULL;
    float *x = malloc((size_t)3 * CROP * CROP * sizeof *x), *y = malloc(1000 * sizeof *y);
    if (!x || !y) rc = cli_error("out of memory");
    else if (scl_network_create(ctx, model, &net) != SCL_OK || scl_network_load_weights(net, weights) != SCL_OK)
        rc = cli_error("%s", scl_last_error(ctx));
    scl_preprocess mode = net ? scl_network_preprocess(net) : SCL_PREPROCESS_TORCHVISION;
    for (int i = 0; i < nimg && rc == 0; i++) {
        char msg[1024];
        scl_image img;
        if (scl_image_load_limited(images[i], max_pixels, &img, msg, sizeof msg) != SCL_OK) {
            rc = cli_error("%s", msg);
            break;
        }
        scl_status st = scl_image_preprocess(&img, RESIZE, CROP, mode, x, msg, sizeof msg);
        scl_image_free(&img);
        if (st != SCL_OK) rc = cli_error("%s", msg);
        else if (scl_network_run(net, x, 1, CROP, CROP, y) != SCL_OK) rc = cli_error("%s", scl_last_error(ctx));
        else top5(y, scl_network_classes(net), images[i]);
    }
    free(x), free(y), free(images);
    scl_network_destroy(net);
    scl_context_destroy(ctx);
    return rc;
}
