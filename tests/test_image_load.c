/* test_image_load.c: Check tests of host/cli/image.c's decoders: PNG, JPEG and PNM files written
 * here from C, and the errors of bad files and bad arguments. */
#include "testutil_image.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

/* ---- PNM ----------------------------------------------------------------------------------- */

START_TEST(test_ppm_binary) {
    static const char hdr[] = "P6\n# a comment\n3 2\n255\n";
    unsigned char file[sizeof hdr - 1 + 18];
    memcpy(file, hdr, sizeof hdr - 1);
    for (int i = 0; i < 18; i++)
        file[sizeof hdr - 1 + i] = (unsigned char)(i * 14 + 1);
    scl_image img;
    ti_load_ok("p6.ppm", file, sizeof file, &img);
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
    ti_load_ok("p3.ppm", file, sizeof file - 1, &img);
    ck_assert_int_eq(img.width, 2);
    ck_assert_int_eq(img.height, 2);
    ti_assert_pixel(&img, 0, 0, 255, 0, 0, 0);
    ti_assert_pixel(&img, 1, 0, 0, 255, 0, 0);
    ti_assert_pixel(&img, 0, 1, 0, 0, 255, 0);
    ti_assert_pixel(&img, 1, 1, 10, 20, 30, 0);
    scl_image_free(&img);
}
END_TEST

START_TEST(test_pgm_gray_replicated) {
    static const unsigned char p5[] = "P5 3 1 255\n\x00\x80\xff";
    scl_image img;
    ti_load_ok("p5.pgm", p5, sizeof p5 - 1, &img);
    ck_assert_int_eq(img.width, 3);
    ck_assert_int_eq(img.height, 1);
    ti_assert_pixel(&img, 0, 0, 0, 0, 0, 0);
    ti_assert_pixel(&img, 1, 0, 128, 128, 128, 0);
    ti_assert_pixel(&img, 2, 0, 255, 255, 255, 0);
    scl_image_free(&img);

    static const char p2[] = "P2\n2 1\n255\n7 200\n";
    ti_load_ok("p2.pgm", p2, sizeof p2 - 1, &img);
    ti_assert_pixel(&img, 0, 0, 7, 7, 7, 0);
    ti_assert_pixel(&img, 1, 0, 200, 200, 200, 0);
    scl_image_free(&img);
}
END_TEST

START_TEST(test_pnm_maxval) {
    /* 16-bit binary samples are big-endian; every maxval scales to 0..255 with rounding. */
    static const unsigned char p6[] = "P6 1 1 65535\n\xff\xff\x80\x00\x00\x00";
    scl_image img;
    ti_load_ok("p6_16.ppm", p6, sizeof p6 - 1, &img);
    ti_assert_pixel(&img, 0, 0, 255, 128, 0, 0); /* 32768 * 255 / 65535 = 127.5 -> 128 */
    scl_image_free(&img);

    static const char p3[] = "P3 1 1 15 15 8 1";
    ti_load_ok("p3_15.ppm", p3, sizeof p3 - 1, &img);
    ti_assert_pixel(&img, 0, 0, 255, 136, 17, 0);
    scl_image_free(&img);
}
END_TEST

START_TEST(test_pnm_errors) {
    static const char big[] = "P6 70000 1 255\n";
    ti_load_fails("big.ppm", big, sizeof big - 1, SCL_ERROR_FILE_FORMAT, "absurd");
    static const char zero[] = "P6 0 5 255\n";
    ti_load_fails("zero.ppm", zero, sizeof zero - 1, SCL_ERROR_FILE_FORMAT, "absurd");
    static const char trunc[] = "P6 4 4 255\nabc";
    ti_load_fails("trunc.ppm", trunc, sizeof trunc - 1, SCL_ERROR_FILE_FORMAT, "truncated");
    static const char hdr[] = "P6 4 4";
    ti_load_fails("hdr.ppm", hdr, sizeof hdr - 1, SCL_ERROR_FILE_FORMAT, "truncated");
    static const char over[] = "P3 1 1 100 1 2 101";
    ti_load_fails("over.ppm", over, sizeof over - 1, SCL_ERROR_FILE_FORMAT, "maxval");
    static const char ascii_short[] = "P3 2 1 255 1 2 3 4 5 x";
    ti_load_fails("short.ppm", ascii_short, sizeof ascii_short - 1, SCL_ERROR_FILE_FORMAT,
                  "truncated");
    static const char maxval0[] = "P5 1 1 0\n\x00";
    ti_load_fails("maxval0.pgm", maxval0, sizeof maxval0 - 1, SCL_ERROR_FILE_FORMAT, "maxval");
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
    ti_png_encode(&s, &m);
    scl_image img;
    /* A PNG named .jpg: the magic bytes decide. */
    ti_load_ok("really_png.jpg", m.p, m.len, &img);
    ck_assert_int_eq(img.width, W);
    ck_assert_int_eq(img.height, H);
    ck_assert_mem_eq(img.rgb, px, sizeof px);
    scl_image_free(&img);

    s.interlace = PNG_INTERLACE_ADAM7;
    free(m.p);
    ti_png_encode(&s, &m);
    ti_load_ok("adam7.png", m.p, m.len, &img);
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
    ti_png_encode(&s, &m);
    scl_image img;
    ti_load_ok("rgba.png", m.p, m.len, &img);
    ti_assert_pixel(&img, 0, 0, 10, 20, 30, 0);
    ti_assert_pixel(&img, 1, 0, 40, 50, 60, 0);
    ti_assert_pixel(&img, 2, 0, 70, 80, 90, 0);
    scl_image_free(&img);
    free(m.p);

    static const unsigned char ga[] = {5, 0, 250, 99};
    png_spec g = {.width = 2,
                  .height = 1,
                  .color_type = PNG_COLOR_TYPE_GRAY_ALPHA,
                  .bit_depth = 8,
                  .rows = ga};
    ti_png_encode(&g, &m);
    ti_load_ok("ga.png", m.p, m.len, &img);
    ti_assert_pixel(&img, 0, 0, 5, 5, 5, 0);
    ti_assert_pixel(&img, 1, 0, 250, 250, 250, 0);
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
    ti_png_encode(&s, &m);
    scl_image img;
    ti_load_ok("pal2.png", m.p, m.len, &img);
    ck_assert_int_eq(img.width, 5);
    ti_assert_pixel(&img, 0, 0, 255, 0, 0, 0);
    ti_assert_pixel(&img, 1, 0, 0, 255, 0, 0);
    ti_assert_pixel(&img, 2, 0, 0, 0, 255, 0);
    ti_assert_pixel(&img, 3, 0, 12, 34, 56, 0);
    ti_assert_pixel(&img, 4, 0, 12, 34, 56, 0);
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
    ti_png_encode(&s8, &m);
    ti_load_ok("pal8.png", m.p, m.len, &img);
    ti_assert_pixel(&img, 0, 0, 12, 34, 56, 0);
    ti_assert_pixel(&img, 1, 0, 0, 0, 255, 0);
    ti_assert_pixel(&img, 0, 1, 0, 255, 0, 0);
    ti_assert_pixel(&img, 1, 1, 255, 0, 0, 0);
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
    ti_png_encode(&s1, &m);
    ti_load_ok("g1.png", m.p, m.len, &img);
    ti_assert_pixel(&img, 0, 0, 255, 255, 255, 0);
    ti_assert_pixel(&img, 1, 0, 0, 0, 0, 0);
    ti_assert_pixel(&img, 2, 0, 255, 255, 255, 0);
    scl_image_free(&img);
    free(m.p);
    /* 4 bit: 0x5, 0xa -> 0x55, 0xaa (bit replication) */
    static const unsigned char g4[] = {0x5a};
    png_spec s4 = {
        .width = 2, .height = 1, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 4, .rows = g4};
    ti_png_encode(&s4, &m);
    ti_load_ok("g4.png", m.p, m.len, &img);
    ti_assert_pixel(&img, 0, 0, 0x55, 0x55, 0x55, 0);
    ti_assert_pixel(&img, 1, 0, 0xaa, 0xaa, 0xaa, 0);
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
    ti_png_encode(&s4t, &m);
    ti_load_ok("g4t.png", m.p, m.len, &img);
    ti_assert_pixel(&img, 0, 0, 0x55, 0x55, 0x55, 0);
    ti_assert_pixel(&img, 1, 0, 0xaa, 0xaa, 0xaa, 0);
    scl_image_free(&img);
    free(m.p);
    /* 8 bit */
    static const unsigned char g8[] = {1, 2, 254, 3};
    png_spec s8 = {
        .width = 2, .height = 2, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8, .rows = g8};
    ti_png_encode(&s8, &m);
    ti_load_ok("g8.png", m.p, m.len, &img);
    ti_assert_pixel(&img, 0, 0, 1, 1, 1, 0);
    ti_assert_pixel(&img, 1, 0, 2, 2, 2, 0);
    ti_assert_pixel(&img, 0, 1, 254, 254, 254, 0);
    ti_assert_pixel(&img, 1, 1, 3, 3, 3, 0);
    scl_image_free(&img);
    free(m.p);
    /* 16 bit, big-endian: the high byte is kept */
    static const unsigned char g16[] = {0x12, 0xab, 0xff, 0x00};
    png_spec s16 = {
        .width = 2, .height = 1, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 16, .rows = g16};
    ti_png_encode(&s16, &m);
    ti_load_ok("g16.png", m.p, m.len, &img);
    ti_assert_pixel(&img, 0, 0, 0x12, 0x12, 0x12, 0);
    ti_assert_pixel(&img, 1, 0, 0xff, 0xff, 0xff, 0);
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
    ti_png_encode(&s, &m);
    scl_image img;
    ti_load_ok("rgb16.png", m.p, m.len, &img);
    ti_assert_pixel(&img, 0, 0, 0x01, 0x80, 0xfe, 0);
    ti_assert_pixel(&img, 1, 0, 0xff, 0x00, 0x7f, 0);
    scl_image_free(&img);
    free(m.p);

    static const unsigned char px16a[] = {0x40, 0x00, 0x20, 0x00, 0x10, 0x00, 0x00, 0x00};
    png_spec sa = {.width = 1,
                   .height = 1,
                   .color_type = PNG_COLOR_TYPE_RGB_ALPHA,
                   .bit_depth = 16,
                   .rows = px16a};
    ti_png_encode(&sa, &m);
    ti_load_ok("rgba16.png", m.p, m.len, &img);
    ti_assert_pixel(&img, 0, 0, 0x40, 0x20, 0x10, 0);
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
    unsigned char *px = ti_gradient_rgb(W, H);
    png_spec s = {
        .width = W, .height = H, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8, .rows = px};
    membuf m;
    ti_png_encode(&s, &m);

    ti_load_fails("half.png", m.p, m.len / 2, SCL_ERROR_FILE_FORMAT, "PNG");
    ti_load_fails("noend.png", m.p, m.len - 12, SCL_ERROR_FILE_FORMAT, "PNG"); /* IEND cut */
    ti_load_fails("sig.png", m.p, 8, SCL_ERROR_FILE_FORMAT, "PNG");

    size_t idat = png_chunk_data(&m, "IDAT");
    ck_assert_uint_gt(idat, 0);
    m.p[idat + 5] ^= 0x55; /* zlib or the CRC check catches it, whichever reads it first */
    ti_load_fails("corrupt.png", m.p, m.len, SCL_ERROR_FILE_FORMAT, "corrupt PNG");
    m.p[idat + 5] ^= 0x55;
    m.p[8 + 8 + 13] ^= 0x01; /* IHDR's CRC */
    ti_load_fails("crc.png", m.p, m.len, SCL_ERROR_FILE_FORMAT, "CRC");
    m.p[8 + 8 + 13] ^= 0x01;
    m.p[8 + 8 + 9] = 7; /* colour type 7 does not exist */
    ti_load_fails("ctype.png", m.p, m.len, SCL_ERROR_FILE_FORMAT, "corrupt PNG");
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
    ti_png_encode(&w, &m);
    ti_load_fails("wide.png", m.p, m.len, SCL_ERROR_FILE_FORMAT, "absurd");
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
    unsigned char *px = ti_gradient_rgb(W, H);
    for (int progressive = 0; progressive < 2; progressive++) {
        jpeg_spec s = {W, H, 3, 95, progressive, JCS_RGB, JCS_YCbCr, px};
        membuf m;
        ti_jpeg_encode(&s, &m);
        scl_image img;
        ti_load_ok(progressive ? "prog.jpg" : "rgb.jpg", m.p, m.len, &img);
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
    ti_jpeg_encode(&s, &m);
    scl_image img;
    ti_load_ok("gray.jpg", m.p, m.len, &img);
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
    ti_jpeg_encode(&s, &m);
    scl_image img;
    ti_load_ok("cmyk.jpg", m.p, m.len, &img);
    for (int q = 0; q < 4; q++)
        ti_assert_pixel(&img, (q % 2) * 16 + 8, (q / 2) * 16 + 8, want[q][0], want[q][1],
                        want[q][2], 3);
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
    unsigned char *px = ti_gradient_rgb(W, H);
    jpeg_spec s = {W, H, 3, 90, 0, JCS_RGB, JCS_YCbCr, px};
    membuf m;
    ti_jpeg_encode(&s, &m);

    ti_load_fails("cut.jpg", m.p, m.len * 6 / 10, SCL_ERROR_FILE_FORMAT, "Premature end");
    ti_load_fails("noeoi.jpg", m.p, m.len - 2, SCL_ERROR_FILE_FORMAT, "JPEG");
    ti_load_fails("soi.jpg", m.p, 20, SCL_ERROR_FILE_FORMAT, "JPEG");

    size_t sof = jpeg_find_sof(&m);
    ck_assert_uint_gt(sof, 0);
    m.p[sof + 5] = 0; /* height 0 */
    m.p[sof + 6] = 0;
    ti_load_fails("h0.jpg", m.p, m.len, SCL_ERROR_FILE_FORMAT, "corrupt JPEG");
    m.p[sof + 2] = 0; /* a segment length of 2: too short for an SOF */
    m.p[sof + 3] = 2;
    ti_load_fails("sof.jpg", m.p, m.len, SCL_ERROR_FILE_FORMAT, "corrupt JPEG");
    free(m.p);
    free(px);
}
END_TEST

/* ---- files and arguments ------------------------------------------------------------------- */

START_TEST(test_file_errors) {
    char msg[512];
    scl_image img;
    const char *missing = ti_tmp_path("does_not_exist.png");
    ck_assert_int_eq(scl_image_load(missing, &img, msg, sizeof msg), SCL_ERROR_FILE_IO);
    ck_assert_msg(strncmp(msg, missing, strlen(missing)) == 0, "%s", msg);
    ck_assert_ptr_null(img.rgb);

    const char *dir = ti_tmp_dir();
    ck_assert_int_eq(scl_image_load(dir, &img, msg, sizeof msg), SCL_ERROR_FILE_IO);
    ck_assert_msg(strncmp(msg, dir, strlen(dir)) == 0, "%s", msg);

    ti_load_fails("empty.png", "", 0, SCL_ERROR_FILE_FORMAT, "empty");
    static const char gif[] = "GIF89a\x01\x00\x01\x00";
    ti_load_fails("a.gif", gif, sizeof gif - 1, SCL_ERROR_FILE_FORMAT,
                  "not a PNG, JPEG or PPM image");
    ti_load_fails("p4.pbm", "P4 1 1\n\x80", 8, SCL_ERROR_FILE_FORMAT, "not a PNG");
    ti_load_fails("x", "\xff\xd8", 2, SCL_ERROR_FILE_FORMAT, "not a PNG");

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

int main(void) {
    Suite *s = suite_create("image_load");
    TCase *tc = tcase_create("load");
    tcase_set_timeout(tc, 60); /* generous for valgrind */
    tcase_add_test(tc, test_ppm_binary);
    tcase_add_test(tc, test_ppm_ascii);
    tcase_add_test(tc, test_pgm_gray_replicated);
    tcase_add_test(tc, test_pnm_maxval);
    tcase_add_test(tc, test_pnm_errors);
    tcase_add_test(tc, test_png_rgb_by_magic);
    tcase_add_test(tc, test_png_alpha_dropped);
    tcase_add_test(tc, test_png_palette);
    tcase_add_test(tc, test_png_gray_depths);
    tcase_add_test(tc, test_png_16bit_rgb);
    tcase_add_test(tc, test_png_errors);
    tcase_add_test(tc, test_jpeg_rgb);
    tcase_add_test(tc, test_jpeg_gray);
    tcase_add_test(tc, test_jpeg_cmyk);
    tcase_add_test(tc, test_jpeg_errors);
    tcase_add_test(tc, test_file_errors);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
