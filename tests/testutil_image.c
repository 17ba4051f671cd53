/* testutil_image.c: helpers of the image tests (see testutil_image.h). */
#include "testutil_image.h"

#include <setjmp.h>
#include <string.h>
#include <unistd.h>

/* ---- scratch files ------------------------------------------------------------------------- */

const char *ti_tmp_path(const char *name) {
    static char buf[1024];
    const char *dir = getenv("SCL_TEST_TMPDIR");
    if (!dir || !dir[0]) dir = "/tmp";
    snprintf(buf, sizeof buf, "%s/scl_test_image_%ld_%s", dir, (long)getpid(), name);
    return buf;
}

const char *ti_tmp_dir(void) {
    const char *dir = getenv("SCL_TEST_TMPDIR");
    return dir && dir[0] ? dir : "/tmp";
}

void ti_write_bytes(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* Loads bytes written to a scratch file; the file is removed before returning. */
scl_status ti_load_bytes(const char *name, const void *data, size_t len, scl_image *img, char *msg,
                         size_t cap, char *path_out, size_t path_cap) {
    const char *path = ti_tmp_path(name);
    if (path_out) snprintf(path_out, path_cap, "%s", path);
    ti_write_bytes(path, data, len);
    scl_status st = scl_image_load_limited(path, 0, img, msg, cap);
    unlink(path);
    return st;
}

void ti_load_ok(const char *name, const void *data, size_t len, scl_image *img) {
    char msg[512];
    scl_status st = ti_load_bytes(name, data, len, img, msg, sizeof msg, NULL, 0);
    ck_assert_msg(st == SCL_OK, "load %s: %d %s", name, (int)st, msg);
}

/* A failure must give the status, an empty image and a message that starts with the path. */
void ti_load_fails(const char *name, const void *data, size_t len, scl_status want,
                   const char *needle) {
    char msg[512], path[1024];
    scl_image img = {7, 7, (unsigned char *)&img};
    scl_status st = ti_load_bytes(name, data, len, &img, msg, sizeof msg, path, sizeof path);
    ck_assert_msg(st == want, "%s: status %d, want %d (%s)", name, (int)st, (int)want, msg);
    ck_assert_msg(strncmp(msg, path, strlen(path)) == 0, "message lacks the path: %s", msg);
    ck_assert_msg(!needle || strstr(msg, needle), "message lacks '%s': %s", needle, msg);
    ck_assert_ptr_null(img.rgb);
    ck_assert_int_eq(img.width, 0);
    ck_assert_int_eq(img.height, 0);
}

void ti_assert_pixel(const scl_image *img, int x, int y, int r, int g, int b, int tol) {
    const unsigned char *p = img->rgb + ((size_t)y * img->width + x) * 3;
    EXPECT(abs(p[0] - r) <= tol && abs(p[1] - g) <= tol && abs(p[2] - b) <= tol,
           "pixel (%d,%d) = (%d,%d,%d), want (%d,%d,%d) +- %d", x, y, p[0], p[1], p[2], r, g, b,
           tol);
}

/* ---- encoders ------------------------------------------------------------------------------ */

static void png_put(png_structp png, png_bytep data, png_size_t len) {
    membuf *m = png_get_io_ptr(png);
    if (m->len + len > m->cap) {
        size_t cap = (m->cap ? m->cap * 2 : 4096) + len;
        unsigned char *p = realloc(m->p, cap);
        if (!p) png_error(png, "out of memory");
        m->p = p;
        m->cap = cap;
    }
    memcpy(m->p + m->len, data, len);
    m->len += len;
}

static void png_flush_none(png_structp png) {
    (void)png;
}

/* Encodes with libpng's write API into *m (caller frees m->p). */
void ti_png_encode(const png_spec *s, membuf *m) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(png);
    png_infop info = png_create_info_struct(png);
    ck_assert_ptr_nonnull(info);
    png_bytep *rows = calloc((size_t)s->height, sizeof *rows);
    ck_assert_ptr_nonnull(rows);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        ck_abort_msg("libpng failed to write the test image");
    }
    memset(m, 0, sizeof *m);
    png_set_write_fn(png, m, png_put, png_flush_none);
    png_set_IHDR(png, info, (png_uint_32)s->width, (png_uint_32)s->height, s->bit_depth,
                 s->color_type, s->interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (s->palette) png_set_PLTE(png, info, s->palette, s->npalette);
    if (s->trns || s->trans_color) png_set_tRNS(png, info, s->trns, s->ntrns, s->trans_color);
    png_write_info(png, info);
    int channels = s->color_type == PNG_COLOR_TYPE_RGB          ? 3
                   : s->color_type == PNG_COLOR_TYPE_RGB_ALPHA  ? 4
                   : s->color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
                                                                : 1;
    size_t rowbytes = ((size_t)s->width * (size_t)channels * (size_t)s->bit_depth + 7) / 8;
    for (int y = 0; y < s->height; y++)
        rows[y] = (png_bytep)(s->rows + (size_t)y * rowbytes);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
}

/* Encodes with libjpeg's compress API into *m (caller frees m->p). The default error handler
 * exits, which in a test only turns a broken encoder into a failure. */
void ti_jpeg_encode(const jpeg_spec *s, membuf *m) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    unsigned char *out = NULL;
    unsigned long outlen = 0;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &outlen);
    c.image_width = (JDIMENSION)s->width;
    c.image_height = (JDIMENSION)s->height;
    c.input_components = s->components;
    c.in_color_space = s->in_space;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, s->jpeg_space);
    jpeg_set_quality(&c, s->quality, TRUE);
    if (s->progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(s->pixels + (size_t)c.next_scanline * (size_t)s->width *
                                                  (size_t)s->components);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    m->p = out;
    m->len = outlen;
    m->cap = outlen;
}

/* A smooth RGB test pattern: JPEG reproduces it closely. */
unsigned char *ti_gradient_rgb(int w, int h) {
    unsigned char *p = malloc((size_t)w * (size_t)h * 3);
    ck_assert_ptr_nonnull(p);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            unsigned char *q = p + ((size_t)y * w + x) * 3;
            q[0] = (unsigned char)(x * 255 / (w - 1));
            q[1] = (unsigned char)(y * 255 / (h - 1));
            q[2] = (unsigned char)(128 + (x - y) / 2);
        }
    }
    return p;
}
