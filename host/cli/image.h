/* image.h: image decoding (PNG, JPEG, PPM/PGM) and the resize / centre-crop / normalise step
 * that turns a photo into a network input for `shufflecl classify`. Host-only, no OpenCL. */
#ifndef SCL_IMAGE_H
#define SCL_IMAGE_H

#include "shufflecl.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An 8-bit RGB image, rows top to bottom, pixels interleaved R, G, B. */
typedef struct scl_image {
    int width, height;
    unsigned char *rgb; /* height * width * 3 bytes, owned: release with scl_image_free */
} scl_image;

/* Decodes the file at `path` into `out`. The format is chosen by the file's magic bytes, never by
 * its extension:
 *   PNG   any bit depth and colour type: palette, gray, gray + alpha, RGB, RGBA, interlaced;
 *         alpha is dropped, 16-bit samples keep their high byte (as PIL does for RGB);
 *   JPEG  baseline or progressive, gray, YCbCr/RGB, and CMYK/YCCK (Adobe inverted or not);
 *   PNM   PPM P6 / P3 and PGM P5 / P2 (gray replicated to RGB), any maxval up to 65535.
 * On failure `out` is left empty ({0, 0, NULL}) and `msg` (if not NULL) receives a message that
 * starts with the path: SCL_ERROR_FILE_IO when the file cannot be opened or read,
 * SCL_ERROR_FILE_FORMAT when its content is unknown, truncated (a JPEG whose data ends early,
 * even if closed by an EOI marker, counts), corrupt, of absurd dimensions (zero or above 65535)
 * or over the pixel budget, SCL_ERROR_OUT_OF_MEMORY, SCL_ERROR_INVALID_ARGUMENT for NULL
 * path/out. Never prints.
 *
 * Pixel budget: width x height from the file's header is checked against it before any pixel
 * memory is allocated or any pixel decoded, so a small file claiming 60000 x 60000 is refused at
 * once. scl_image_load uses SCL_IMAGE_DEFAULT_MAX_PIXELS (64 Mpixel, e.g. 8192 x 8192);
 * scl_image_load_limited takes another (0 = the default; `shufflecl classify --max-pixels N`).
 * Images within the budget are decoded at full size, never at a reduced JPEG DCT scale, so that
 * the classifier's input stays PIL's bit for bit. */
#define SCL_IMAGE_DEFAULT_MAX_PIXELS ((uint64_t)64 << 20)
scl_status scl_image_load(const char *path, scl_image *out, char *msg, size_t msgcap);
scl_status scl_image_load_limited(const char *path, uint64_t max_pixels, scl_image *out, char *msg,
                                  size_t msgcap);

/* Frees the pixels and empties the image. NULL and empty images are fine. */
void scl_image_free(scl_image *img);

/* torchvision's Resize(resize) + CenterCrop(crop) on a PIL image, bit for bit: the short side
 * becomes `resize` (long side = floor(resize * long / short)) with PIL's antialiased bilinear
 * filter (a triangle whose support widens with the downscale factor, fixed-point, 8-bit rounding
 * after each of the horizontal then vertical passes), then the centred crop x crop window (offset
 * round-half-even((size - crop) / 2), as Python's round). Writes 3 * crop * crop floats, planar
 * CHW, into `chw`, normalised per `mode`. Only the cropped window is ever computed.
 * SCL_ERROR_INVALID_ARGUMENT for NULL pointers, an empty image, resize or crop < 1,
 * crop > resize or an unknown mode; SCL_ERROR_OUT_OF_MEMORY. `msg` may be NULL. */
scl_status scl_image_preprocess(const scl_image *img, int resize, int crop, scl_preprocess mode,
                                float *chw, char *msg, size_t msgcap);

#ifdef __cplusplus
}
#endif
#endif /* SCL_IMAGE_H */
