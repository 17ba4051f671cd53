/* test_model.c: every model's layer table: output shapes, and parameter and MAC counts exactly
 * as PyTorch counts them (shared/shufflenet.md); the graph's channel maps are permutations. */
#include "net/model.h"
#include "testutil.h"
#include "unit_fit.h"

#include <stdlib.h>
#include <string.h>

typedef struct expected {
    const char *name;
    int64_t params, macs;
    int last_channels; /* channels entering the classifier */
} expected;

static const expected table[] = {
    {"v2_x0_5", 1366792, 40476448, 1024},     {"v2_x1_0", 2278604, 144907992, 1024},
    {"v2_x1_5", 3503624, 295759392, 1024},    {"v2_x2_0", 7393996, 583253464, 2048},
    {"v1_g1_x1_0", 1530936, 143078976, 576},  {"v1_g2_x1_0", 1732848, 140836512, 800},
    {"v1_g3_x1_0", 1864728, 137460672, 960},  {"v1_g4_x1_0", 1967344, 134339776, 1088},
    {"v1_g8_x1_0", 2433768, 138365952, 1536}, {"v1_g3_x0_5", 717324, 37589856, 480},
    {"v1_g3_x1_5", 3441168, 292443552, 1440}, {"v1_g3_x2_0", 5449776, 524045184, 1920},
    {"v1_g8_x0_5", 1010448, 40469760, 768},   {"v1_g8_x1_5", 4268952, 290188800, 2304},
    {"v1_g8_x2_0", 6521232, 521942016, 3072},
};

START_TEST(test_counts) {
    const expected *e = &table[_i];
    scl_context *ctx = tu_context();
    scl_network *net = NULL;
    scl_network_options o = {.size = sizeof o, .fused_kernels = SCL_SWITCH_ON};
    TU_OK(ctx, scl_network_create_ex(ctx, e->name, &o, &net));
    scl_network_stats s = {.size = sizeof(scl_network_stats)};
    TU_OK(ctx, scl_network_get_stats(net, 1, 224, 224, &s));
    ck_assert_msg(s.params == e->params, "%s: %lld params, expected %lld", e->name,
                  (long long)s.params, (long long)e->params);
    ck_assert_msg(s.macs == e->macs, "%s: %lld MACs, expected %lld", e->name, (long long)s.macs,
                  (long long)e->macs);
    /* the layer table, kind by kind (shared/shufflenet.md): V2 has a stem, a max pool, 5 layers in
     * each of its 3 down-sampling units and 3 in each of the 13 others, conv5 and the head (58);
     * V1 has a stem, a max pool, 3 convs in each of its 16 units plus an average pool in each of
     * the 3 down-sampling ones, and the head (54) */
    int v2 = e->name[1] == '2';
    int nl = scl_network_layer_count(net), count[8] = {0};
    ck_assert_int_eq(nl, v2 ? 58 : 54);
    for (int i = 0; i < nl; i++) {
        scl_layer_info li = {.size = sizeof(scl_layer_info)};
        TU_OK(ctx, scl_network_layer_info(net, i, 224, 224, &li));
        ck_assert(li.kind >= SCL_OP_KIND_STEM && li.kind <= SCL_OP_KIND_GAP_FC);
        count[li.kind]++;
        if (i == 0) ck_assert(li.kind == SCL_OP_KIND_STEM && li.out_h == 112 && li.out_w == 112);
        if (i == nl - 1) {
            ck_assert_int_eq(li.kind, SCL_OP_KIND_GAP_FC);
            ck_assert_int_eq(li.cin, e->last_channels);
            ck_assert_int_eq(li.cout, 1000);
        }
    }
    ck_assert_int_eq(count[SCL_OP_KIND_MAXPOOL], 1);
    ck_assert_int_eq(count[SCL_OP_KIND_AVGPOOL], v2 ? 0 : 3);
    ck_assert_int_eq(count[SCL_OP_KIND_DEPTHWISE], v2 ? 19 : 16);
    ck_assert_int_eq(count[SCL_OP_KIND_POINTWISE], v2 ? 36 : 32);
    ck_assert_int_eq(count[SCL_OP_KIND_SHUFFLE], 0); /* nothing only moves data */
    /* one launch per fused unit (V2: 16 for 54 layers; V1: 16 for 51) and per other layer, and a
     * second for the head where it pools first */
    ck_assert_int_eq(s.launches, scl_network_launch_count(net));
    int fused = v2 ? nl - 38 : nl - 35;
    /* where a unit's band does not fit the local memory, it runs layer by layer */
    scl_device_info dev = {.size = sizeof dev};
    TU_OK(ctx, scl_context_device_info(ctx, &dev));
    if (tu_unit_may_fall_back(e->name, dev.local_mem_bytes))
        ck_assert_msg(s.launches >= fused && s.launches <= nl + 1, "%s: %d launches", e->name,
                      s.launches);
    else
        ck_assert_msg(s.launches == fused || s.launches == fused + 1, "%s: %d launches", e->name,
                      s.launches);
    ck_assert_int_eq(scl_network_classes(net), 1000);
    ck_assert_int_eq(scl_network_preprocess(net),
                     v2 ? SCL_PREPROCESS_TORCHVISION : SCL_PREPROCESS_MEGVII);
    ck_assert_str_eq(scl_preprocess_name(scl_network_preprocess(net)),
                     v2 ? "torchvision" : "megvii");
    scl_network_destroy(net);
    scl_context_destroy(ctx);
}
END_TEST

START_TEST(test_odd_sizes) {
    /* every stride-2 layer gives ceil(H/2): 65 -> 33 -> 17 -> 9 -> 5 -> 3 */
    scl_context *ctx = tu_context();
    scl_network *net = NULL;
    TU_OK(ctx, scl_network_create(ctx, "v2_x1_0", &net));
    scl_layer_info li = {.size = sizeof(scl_layer_info)};
    int nl = scl_network_layer_count(net);
    TU_OK(ctx, scl_network_layer_info(net, nl - 2, 65, 40, &li)); /* conv5 */
    ck_assert_int_eq(li.out_h, 3);
    ck_assert_int_eq(li.out_w, 2);
    ck_assert_int_eq(scl_network_layer_info(net, nl, 224, 224, &li), SCL_ERROR_INVALID_ARGUMENT);
    scl_network_destroy(net);
    scl_context_destroy(ctx);
}
END_TEST

START_TEST(test_maps_are_permutations) {
    /* inside every layer the maps must address distinct planes of their buffer */
    for (int k = 0; scl_model_name(k); k++)
        for (int explicit_copies = 0; explicit_copies < 2; explicit_copies++) {
            scl_model *m = NULL;
            ck_assert_int_eq(scl__model_build(scl_model_name(k), explicit_copies, &m), SCL_OK);
            for (int i = 0; i < m->nlayers; i++) {
                const scl_layer *l = &m->layers[i];
                const int *maps[2] = {l->in_map, l->out_map};
                const int counts[2] = {l->cin, l->cout};
                const int bufs[2] = {l->in_buf, l->out_buf};
                for (int j = 0; j < 2; j++) {
                    int planes = m->bufs[bufs[j]].channels;
                    char *seen = calloc((size_t)planes, 1);
                    for (int c = 0; c < counts[j]; c++) {
                        ck_assert_msg(maps[j][c] >= 0 && maps[j][c] < planes,
                                      "%s %s: plane %d of %d", m->name, l->name, maps[j][c],
                                      planes);
                        ck_assert_msg(!seen[maps[j][c]]++, "%s %s: plane %d twice", m->name,
                                      l->name, maps[j][c]);
                    }
                    free(seen);
                }
            }
            scl__model_free(m);
        }
}
END_TEST

/* 1 if one of the n planes a (of buffer ba) is one of the m planes b (of buffer bb). */
static int planes_meet(int ba, const int *a, int n, int bb, const int *b, int m) {
    for (int i = 0; ba == bb && i < n; i++)
        for (int j = 0; j < m; j++)
            if (a[i] == b[j]) return 1;
    return 0;
}

/* Fusable builds: every unit is marked on its first layer (V1: 3 layers, 4 with the pool at
 * stride 2; V2: 3 or 5), a fused unit's output planes never meet its input planes (bands read
 * rows that neighbouring bands write), and V1's residual is the unit's input. Without fusion
 * nothing is marked, and V1's stride-1 units add their residual in place, as always. */
START_TEST(test_fusable_units) {
    for (int k = 0; scl_model_name(k); k++) {
        scl_model_desc d;
        ck_assert(scl__desc_preset(scl_model_name(k), &d));
        for (int fusable = 0; fusable < 2; fusable++) {
            scl_model *m = NULL;
            ck_assert_int_eq(scl__model_build_fusable(&d, fusable, &m), SCL_OK);
            int v1 = d.layout == SCL_LAYOUT_MEGVII_V1, units = 0, covered = 0;
            for (int i = 0; i < m->nlayers; i++) {
                const scl_layer *ls = &m->layers[i];
                if (!fusable) {
                    ck_assert_int_eq(ls->unit_len, 0);
                    if (ls->res_buf >= 0)
                        ck_assert(ls->out_buf == ls->res_buf &&
                                  memcmp(ls->out_map, ls->res_map, ls->cout * sizeof(int)) == 0);
                    continue;
                }
                if (!ls->unit_len) continue;
                units++, covered += ls->unit_len;
                ck_assert_int_eq(ls->unit_v1, v1);
                int want = ls->unit_stride == 1 ? 3 : v1 ? 4 : 5;
                ck_assert_int_eq(ls->unit_len, want);
                int a, b, cout = scl__unit_outputs(ls, &a, &b);
                /* stride 1: what the branch read; stride 2: the trunk that the next (stride-1)
                 * unit reads, V2's half of it */
                const scl_layer *next = &ls[ls->unit_len];
                if (ls->unit_stride == 1)
                    ck_assert_int_eq(cout, ls->cin);
                else
                    ck_assert_int_eq(cout, v1 ? next->cin : 2 * next->cin);
                if (v1 && a >= 0) ck_assert_int_eq(ls[a].kind, SCL_LAYER_AVGPOOL);
                if (v1 && ls->unit_stride == 1) {
                    ck_assert_int_eq(ls[b].res_buf, ls->in_buf);
                    ck_assert(memcmp(ls[b].res_map, ls->in_map, ls->cin * sizeof(int)) == 0);
                }
                for (int j = 0; j < 2; j++) {
                    const scl_layer *o = j ? &ls[b] : a >= 0 ? &ls[a] : NULL;
                    if (o)
                        ck_assert_msg(!planes_meet(ls->in_buf, ls->in_map, ls->cin, o->out_buf,
                                                   o->out_map, o->cout),
                                      "%s %s: the unit writes planes it reads", m->name, ls->name);
                }
                i += ls->unit_len - 1;
            }
            if (fusable) ck_assert_int_eq(units, 16);
            if (fusable) ck_assert_int_eq(covered, v1 ? 51 : 54);
            scl__model_free(m);
        }
    }
}
END_TEST

START_TEST(test_unknown_model) {
    scl_context *ctx = tu_context();
    scl_network *net = (scl_network *)1;
    ck_assert_int_eq(scl_network_create(ctx, "v3_x1_0", &net), SCL_ERROR_UNSUPPORTED_MODEL);
    ck_assert_ptr_null(net);
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "'v3_x1_0'"));
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "v2_x1_0"));
    ck_assert_ptr_null(scl_model_name(15));
    ck_assert_str_eq(scl_model_name(0), "v2_x0_5");
    scl_context_destroy(ctx);
}
END_TEST

int main(void) {
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_counts, 0, (int)(sizeof table / sizeof table[0]));
    tcase_add_test(tc, test_odd_sizes);
    tcase_add_test(tc, test_maps_are_permutations);
    tcase_add_test(tc, test_fusable_units);
    tcase_add_test(tc, test_unknown_model);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
