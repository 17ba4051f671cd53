/* testutil_image.h: what the image tests share: scratch files, loading bytes through a file,
 * the failure contract (status, empty image, message starting with the path), and in-memory
 * PNG and JPEG encoders. */
#ifndef SCL_TESTUTIL_IMAGE_H
#define SCL_TESTUTIL_IMAGE_H

#include "cli/image.h"
#include "testutil.h"

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* jpeglib.h needs stdio.h and stddef.h first */
#include <jpeglib.h>
#include <png.h>

/* Every passing ck_assert records a checkpoint with Check (a write to its pipe in fork mode), so
 * asserting each of 150k pixels costs seconds of system time: pixel loops use this, which only
 * costs anything when it fails. */
#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) ck_abort_msg(__VA_ARGS__);                                                    \
    } while (0)

/* A per-process file name in $SCL_TEST_TMPDIR (or /tmp), so concurrent runs do not collide. */
const char *ti_tmp_path(const char *name);
const char *ti_tmp_dir(void);
void ti_write_bytes(const char *path, const void *data, size_t len);
/* Loads bytes written to a scratch file with scl_image_load_limited (max_pixels 0: the
 * default budget); the file is removed before returning. */
scl_status ti_load_bytes(const char *name, const void *data, size_t len, scl_image *img, char *msg,
                         size_t cap, char *path_out, size_t path_cap);
void ti_load_ok(const char *name, const void *data, size_t len, scl_image *img);
/* A failure must give the status, an empty image and a message that starts with the path and
 * contains needle (if not NULL). */
void ti_load_fails(const char *name, const void *data, size_t len, scl_status want,
                   const char *needle);
void ti_assert_pixel(const scl_image *img, int x, int y, int r, int g, int b, int tol);

typedef struct membuf {
    unsigned char *p;
    size_t len, cap;
} membuf;

typedef struct png_spec {
    int width, height, color_type, bit_depth, interlace;
    const unsigned char *rows; /* packed rows in PNG's own layout */
    const png_color *palette;
    int npalette;
    const unsigned char *trns; /* palette alphas */
    int ntrns;
    const png_color_16 *trans_color; /* the transparent gray or RGB value */
} png_spec;

/* Encodes with libpng's write API into *m (caller frees m->p). */
void ti_png_encode(const png_spec *s, membuf *m);

typedef struct jpeg_spec {
    int width, height, components, quality, progressive;
    J_COLOR_SPACE in_space, jpeg_space;
    const unsigned char *pixels; /* interleaved, `components` bytes a pixel */
} jpeg_spec;

/* Encodes with libjpeg's compress API into *m (caller frees m->p). */
void ti_jpeg_encode(const jpeg_spec *s, membuf *m);
/* A smooth RGB test pattern: JPEG reproduces it closely (malloc'd). */
unsigned char *ti_gradient_rgb(int w, int h);

#endif
