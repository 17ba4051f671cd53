/* fuzz_image.c: libFuzzer target for the image decoders (host/cli/image.c: PNG, JPEG, PPM/PGM)
 * and, on small images, the resize / crop / normalise step that follows them. */
#include "cli/image.h"
#include "fuzz_common.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(data, size);
    char msg[2048] = "";
    scl_image img = {7, 7, (unsigned char *)msg};
    if (scl_image_load(path, &img, msg, sizeof msg) != SCL_OK) {
        FUZZ_CHECK(img.width == 0 && img.height == 0 && img.rgb == NULL,
                   "image not empty on failure");
        FUZZ_NAMES_FILE(msg, path);
        return 0;
    }
    FUZZ_CHECK(img.width >= 1 && img.width <= 65535 && img.height >= 1 && img.height <= 65535,
               "%d x %d", img.width, img.height);
    FUZZ_CHECK(img.rgb != NULL, "no pixels");
    size_t bytes = (size_t)img.width * (size_t)img.height * 3;
    volatile unsigned sink = 0; /* every pixel readable (ASan) */
    for (size_t i = 0; i < bytes; i++)
        sink += img.rgb[i];
    (void)sink;
    if (bytes <= (3u << 16)) {
        float chw[3 * 8 * 8];
        FUZZ_CHECK(scl_image_preprocess(&img, 9, 8, SCL_PREPROCESS_TORCHVISION, chw, msg,
                                        sizeof msg) == SCL_OK,
                   "preprocess: %s", msg);
        for (size_t i = 0; i < sizeof chw / sizeof chw[0]; i++)
            FUZZ_CHECK(isfinite(chw[i]), "chw[%zu]", i);
    }
    scl_image_free(&img);
    FUZZ_CHECK(img.rgb == NULL && img.width == 0 && img.height == 0, "scl_image_free left pixels");
    return 0;
}
