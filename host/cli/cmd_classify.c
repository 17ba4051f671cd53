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

#define LABEL_MAX 255 /* bytes of one class name */

/* Class names, one a line, from an untrusted file: at most `classes` lines (exactly that many
 * are needed) of at most LABEL_MAX bytes each; control bytes become '?'. NULL on error
 * (printed). */
static char **read_labels(const char *path, int classes) {
    FILE *f = fopen(path, "rb");
    if (!f) return cli_error("--labels %s: cannot open: %s", path, strerror(errno)), NULL;
    char **labels = calloc((size_t)classes, sizeof *labels), line[LABEL_MAX + 3];
    int n = 0, bad = labels ? 0 : cli_error("out of memory");
    while (!bad && fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        int ended = len > 0 && line[len - 1] == '\n';
        if (ended) line[--len] = '\0';
        if (len > 0 && line[len - 1] == '\r') line[--len] = '\0';
        if (len > LABEL_MAX || (!ended && !feof(f))) {
            bad = cli_error("--labels %s: line %d is longer than %d bytes", path, n + 1, LABEL_MAX);
        } else if (n == classes) {
            bad = cli_error("--labels %s: more than %d lines; the model has %d classes", path,
                            classes, classes);
        } else {
            for (size_t k = 0; k < len; k++)
                if ((unsigned char)line[k] < 0x20 || line[k] == 0x7f) line[k] = '?';
            if (!(labels[n++] = strdup(line))) bad = cli_error("out of memory");
        }
    }
    if (!bad && ferror(f)) bad = cli_error("--labels %s: read error", path);
    if (!bad && n != classes)
        bad = cli_error("--labels %s: %d line(s), but the model has %d classes (one name a line)",
                        path, n, classes);
    fclose(f);
    if (bad && labels) {
        for (int k = 0; k < classes; k++)
            free(labels[k]);
        free(labels);
        labels = NULL;
    }
    return labels;
}

static void top5(const float *logits, int classes, char **labels, const char *path) {
    /* softmax for the probabilities people expect to read */
    double mx = logits[0], sum = 0;
    for (int k = 1; k < classes; k++)
        mx = logits[k] > mx ? logits[k] : mx;
    for (int k = 0; k < classes; k++)
        sum += exp(logits[k] - mx);
    int best[5] = {-1, -1, -1, -1, -1};
    for (int r = 0; r < 5 && r < classes; r++)
        for (int k = 0; k < classes; k++) {
            int taken = 0;
            for (int q = 0; q < r; q++)
                taken |= best[q] == k;
            if (!taken && (best[r] < 0 || logits[k] > logits[best[r]])) best[r] = k;
        }
    printf("%s\n", path);
    for (int r = 0; r < 5 && r < classes; r++)
        printf("  %5.1f%%  %4d  %s\n", 100.0 * exp(logits[best[r]] - mx) / sum, best[r],
               labels            ? labels[best[r]]
               : classes == 1000 ? scl_imagenet_classes[best[r]]
                                 : "");
}

int cli_classify(int argc, char **argv) {
    const char *model = NULL, *weights = NULL, *device = NULL, *labels_path = NULL, *v;
    const char **images = calloc((size_t)argc, sizeof *images);
    int nimg = 0, err = 0;
    uint64_t max_pixels = SCL_IMAGE_DEFAULT_MAX_PIXELS;
    scl_preprocess forced = SCL_PREPROCESS_UNKNOWN;
    if (!images) return cli_error("out of memory");
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            puts(
                "usage: shufflecl classify MODEL --weights W.safetensors [--labels L.txt] "
                "[--device D]\n"
                "                          [--max-pixels N] [--preprocess torchvision|megvii] "
                "IMAGE...\n\n"
                "Prints the top-5 classes of each PNG, JPEG or PPM picture. MODEL is a preset or\n"
                "'auto' (the architecture read from W). Pictures are resized (short side 256) and\n"
                "centre-cropped to 224 x 224, then preprocessed as the weights' layout expects:\n"
                "torchvision (V2) RGB in [0,1] normalised with ImageNet's mean and std; Megvii "
                "(V1\n"
                "and V2) BGR 0..255 as is; --preprocess overrides it (an ONNX file that says\n"
                "nothing needs it). Class names: --labels (one a line, as many as the "
                "model\n"
                "has classes), else ImageNet's for 1000 classes, else only the class indices. A\n"
                "picture whose header claims more than --max-pixels pixels (default 67108864,\n"
                "64 Mpixel) is refused before it is decoded.");
            free(images);
            return 0;
        }
        if (cli_opt(argc, argv, &i, "--weights", &v, &err))
            weights = v;
        else if (cli_opt(argc, argv, &i, "--device", &v, &err))
            device = v;
        else if (cli_opt(argc, argv, &i, "--labels", &v, &err))
            labels_path = v;
        else if (cli_opt(argc, argv, &i, "--preprocess", &v, &err)) {
            if (!err && strcmp(v, "torchvision") && strcmp(v, "megvii")) {
                free(images);
                return cli_error("classify: --preprocess takes torchvision or megvii, not '%s'", v);
            }
            if (!err) forced = v[0] == 't' ? SCL_PREPROCESS_TORCHVISION : SCL_PREPROCESS_MEGVII;
        } else if (cli_opt(argc, argv, &i, "--max-pixels", &v, &err)) {
            if (!err && parse_max_pixels(v, &max_pixels)) err = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            free(images);
            return cli_error("classify: unknown option '%s'", argv[i]);
        } else if (!model)
            model = argv[i];
        else
            images[nimg++] = argv[i];
        if (err) {
            free(images);
            return 1;
        }
    }
    if (!model || !weights || nimg == 0) {
        free(images);
        return cli_error(
            "classify: usage: shufflecl classify MODEL --weights W.safetensors IMAGE... "
            "(MODEL: a preset or 'auto')");
    }
    scl_context *ctx;
    if (cli_context(device, &ctx)) {
        free(images);
        return 1;
    }
    int rc = 0, classes = 0;
    scl_network *net = NULL;
    char **labels = NULL;
    float *x = malloc((size_t)3 * CROP * CROP * sizeof *x), *y = NULL;
    if (!x)
        rc = cli_error("out of memory");
    else
        rc = cli_network(ctx, "classify", model, weights, 1, &net);
    if (!rc) classes = scl_network_classes(net);
    if (!rc && !(y = malloc((size_t)classes * sizeof *y))) rc = cli_error("out of memory");
    if (!rc && labels_path && !(labels = read_labels(labels_path, classes))) rc = 1;
    scl_preprocess mode = forced ? forced
                          : net  ? scl_network_preprocess(net)
                                 : SCL_PREPROCESS_TORCHVISION;
    if (!rc && mode == SCL_PREPROCESS_UNKNOWN)
        rc = cli_error("%s: the model does not say how its pictures are prepared (no shufflecl."
                       "preprocess metadata, no recognised names): pass --preprocess "
                       "torchvision|megvii",
                       weights);
    for (int i = 0; i < nimg && rc == 0; i++) {
        char msg[1024];
        scl_image img;
        if (scl_image_load_limited(images[i], max_pixels, &img, msg, sizeof msg) != SCL_OK) {
            rc = cli_error("%s", msg);
            break;
        }
        scl_status st = scl_image_preprocess(&img, RESIZE, CROP, mode, x, msg, sizeof msg);
        scl_image_free(&img);
        if (st != SCL_OK)
            rc = cli_error("%s", msg);
        else if (scl_network_run(net, x, 1, CROP, CROP, y) != SCL_OK)
            rc = cli_error("%s", scl_last_error(ctx));
        else
            top5(y, classes, labels, images[i]);
    }
    for (int k = 0; labels && k < classes; k++)
        free(labels[k]);
    free(labels);
    free(x), free(y), free(images);
    scl_network_destroy(net);
    scl_context_destroy(ctx);
    return rc;
}
