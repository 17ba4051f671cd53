/* test_image.c: Check tests of host/image.c: decoding PNG, JPEG and PNM files written here from C,
 * the errors of bad files, and the resize / crop / normalise step against PIL + torchvision. */
#define _POSIX_C_SOURCE 200809L /* getpid, unlink */

#include "cli/image.h"

#include <check.h>
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>

/* Every passing ck_assert records a checkpoint with Check (a write to its pipe in fork mode), so
 * asserting each of 150k pixels costs seconds of system time: pixel loops use this, which only
 * costs anything when it fails. */
#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) ck_abort_msg(__VA_ARGS__);                                                    \
    } while (0)

/* ---- scratch files ------------------------------------------------------------------------- */

/* A per-process file name in $SCL_TEST_TMPDIR (or /tmp), so concurrent runs do not collide. */
static const char *tmp_path(const char *name) {
    static char buf[1024];
    const char *dir = getenv("SCL_TEST_TMPDIR");
    if (!dir || !dir[0]) dir = "/tmp";
    snprintf(buf, sizeof buf, "%s/scl_test_image_%ld_%s", dir, (long)getpid(), name);
    return buf;
}

static const char *tmp_dir(void) {
    const char *dir = getenv("SCL_TEST_TMPDIR");
    return dir && dir[0] ? dir : "/tmp";
}

static void write_bytes(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* Loads bytes written to a scratch file; the file is removed before returning. */
static scl_status load_bytes(const char *name, const void *data, size_t len, scl_image *img,
                             char *msg, size_t cap, char *path_out, size_t path_cap) {
    const char *path = tmp_path(name);
    if (path_out) snprintf(path_out, path_cap, "%s", path);
    write_bytes(path, data, len);
    scl_status st = scl_image_load(path, img, msg, cap);
    unlink(path);
    return st;
}

static void load_ok(const char *name, const void *data, size_t len, scl_image *img) {
    char msg[512];
    scl_status st = load_bytes(name, data, len, img, msg, sizeof msg, NULL, 0);
    ck_assert_msg(st == SCL_OK, "load %s: %d %s", name, (int)st, msg);
}

/* A failure must give the status, an empty image and a message that starts with the path. */
static void load_fails(const char *name, const void *data, size_t len, scl_status want,
                       const char *needle) {
    char msg[512], path[1024];
    scl_image img = {7, 7, (unsigned char *)&img};
    scl_status st = load_bytes(name, data, len, &img, msg, sizeof msg, path, sizeof path);
    ck_assert_msg(st == want, "%s: status %d, want %d (%s)", name, (int)st, (int)want, msg);
    ck_assert_msg(strncmp(msg, path, strlen(path)) == 0, "message lacks the path: %s", msg);
    ck_assert_msg(!needle || strstr(msg, needle), "message lacks '%s': %s", needle, msg);
    ck_assert_ptr_null(img.rgb);
    ck_assert_int_eq(img.width, 0);
    ck_assert_int_eq(img.height, 0);
}

static void assert_pixel(const scl_image *img, int x, int y, int r, int g, int b, int tol) {
    const unsigned char *p = img->rgb + ((size_t)y * img->width + x) * 3;
    EXPECT(abs(p[0] - r) <= tol && abs(p[1] - g) <= tol && abs(p[2] - b) <= tol,
           "pixel (%d,%d) = (%d,%d,%d), want (%d,%d,%d) +- %d", x, y, p[0], p[1], p[2], r, g, b,
           tol);
}

/* ---- encoders ------------------------------------------------------------------------------ */

typedef struct membuf {
    unsigned char *p;
    size_t len, cap;
} membuf;

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
static void png_encode(const png_spec *s, membuf *m) {
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

typedef struct jpeg_spec {
    int width, height, components, quality, progressive;
    J_COLOR_SPACE in_space, jpeg_space;
    const unsigned char *pixels; /* interleaved, `components` bytes a pixel */
} jpeg_spec;

/* Encodes with libjpeg's compress API into *m (caller frees m->p). The default error handler
 * exits, which in a test only turns a broken encoder into a failure. */
static void jpeg_encode(const jpeg_spec *s, membuf *m) {
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
static unsigned char *gradient_rgb(int w, int h) {
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

/* ---- PNM ----------------------------------------------------------------------------------- */

START_TEST(test_ppm_binary) {
    static const char hdr[] = "P6\n# a comment\n3 2\n255\n";
    unsigned char file[sizeof hdr - 1 + 18];
    memcpy(file, hdr, sizeof hdr - 1);
    for (int i = 0; i < 18; i++)
        file[sizeof hdr - 1 + i] = (unsigned char)(i * 14 + 1);
    scl_image img;
    load_ok("p6.ppm", file, sizeof file, &img);
    ck_assert_int_eq(img.width, 3);
    ck_assert_int_eq(img.height, 2);
    ck_assert_mem_eq(img.rgb, file + sizeof hdr - 1, 18);
    scl_image_free(&img);
    ck_assert_ptr_null(img.rgb);
    scl_image_free(&img); /* twice is harmless */
    scl_image_free(NULL);
}
END_TEST

START_TEST(test_ppm_ascii) {
    static const char file[] = "P3 # comment after the magic\n2 2 # size\n255\n"
                               "255 0 0   0 255 0\n# a row comment\n0 0 255\t 10 20 30\n";
    scl_image img;
    load_ok("p3.ppm", file, sizeof file - 1, &img);
    ck_assert_int_eq(img.width, 2);
    ck_assert_int_eq(img.height, 2);
    assert_pixel(&img, 0, 0, 255, 0, 0, 0);
    assert_pixel(&img, 1, 0, 0, 255, 0, 0);
    assert_pixel(&img, 0, 1, 0, 0, 255, 0);
    assert_pixel(&img, 1, 1, 10, 20, 30, 0);
    scl_image_free(&img);
}
END_TEST

START_TEST(test_pgm_gray_replicated) {
    static const unsigned char p5[] = "P5 3 1 255\n\x00\x80\xff";
    scl_image img;
    load_ok("p5.pgm", p5, sizeof p5 - 1, &img);
    ck_assert_int_eq(img.width, 3);
    ck_assert_int_eq(img.height, 1);
    assert_pixel(&img, 0, 0, 0, 0, 0, 0);
    assert_pixel(&img, 1, 0, 128, 128, 128, 0);
    assert_pixel(&img, 2, 0, 255, 255, 255, 0);
    scl_image_free(&img);

    static const char p2[] = "P2\n2 1\n255\n7 200\n";
    load_ok("p2.pgm", p2, sizeof p2 - 1, &img);
    assert_pixel(&img, 0, 0, 7, 7, 7, 0);
    assert_pixel(&img, 1, 0, 200, 200, 200, 0);
    scl_image_free(&img);
}
END_TEST

START_TEST(test_pnm_maxval) {
    /* 16-bit binary samples are big-endian; every maxval scales to 0..255 with rounding. */
    static const unsigned char p6[] = "P6 1 1 65535\n\xff\xff\x80\x00\x00\x00";
    scl_image img;
    load_ok("p6_16.ppm", p6, sizeof p6 - 1, &img);
    assert_pixel(&img, 0, 0, 255, 128, 0, 0); /* 32768 * 255 / 65535 = 127.5 -> 128 */
    scl_image_free(&img);

    static const char p3[] = "P3 1 1 15 15 8 1";
    load_ok("p3_15.ppm", p3, sizeof p3 - 1, &img);
    assert_pixel(&img, 0, 0, 255, 136, 17, 0);
    scl_image_free(&img);
}
END_TEST

START_TEST(test_pnm_errors) {
    static const char big[] = "P6 70000 1 255\n";
    load_fails("big.ppm", big, sizeof big - 1, SCL_ERROR_FILE_FORMAT, "absurd");
    static const char zero[] = "P6 0 5 255\n";
    load_fails("zero.ppm", zero, sizeof zero - 1, SCL_ERROR_FILE_FORMAT, "absurd");
    static const char trunc[] = "P6 4 4 255\nabc";
    load_fails("trunc.ppm", trunc, sizeof trunc - 1, SCL_ERROR_FILE_FORMAT, "truncated");
    static const char hdr[] = "P6 4 4";
    load_fails("hdr.ppm", hdr, sizeof hdr - 1, SCL_ERROR_FILE_FORMAT, "truncated");
    static const char over[] = "P3 1 1 100 1 2 101";
    load_fails("over.ppm", over, sizeof over - 1, SCL_ERROR_FILE_FORMAT, "maxval");
    static const char ascii_short[] = "P3 2 1 255 1 2 3 4 5 x";
    load_fails("short.ppm", ascii_short, sizeof ascii_short - 1, SCL_ERROR_FILE_FORMAT,
               "truncated");
    static const char maxval0[] = "P5 1 1 0\n\x00";
    load_fails("maxval0.pgm", maxval0, sizeof maxval0 - 1, SCL_ERROR_FILE_FORMAT, "maxval");
}
END_TEST

/* ---- PNG ----------------------------------------------------------------------------------- */

START_TEST(test_png_rgb_by_magic) {
    enum { W = 5, H = 4 };
    unsigned char px[W * H * 3];
    for (int i = 0; i < W * H * 3; i++)
        px[i] = (unsigned char)(i * 37 + 11);
    png_spec s = {
        .width = W, .height = H, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8, .rows = px};
    membuf m;
    png_encode(&s, &m);
    scl_image img;
    /* A PNG named .jpg: the magic bytes decide. */
    load_ok("really_png.jpg", m.p, m.len, &img);
    ck_assert_int_eq(img.width, W);
    ck_assert_int_eq(img.height, H);
    ck_assert_mem_eq(img.rgb, px, sizeof px);
    scl_image_free(&img);

    s.interlace = PNG_INTERLACE_ADAM7;
    free(m.p);
    png_encode(&s, &m);
    load_ok("adam7.png", m.p, m.len, &img);
    ck_assert_mem_eq(img.rgb, px, sizeof px);
    scl_image_free(&img);
    free(m.p);
}
END_TEST

START_TEST(test_png_alpha_dropped) {
    static const unsigned char rgba[] = {10, 20, 30, 0, 40, 50, 60, 128, 70, 80, 90, 255};
    png_spec s = {.width = 3,
                  .height = 1,
                  .color_type = PNG_COLOR_TYPE_RGB_ALPHA,
                  .bit_depth = 8,
                  .rows = rgba};
    membuf m;
    png_encode(&s, &m);
    scl_image img;
    load_ok("rgba.png", m.p, m.len, &img);
    assert_pixel(&img, 0, 0, 10, 20, 30, 0);
    assert_pixel(&img, 1, 0, 40, 50, 60, 0);
    assert_pixel(&img, 2, 0, 70, 80, 90, 0);
    scl_image_free(&img);
    free(m.p);

    static const unsigned char ga[] = {5, 0, 250, 99};
    png_spec g = {.width = 2,
                  .height = 1,
                  .color_type = PNG_COLOR_TYPE_GRAY_ALPHA,
                  .bit_depth = 8,
                  .rows = ga};
    png_encode(&g, &m);
    load_ok("ga.png", m.p, m.len, &img);
    assert_pixel(&img, 0, 0, 5, 5, 5, 0);
    assert_pixel(&img, 1, 0, 250, 250, 250, 0);
    scl_image_free(&img);
    free(m.p);
}
END_TEST

START_TEST(test_png_palette) {
    static const png_color pal[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {12, 34, 56}};
    static const unsigned char trns[4] = {255, 0, 128, 255}; /* transparency is dropped too */
    /* 2-bit indices 0,1,2,3,3 packed MSB first: 00 01 10 11 | 11 000000 */
    static const unsigned char idx2[] = {0x1b, 0xc0};
    png_spec s = {.width = 5,
                  .height = 1,
                  .color_type = PNG_COLOR_TYPE_PALETTE,
                  .bit_depth = 2,
                  .rows = idx2,
                  .palette = pal,
                  .npalette = 4,
                  .trns = trns,
                  .ntrns = 4};
    membuf m;
    png_encode(&s, &m);
    scl_image img;
    load_ok("pal2.png", m.p, m.len, &img);
    ck_assert_int_eq(img.width, 5);
    assert_pixel(&img, 0, 0, 255, 0, 0, 0);
    assert_pixel(&img, 1, 0, 0, 255, 0, 0);
    assert_pixel(&img, 2, 0, 0, 0, 255, 0);
    assert_pixel(&img, 3, 0, 12, 34, 56, 0);
    assert_pixel(&img, 4, 0, 12, 34, 56, 0);
    scl_image_free(&img);
    free(m.p);

    static const unsigned char idx8[] = {3, 2, 1, 0};
    png_spec s8 = {.width = 2,
                   .height = 2,
                   .color_type = PNG_COLOR_TYPE_PALETTE,
                   .bit_depth = 8,
                   .rows = idx8,
                   .palette = pal,
                   .npalette = 4};
    png_encode(&s8, &m);
    load_ok("pal8.png", m.p, m.len, &img);
    assert_pixel(&img, 0, 0, 12, 34, 56, 0);
    assert_pixel(&img, 1, 0, 0, 0, 255, 0);
    assert_pixel(&img, 0, 1, 0, 255, 0, 0);
    assert_pixel(&img, 1, 1, 255, 0, 0, 0);
    scl_image_free(&img);
    free(m.p);
}
END_TEST

START_TEST(test_png_gray_depths) {
    scl_image img;
    membuf m;
    /* 1 bit: 1,0,1 -> 255,0,255 */
    static const unsigned char g1[] = {0xa0};
    png_spec s1 = {
        .width = 3, .height = 1, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 1, .rows = g1};
    png_encode(&s1, &m);
    load_ok("g1.png", m.p, m.len, &img);
    assert_pixel(&img, 0, 0, 255, 255, 255, 0);
    assert_pixel(&img, 1, 0, 0, 0, 0, 0);
    assert_pixel(&img, 2, 0, 255, 255, 255, 0);
    scl_image_free(&img);
    free(m.p);
    /* 4 bit: 0x5, 0xa -> 0x55, 0xaa (bit replication) */
    static const unsigned char g4[] = {0x5a};
    png_spec s4 = {
        .width = 2, .height = 1, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 4, .rows = g4};
    png_encode(&s4, &m);
    load_ok("g4.png", m.p, m.len, &img);
    assert_pixel(&img, 0, 0, 0x55, 0x55, 0x55, 0);
    assert_pixel(&img, 1, 0, 0xaa, 0xaa, 0xaa, 0);
    scl_image_free(&img);
    free(m.p);
    /* 4 bit with a transparent gray level: transparency is dropped */
    static const unsigned char g4t[] = {0x5a};
    png_color_16 tcol = {0, 0, 0, 0, 5};
    png_spec s4t = {.width = 2,
                    .height = 1,
                    .color_type = PNG_COLOR_TYPE_GRAY,
                    .bit_depth = 4,
                    .rows = g4t,
                    .trans_color = &tcol};
    png_encode(&s4t, &m);
    load_ok("g4t.png", m.p, m.len, &img);
    assert_pixel(&img, 0, 0, 0x55, 0x55, 0x55, 0);
    assert_pixel(&img, 1, 0, 0xaa, 0xaa, 0xaa, 0);
    scl_image_free(&img);
    free(m.p);
    /* 8 bit */
    static const unsigned char g8[] = {1, 2, 254, 3};
    png_spec s8 = {
        .width = 2, .height = 2, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8, .rows = g8};
    png_encode(&s8, &m);
    load_ok("g8.png", m.p, m.len, &img);
    assert_pixel(&img, 0, 0, 1, 1, 1, 0);
    assert_pixel(&img, 1, 0, 2, 2, 2, 0);
    assert_pixel(&img, 0, 1, 254, 254, 254, 0);
    assert_pixel(&img, 1, 1, 3, 3, 3, 0);
    scl_image_free(&img);
    free(m.p);
    /* 16 bit, big-endian: the high byte is kept */
    static const unsigned char g16[] = {0x12, 0xab, 0xff, 0x00};
    png_spec s16 = {
        .width = 2, .height = 1, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 16, .rows = g16};
    png_encode(&s16, &m);
    load_ok("g16.png", m.p, m.len, &img);
    assert_pixel(&img, 0, 0, 0x12, 0x12, 0x12, 0);
    assert_pixel(&img, 1, 0, 0xff, 0xff, 0xff, 0);
    scl_image_free(&img);
    free(m.p);
}
END_TEST

START_TEST(test_png_16bit_rgb) {
    static const unsigned char px[] = {0x01, 0xff, 0x80, 0x00, 0xfe, 0x01,
                                       0xff, 0xff, 0x00, 0x00, 0x7f, 0x80};
    png_spec s = {
        .width = 2, .height = 1, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 16, .rows = px};
    membuf m;
    png_encode(&s, &m);
    scl_image img;
    load_ok("rgb16.png", m.p, m.len, &img);
    assert_pixel(&img, 0, 0, 0x01, 0x80, 0xfe, 0);
    assert_pixel(&img, 1, 0, 0xff, 0x00, 0x7f, 0);
    scl_image_free(&img);
    free(m.p);

    static const unsigned char px16a[] = {0x40, 0x00, 0x20, 0x00, 0x10, 0x00, 0x00, 0x00};
    png_spec sa = {.width = 1,
                   .height = 1,
                   .color_type = PNG_COLOR_TYPE_RGB_ALPHA,
                   .bit_depth = 16,
                   .rows = px16a};
    png_encode(&sa, &m);
    load_ok("rgba16.png", m.p, m.len, &img);
    assert_pixel(&img, 0, 0, 0x40, 0x20, 0x10, 0);
    scl_image_free(&img);
    free(m.p);
}
END_TEST

/* The offset of the first byte of the data of the first chunk of `type`, or 0. */
static size_t png_chunk_data(const membuf *m, const char *type) {
    size_t pos = 8;
    while (pos + 12 <= m->len) {
        size_t len = ((size_t)m->p[pos] << 24) | ((size_t)m->p[pos + 1] << 16) |
                     ((size_t)m->p[pos + 2] << 8) | m->p[pos + 3];
        if (memcmp(m->p + pos + 4, type, 4) == 0) return pos + 8;
        pos += 12 + len;
    }
    return 0;
}

START_TEST(test_png_errors) {
    enum { W = 40, H = 30 };
    unsigned char *px = gradient_rgb(W, H);
    png_spec s = {
        .width = W, .height = H, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8, .rows = px};
    membuf m;
    png_encode(&s, &m);

    load_fails("half.png", m.p, m.len / 2, SCL_ERROR_FILE_FORMAT, "PNG");
    load_fails("noend.png", m.p, m.len - 12, SCL_ERROR_FILE_FORMAT, "PNG"); /* IEND cut */
    load_fails("sig.png", m.p, 8, SCL_ERROR_FILE_FORMAT, "PNG");

    size_t idat = png_chunk_data(&m, "IDAT");
    ck_assert_uint_gt(idat, 0);
    m.p[idat + 5] ^= 0x55; /* zlib or the CRC check catches it, whichever reads it first */
    load_fails("corrupt.png", m.p, m.len, SCL_ERROR_FILE_FORMAT, "corrupt PNG");
    m.p[idat + 5] ^= 0x55;
    m.p[8 + 8 + 13] ^= 0x01; /* IHDR's CRC */
    load_fails("crc.png", m.p, m.len, SCL_ERROR_FILE_FORMAT, "CRC");
    m.p[8 + 8 + 13] ^= 0x01;
    m.p[8 + 8 + 9] = 7; /* colour type 7 does not exist */
    load_fails("ctype.png", m.p, m.len, SCL_ERROR_FILE_FORMAT, "corrupt PNG");
    free(m.p);
    free(px);

    /* 70000 x 1 is a valid PNG of absurd width for a classifier. */
    unsigned char *wide = calloc(70000 / 8 + 1, 1);
    ck_assert_ptr_nonnull(wide);
    png_spec w = {.width = 70000,
                  .height = 1,
                  .color_type = PNG_COLOR_TYPE_GRAY,
                  .bit_depth = 1,
                  .rows = wide};
    png_encode(&w, &m);
    load_fails("wide.png", m.p, m.len, SCL_ERROR_FILE_FORMAT, "absurd");
    free(m.p);
    free(wide);
}
END_TEST

/* ---- JPEG ---------------------------------------------------------------------------------- */

/* The largest per-sample difference and the mean one. */
static void compare_rgb(const unsigned char *a, const unsigned char *b, size_t n, int *max_diff,
                        double *mean_diff) {
    long sum = 0;
    *max_diff = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs(a[i] - b[i]);
        sum += d;
        if (d > *max_diff) *max_diff = d;
    }
    *mean_diff = (double)sum / (double)n;
}

START_TEST(test_jpeg_rgb) {
    enum { W = 64, H = 48 };
    unsigned char *px = gradient_rgb(W, H);
    for (int progressive = 0; progressive < 2; progressive++) {
        jpeg_spec s = {W, H, 3, 95, progressive, JCS_RGB, JCS_YCbCr, px};
        membuf m;
        jpeg_encode(&s, &m);
        scl_image img;
        load_ok(progressive ? "prog.jpg" : "rgb.jpg", m.p, m.len, &img);
        ck_assert_int_eq(img.width, W);
        ck_assert_int_eq(img.height, H);
        int max_diff;
        double mean_diff;
        compare_rgb(img.rgb, px, (size_t)W * H * 3, &max_diff, &mean_diff);
        ck_assert_msg(max_diff <= 12 && mean_diff <= 2.0, "JPEG error max %d mean %.2f", max_diff,
                      mean_diff);
        scl_image_free(&img);
        free(m.p);
    }
    free(px);
}
END_TEST

START_TEST(test_jpeg_gray) {
    enum { W = 32, H = 16 };
    unsigned char gray[W * H];
    for (int i = 0; i < W * H; i++)
        gray[i] = (unsigned char)((i % W) * 8);
    jpeg_spec s = {W, H, 1, 95, 0, JCS_GRAYSCALE, JCS_GRAYSCALE, gray};
    membuf m;
    jpeg_encode(&s, &m);
    scl_image img;
    load_ok("gray.jpg", m.p, m.len, &img);
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            const unsigned char *p = img.rgb + ((size_t)y * W + x) * 3;
            EXPECT(p[0] == p[1] && p[1] == p[2] && abs(p[0] - gray[y * W + x]) <= 8,
                   "gray at %d,%d: %d %d %d, want %d", x, y, p[0], p[1], p[2], gray[y * W + x]);
        }
    }
    scl_image_free(&img);
    free(m.p);
}
END_TEST

START_TEST(test_jpeg_cmyk) {
    /* libjpeg writes CMYK with an Adobe marker, which readers take as Photoshop's inverted
     * CMYK (255 = no ink): RGB = C * K / 255 on the stored values. Four flat 16x16 quadrants. */
    enum { W = 32, H = 32 };
    static const unsigned char quad[4][4] = {
        {255, 128, 0, 255}, {0, 255, 255, 255}, {255, 255, 255, 128}, {200, 100, 50, 0}};
    static const int want[4][3] = {{255, 128, 0}, {0, 255, 255}, {128, 128, 128}, {0, 0, 0}};
    unsigned char px[W * H * 4];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            memcpy(px + (y * W + x) * 4, quad[(y / 16) * 2 + x / 16], 4);
    jpeg_spec s = {W, H, 4, 100, 0, JCS_CMYK, JCS_CMYK, px};
    membuf m;
    jpeg_encode(&s, &m);
    scl_image img;
    load_ok("cmyk.jpg", m.p, m.len, &img);
    for (int q = 0; q < 4; q++)
        assert_pixel(&img, (q % 2) * 16 + 8, (q / 2) * 16 + 8, want[q][0], want[q][1], want[q][2],
                     3);
    scl_image_free(&img);
    free(m.p);
}
END_TEST

/* The offset of the SOF segment's marker (FF C0..C2), walking the segments after SOI; 0 if none. */
static size_t jpeg_find_sof(const membuf *m) {
    size_t pos = 2;
    while (pos + 4 <= m->len && m->p[pos] == 0xff) {
        unsigned char t = m->p[pos + 1];
        if (t >= 0xc0 && t <= 0xc2) return pos;
        pos += 2 + (((size_t)m->p[pos + 2] << 8) | m->p[pos + 3]);
    }
    return 0;
}

START_TEST(test_jpeg_errors) {
    enum { W = 64, H = 48 };
    unsigned char *px = gradient_rgb(W, H);
    jpeg_spec s = {W, H, 3, 90, 0, JCS_RGB, JCS_YCbCr, px};
    membuf m;
    jpeg_encode(&s, &m);

    load_fails("cut.jpg", m.p, m.len * 6 / 10, SCL_ERROR_FILE_FORMAT, "Premature end");
    load_fails("noeoi.jpg", m.p, m.len - 2, SCL_ERROR_FILE_FORMAT, "JPEG");
    load_fails("soi.jpg", m.p, 20, SCL_ERROR_FILE_FORMAT, "JPEG");

    size_t sof = jpeg_find_sof(&m);
    ck_assert_uint_gt(sof, 0);
    m.p[sof + 5] = 0; /* height 0 */
    m.p[sof + 6] = 0;
    load_fails("h0.jpg", m.p, m.len, SCL_ERROR_FILE_FORMAT, "corrupt JPEG");
    m.p[sof + 2] = 0; /* a segment length of 2: too short for an SOF */
    m.p[sof + 3] = 2;
    load_fails("sof.jpg", m.p, m.len, SCL_ERROR_FILE_FORMAT, "corrupt JPEG");
    free(m.p);
    free(px);
}
END_TEST

/* ---- files and arguments ------------------------------------------------------------------- */

START_TEST(test_file_errors) {
    char msg[512];
    scl_image img;
    const char *missing = tmp_path("does_not_exist.png");
    ck_assert_int_eq(scl_image_load(missing, &img, msg, sizeof msg), SCL_ERROR_FILE_IO);
    ck_assert_msg(strncmp(msg, missing, strlen(missing)) == 0, "%s", msg);
    ck_assert_ptr_null(img.rgb);

    const char *dir = tmp_dir();
    ck_assert_int_eq(scl_image_load(dir, &img, msg, sizeof msg), SCL_ERROR_FILE_IO);
    ck_assert_msg(strncmp(msg, dir, strlen(dir)) == 0, "%s", msg);

    load_fails("empty.png", "", 0, SCL_ERROR_FILE_FORMAT, "empty");
    static const char gif[] = "GIF89a\x01\x00\x01\x00";
    load_fails("a.gif", gif, sizeof gif - 1, SCL_ERROR_FILE_FORMAT, "not a PNG, JPEG or PPM image");
    load_fails("p4.pbm", "P4 1 1\n\x80", 8, SCL_ERROR_FILE_FORMAT, "not a PNG");
    load_fails("x", "\xff\xd8", 2, SCL_ERROR_FILE_FORMAT, "not a PNG");

    /* A NULL message buffer is allowed; NULL path or image is an argument error. */
    ck_assert_int_eq(scl_image_load(missing, &img, NULL, 0), SCL_ERROR_FILE_IO);
    ck_assert_int_eq(scl_image_load(NULL, &img, msg, sizeof msg), SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(scl_image_load(missing, NULL, msg, sizeof msg), SCL_ERROR_INVALID_ARGUMENT);
    /* A tiny buffer is truncated, not overrun. */
    char tiny[4] = {'x', 'x', 'x', 'x'};
    ck_assert_int_eq(scl_image_load(missing, &img, tiny, 3), SCL_ERROR_FILE_IO);
    ck_assert_int_eq(tiny[2], '\0');
    ck_assert_int_eq(tiny[3], 'x');
}
END_TEST

/* ---- preprocessing ------------------------------------------------------------------------- */

static const float k_mean[3] = {0.485f, 0.456f, 0.406f};
static const float k_std[3] = {0.229f, 0.224f, 0.225f};

static float normalised(int c, int v) {
    return ((float)v / 255.0f - k_mean[c]) / k_std[c];
}

static scl_image make_image(int w, int h) {
    scl_image img = {w, h, malloc((size_t)w * (size_t)h * 3)};
    ck_assert_ptr_nonnull(img.rgb);
    return img;
}

START_TEST(test_preprocess_constant) {
    /* Downscaled, upscaled and same-size short sides: a flat colour stays exactly flat. */
    static const int sizes[][2] = {{300, 200}, {50, 80}, {256, 256}, {640, 256}};
    static const unsigned char rgb[3] = {200, 100, 37};
    enum { C = 224 };
    float *out = malloc(sizeof(float) * 3 * C * C);
    ck_assert_ptr_nonnull(out);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        scl_image img = make_image(sizes[s][0], sizes[s][1]);
        for (size_t i = 0; i < (size_t)img.width * img.height; i++)
            memcpy(img.rgb + 3 * i, rgb, 3);
        char msg[256];
        ck_assert_int_eq(
            scl_image_preprocess(&img, 256, C, SCL_PREPROCESS_TORCHVISION, out, msg, sizeof msg),
            SCL_OK);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < C * C; i++)
                EXPECT(out[c * C * C + i] == normalised(c, rgb[c]),
                       "torchvision %dx%d c%d i%d: %.9g != %.9g", img.width, img.height, c, i,
                       out[c * C * C + i], normalised(c, rgb[c]));
        ck_assert_int_eq(
            scl_image_preprocess(&img, 256, C, SCL_PREPROCESS_MEGVII, out, msg, sizeof msg),
            SCL_OK);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < C * C; i++)
                EXPECT(out[c * C * C + i] == (float)rgb[2 - c], "megvii c%d i%d: %g", c, i,
                       out[c * C * C + i]); /* BGR */
        scl_image_free(&img);
    }
    free(out);
}
END_TEST

/* Fills the left `split` columns (or top rows) red and the rest blue. */
static scl_image make_split(int w, int h, int split, int vertical_edge) {
    scl_image img = make_image(w, h);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            int red = vertical_edge ? x < split : y < split;
            unsigned char *p = img.rgb + ((size_t)y * w + x) * 3;
            p[0] = red ? 255 : 0;
            p[1] = 0;
            p[2] = red ? 0 : 255;
        }
    }
    return img;
}

START_TEST(test_preprocess_geometry) {
    /* 512x300 -> 436x256 (int(256 * 512 / 300)), crop left = round(212 / 2) = 106. The edge at
     * input column 256 lands at resized column 218, crop column 112; the antialiasing filter of
     * this 1.17x downscale blurs about 2 columns either side. */
    enum { C = 224, BAND = 3 };
    float *out = malloc(sizeof(float) * 3 * C * C);
    ck_assert_ptr_nonnull(out);
    for (int vertical_edge = 1; vertical_edge >= 0; vertical_edge--) {
        scl_image img = vertical_edge ? make_split(512, 300, 256, 1) : make_split(300, 512, 256, 0);
        ck_assert_int_eq(scl_image_preprocess(&img, 256, C, SCL_PREPROCESS_MEGVII, out, NULL, 0),
                         SCL_OK);
        for (int y = 0; y < C; y++) {
            for (int x = 0; x < C; x++) {
                int along = vertical_edge ? x : y; /* the coordinate across the edge */
                float b = out[0 * C * C + y * C + x], g = out[1 * C * C + y * C + x],
                      r = out[2 * C * C + y * C + x];
                EXPECT(g == 0.0f, "green at %d,%d", x, y);
                if (along < 112 - BAND)
                    EXPECT(r == 255.0f && b == 0.0f, "not red at %d,%d: %g %g", x, y, r, b);
                else if (along >= 112 + BAND)
                    EXPECT(r == 0.0f && b == 255.0f, "not blue at %d,%d: %g %g", x, y, r, b);
                else
                    EXPECT(r + b >= 254.0f && r + b <= 256.0f, "band at %d: %g + %g", along, r, b);
            }
        }
        /* The blur band is there, centred on the edge. */
        int mid = vertical_edge ? 100 * C + 112 : 112 * C + 100;
        EXPECT(out[2 * C * C + mid - (vertical_edge ? 1 : C)] > 128.0f, "red fades too early");
        EXPECT(out[2 * C * C + mid] < 128.0f, "red fades too late");
        scl_image_free(&img);
    }
    free(out);
}
END_TEST

START_TEST(test_preprocess_crop_offset) {
    /* No resize (short side already 256); crop offsets follow Python's round half to even:
     * (257 - 224) / 2 = 16.5 -> 16, (259 - 224) / 2 = 17.5 -> 18, (256 - 224) / 2 = 16. */
    static const int widths[2] = {257, 259}, first[2] = {16, 18};
    enum { C = 224 };
    float *out = malloc(sizeof(float) * 3 * C * C);
    ck_assert_ptr_nonnull(out);
    for (int k = 0; k < 2; k++) {
        scl_image img = make_image(widths[k], 256);
        for (int y = 0; y < img.height; y++) {
            for (int x = 0; x < img.width; x++) {
                unsigned char *p = img.rgb + ((size_t)y * img.width + x) * 3;
                p[0] = (unsigned char)x; /* below 256 in every column the crop keeps */
                p[1] = (unsigned char)y;
                p[2] = 9;
            }
        }
        ck_assert_int_eq(scl_image_preprocess(&img, 256, C, SCL_PREPROCESS_MEGVII, out, NULL, 0),
                         SCL_OK);
        for (int y = 0; y < C; y++) {
            for (int x = 0; x < C; x++) {
                float r = out[2 * C * C + y * C + x], g = out[1 * C * C + y * C + x],
                      b = out[0 * C * C + y * C + x];
                EXPECT(r == (float)(first[k] + x) && g == (float)(16 + y) && b == 9.0f,
                       "width %d at %d,%d: %g %g %g", widths[k], x, y, r, g, b);
            }
        }
        scl_image_free(&img);
    }
    free(out);
}
END_TEST

/* The synthetic image of the PIL comparison: horizontal and vertical ramps in red and green and
 * a `cell`-pixel checkerboard in blue, whose edges show any difference in the filter. */
static scl_image make_synthetic(int w, int h, int cell) {
    scl_image img = make_image(w, h);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            unsigned char *p = img.rgb + ((size_t)y * w + x) * 3;
            p[0] = (unsigned char)(x * 255 / (w - 1));
            p[1] = (unsigned char)(y * 255 / (h - 1));
            p[2] = (unsigned char)(((x / cell + y / cell) % 2) * 255);
        }
    }
    return img;
}

START_TEST(test_preprocess_matches_pil) {
    /* Reference numbers from Debian 12's /usr/bin/python3 (PIL 9.4.0, torchvision 0.14.1):
     *   y, x = np.mgrid[0:h, 0:w]
     *   a = np.stack([x * 255 // (w - 1), y * 255 // (h - 1),
     *                 ((x // cell + y // cell) % 2) * 255], -1).astype(np.uint8)
     *   t = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
     *                  T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])(
     *           Image.fromarray(a, "RGB"))
     *   t.mean(dim=(1, 2)); t[c, y, x] for the points below.
     * 400x300 is a mild downscale, 1000x750 a strong one (the antialiasing filter is ~6 taps
     * wide), 120x90 an upscale. The implementation matches PIL exactly; the tolerance is the
     * brief's 2/255 before normalisation. */
    static const struct {
        int w, h, cell;
        float mean[3];
        float pts[7];
    } ref[] = {
        {400,
         300,
         8,
         {0.050594f, 0.187675f, 0.417665f},
         {-1.381540f, -1.580532f, 0.426493f, 2.640000f, 1.478294f, -0.022409f, -1.804444f}},
        {1000,
         750,
         4,
         {0.050518f, 0.187675f, 0.417825f},
         {-1.381540f, -1.580532f, 0.426493f, 0.775076f, 1.478294f, -0.004902f, 0.844793f}},
        {120,
         90,
         6,
         {0.051588f, 0.187675f, 0.417154f},
         {-1.398664f, -1.615546f, 0.426493f, 2.640000f, 1.495419f, -0.022409f, 2.640000f}},
    };
    static const int pts[7][3] = {{0, 0, 0},     {1, 10, 200}, {2, 112, 112}, {2, 37, 150},
                                  {0, 223, 223}, {1, 100, 5},  {2, 5, 90}};
    enum { C = 224 };
    float *out = malloc(sizeof(float) * 3 * C * C);
    ck_assert_ptr_nonnull(out);
    for (size_t r = 0; r < sizeof ref / sizeof ref[0]; r++) {
        scl_image img = make_synthetic(ref[r].w, ref[r].h, ref[r].cell);
        ck_assert_int_eq(
            scl_image_preprocess(&img, 256, C, SCL_PREPROCESS_TORCHVISION, out, NULL, 0), SCL_OK);
        for (int c = 0; c < 3; c++) {
            double sum = 0;
            for (int i = 0; i < C * C; i++)
                sum += out[c * C * C + i];
            float tol = (2.0f / 255.0f) / k_std[c];
            ck_assert_msg(fabs(sum / (C * C) - ref[r].mean[c]) < tol,
                          "%dx%d mean of channel %d: %g, PIL %g", ref[r].w, ref[r].h, c,
                          sum / (C * C), ref[r].mean[c]);
        }
        for (int p = 0; p < 7; p++) {
            int c = pts[p][0], y = pts[p][1], x = pts[p][2];
            float got = out[c * C * C + y * C + x];
            ck_assert_msg(fabsf(got - ref[r].pts[p]) < (2.0f / 255.0f) / k_std[c],
                          "%dx%d [%d,%d,%d]: %g, PIL %g", ref[r].w, ref[r].h, c, y, x, got,
                          ref[r].pts[p]);
        }
        scl_image_free(&img);
    }
    free(out);
}
END_TEST

START_TEST(test_preprocess_arguments) {
    scl_image img = make_image(8, 8);
    memset(img.rgb, 0, 8 * 8 * 3);
    float out[3 * 4 * 4];
    char msg[256];
    ck_assert_int_eq(
        scl_image_preprocess(&img, 4, 5, SCL_PREPROCESS_TORCHVISION, out, msg, sizeof msg),
        SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(msg, "crop"));
    ck_assert_int_eq(scl_image_preprocess(&img, 0, 0, SCL_PREPROCESS_TORCHVISION, out, NULL, 0),
                     SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(scl_image_preprocess(&img, 4, 4, (scl_preprocess)7, out, NULL, 0),
                     SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(scl_image_preprocess(NULL, 4, 4, SCL_PREPROCESS_MEGVII, out, NULL, 0),
                     SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(scl_image_preprocess(&img, 4, 4, SCL_PREPROCESS_MEGVII, NULL, NULL, 0),
                     SCL_ERROR_INVALID_ARGUMENT);
    scl_image empty = {0, 0, NULL};
    ck_assert_int_eq(scl_image_preprocess(&empty, 4, 4, SCL_PREPROCESS_MEGVII, out, NULL, 0),
                     SCL_ERROR_INVALID_ARGUMENT);
    /* A 1x1 image is upscaled to anything; crop == resize is fine. */
    scl_image one = make_image(1, 1);
    one.rgb[0] = 1, one.rgb[1] = 2, one.rgb[2] = 3;
    ck_assert_int_eq(scl_image_preprocess(&one, 4, 4, SCL_PREPROCESS_MEGVII, out, NULL, 0), SCL_OK);
    for (int i = 0; i < 16; i++) {
        ck_assert_float_eq(out[i], 3.0f);
        ck_assert_float_eq(out[16 + i], 2.0f);
        ck_assert_float_eq(out[32 + i], 1.0f);
    }
    scl_image_free(&one);
    scl_image_free(&img);
}
END_TEST

/* ---- runner -------------------------------------------------------------------------------- */

static Suite *image_suite(void) {
    Suite *s = suite_create("image");
    TCase *load = tcase_create("load");
    tcase_set_timeout(load, 60); /* generous for valgrind */
    tcase_add_test(load, test_ppm_binary);
    tcase_add_test(load, test_ppm_ascii);
    tcase_add_test(load, test_pgm_gray_replicated);
    tcase_add_test(load, test_pnm_maxval);
    tcase_add_test(load, test_pnm_errors);
    tcase_add_test(load, test_png_rgb_by_magic);
    tcase_add_test(load, test_png_alpha_dropped);
    tcase_add_test(load, test_png_palette);
    tcase_add_test(load, test_png_gray_depths);
    tcase_add_test(load, test_png_16bit_rgb);
    tcase_add_test(load, test_png_errors);
    tcase_add_test(load, test_jpeg_rgb);
    tcase_add_test(load, test_jpeg_gray);
    tcase_add_test(load, test_jpeg_cmyk);
    tcase_add_test(load, test_jpeg_errors);
    tcase_add_test(load, test_file_errors);
    suite_add_tcase(s, load);

    TCase *pre = tcase_create("preprocess");
    tcase_set_timeout(pre, 60); /* generous for valgrind */
    tcase_add_test(pre, test_preprocess_constant);
    tcase_add_test(pre, test_preprocess_geometry);
    tcase_add_test(pre, test_preprocess_crop_offset);
    tcase_add_test(pre, test_preprocess_matches_pil);
    tcase_add_test(pre, test_preprocess_arguments);
    suite_add_tcase(s, pre);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(image_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
