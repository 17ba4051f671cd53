/* model.c: the ShuffleNet V1 (Megvii) and V2 (torchvision and Megvii) architectures of
 * shared/shufflenet.md, built from a description as layers over channel maps.
 *
 * The trick that makes shuffle, split and concat free: a stage keeps its activations in one
 * "trunk" buffer. A V2 stride-1 unit reads its second half x2 through the trunk's map, and its
 * branch writes the result back into x2's own planes (dead once read), so the identity half x1
 * never moves; the unit's channel_shuffle then only composes the trunk map with the shuffle
 * permutation. A stride-2 unit writes both branches straight into their concat slots of the
 * next stage's trunk. V1 adds its residual in place, writes its average-pool shortcut into the
 * concat slot, and reads the branch's channel shuffle through a map. Megvii's V2 unit splits
 * even/odd channels instead of halves: two strided maps over the trunk, and its concat (no
 * shuffle after it) is again only a new trunk map. */
#include "net/model.h"

#include <stdlib.h>
#include <string.h>

/* A logical tensor during the build: `channels` channels living in planes map[] of buffer buf. */
typedef struct value {
    int buf;
    int channels;
    int *map;
} value;

typedef struct builder {
    scl_model *m;
    int explicit_copies;
    int spare;  /* fusable: stride-1 units write spare trunk planes (scl__model_build_fusable) */
    int failed; /* out of memory somewhere: reported once at the end */
} builder;

static int *table(builder *b, int n) {
    int *t = malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
    if (!t) b->failed = 1;
    return t;
}

static int *strided(builder *b, int n, int offset, int stride) {
    int *t = table(b, n);
    if (t)
        for (int c = 0; c < n; c++)
            t[c] = offset + c * stride;
    return t;
}

static int *copy_map(builder *b, const int *src, int n) {
    int *t = table(b, n);
    if (t && src) memcpy(t, src, (size_t)n * sizeof(int));
    return t;
}

static int new_buf(builder *b, int channels, int level) {
    scl_model *m = b->m;
    if (m->nbufs == m->buf_cap) {
        int cap = m->buf_cap ? 2 * m->buf_cap : 16;
        scl_bufdef *nb = realloc(m->bufs, (size_t)cap * sizeof *nb);
        if (!nb) {
            b->failed = 1;
            return 0;
        }
        m->bufs = nb, m->buf_cap = cap;
    }
    m->bufs[m->nbufs] = (scl_bufdef){channels, level};
    return m->nbufs++;
}

/* A fresh value with identity planes in a new buffer. */
static value fresh(builder *b, int channels, int level) {
    value v = {new_buf(b, channels, level), channels, strided(b, channels, 0, 1)};
    return v;
}

/* Appends a layer; the maps are copied, so callers keep ownership of theirs. */
static scl_layer *add(builder *b, scl_layer_kind kind, const char *name, value in, int cout,
                      int groups, int stride, int flags, int out_buf, const int *out_map) {
    scl_model *m = b->m;
    if (m->nlayers == m->layer_cap) {
        int cap = m->layer_cap ? 2 * m->layer_cap : 64;
        scl_layer *nl = realloc(m->layers, (size_t)cap * sizeof *nl);
        if (!nl) {
            b->failed = 1;
            return NULL;
        }
        m->layers = nl, m->layer_cap = cap;
    }
    scl_layer *l = &m->layers[m->nlayers++];
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "%s", name);
    l->kind = kind;
    l->cin = in.channels, l->cout = cout, l->groups = groups, l->stride = stride, l->flags = flags;
    l->in_buf = in.buf, l->out_buf = out_buf, l->res_buf = -1;
    l->in_map = copy_map(b, in.map, in.channels);
    l->out_map = copy_map(b, out_map, cout);
    return l;
}

static void set_keys(scl_layer *l, const char *weight, const char *bn) {
    if (!l) return;
    snprintf(l->weight_key, sizeof l->weight_key, "%s", weight);
    snprintf(l->bn_key, sizeof l->bn_key, "%s", bn);
}

/* A layer writing a fresh identity value; returns it. */
static value layer_to_fresh(builder *b, scl_layer_kind kind, const char *prefix, int widx,
                            int bnidx, value in, int cout, int groups, int stride, int flags,
                            int level) {
    value out = fresh(b, cout, level);
    char name[96], wk[96], bk[96];
    snprintf(name, sizeof name, "%s.%d", prefix, widx);
    snprintf(wk, sizeof wk, "%s.%d.weight", prefix, widx);
    snprintf(bk, sizeof bk, "%s.%d", prefix, bnidx);
    scl_layer *l = add(b, kind, name, in, cout, groups, stride, flags, out.buf, out.map);
    set_keys(l, kind == SCL_LAYER_MAXPOOL || kind == SCL_LAYER_AVGPOOL ? "" : wk,
             kind == SCL_LAYER_MAXPOOL || kind == SCL_LAYER_AVGPOOL ? "" : bk);
    return out;
}

/* A layer writing into given planes of an existing buffer. */
static scl_layer *layer_into(builder *b, scl_layer_kind kind, const char *prefix, int widx,
                             int bnidx, value in, int cout, int groups, int stride, int flags,
                             int buf, const int *planes) {
    char name[96], wk[96], bk[96];
    snprintf(name, sizeof name, "%s.%d", prefix, widx);
    snprintf(wk, sizeof wk, "%s.%d.weight", prefix, widx);
    snprintf(bk, sizeof bk, "%s.%d", prefix, bnidx);
    scl_layer *l = add(b, kind, name, in, cout, groups, stride, flags, buf, planes);
    set_keys(l, wk, bk);
    return l;
}

/* v's channels [first, first + n) as a value (a split: no data moves). */
static value slice(value v, int first, int n) {
    value s = {v.buf, n, v.map + first};
    return s;
}

/* Fusable builds: layers [first, nlayers) are one unit of the given stride. */
static void mark_unit(builder *b, int first, int stride, int megvii) {
    scl_model *m = b->m;
    if (!b->spare || b->failed || first >= m->nlayers) return;
    m->layers[first].unit_len = m->nlayers - first;
    m->layers[first].unit_stride = stride;
    m->layers[first].unit_megvii = megvii;
}

int scl__unit_outputs(const scl_layer *ls, int *a, int *b) {
    *b = ls->unit_len - 1;
    *a = ls->unit_stride == 1 ? -1 : ls->unit_v1 ? 2 : 1;
    return ls[*b].cout + (*a >= 0 ? ls[*a].cout : 0);
}

void scl__unit_shape(const scl_layer *ls, int *kind, int *cin, int *cout, int *groups,
                     int *first_groups) {
    int a, last;
    *cout = scl__unit_outputs(ls, &a, &last);
    *cin = ls->cin;
    *groups = ls->unit_v1 ? ls[last].groups : 1;
    *first_groups = ls->unit_v1 ? ls->groups : 1;
    /* the unit descriptor's kinds (ops/unit.h): 0 torchvision, 1 Megvii, 2 V1, 3 V1 whose first
     * conv is ungrouped */
    *kind = ls->unit_v1 ? (*first_groups == *groups ? 2 : 3) : ls->unit_megvii ? 1 : 0;
}

/* The same for V1's unit (its pool the third layer at stride 2). */
static void mark_v1_unit(builder *b, int first, int stride) {
    mark_unit(b, first, stride, 0);
    if (b->spare && !b->failed && first < b->m->nlayers) b->m->layers[first].unit_v1 = 1;
}

/* A stage's trunk written by its stride-2 unit: c channels in identity planes, and in fusable
 * builds `spare` more planes after them (*spare gets their table). */
static value stage_trunk(builder *b, int c, int spare, int level, int **spare_map) {
    if (!b->spare) return fresh(b, c, level);
    value v = {new_buf(b, c + spare, level), c, strided(b, c, 0, 1)};
    free(*spare_map);
    *spare_map = strided(b, spare, c, 1);
    return v;
}

/* After a fusable stride-1 unit whose branch read planes `read` (n of them) and wrote *spare:
 * the read planes, dead now, become the spare ones, and `map` (the next trunk's entries that
 * held `read`) gets the written planes. */
static void swap_spare(int *map, int *spare, int n) {
    if (!map || !spare) return;
    for (int i = 0; i < n; i++) {
        int t = map[i];
        map[i] = spare[i], spare[i] = t;
    }
}

/* The channel shuffle of torchvision's V2 (view (2, C/2), transpose): channel 2j+i of the result
 * is channel i*C/2 + j of the input, i.e. result map[2j+i] = map[i*C/2 + j]. */
static int *shuffle2(builder *b, const int *map, int channels) {
    int *t = table(b, channels);
    int half = channels / 2;
    if (t)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < half; j++)
                t[2 * j + i] = map[i * half + j];
    return t;
}

/* Explicit mode: a launch that copies `in` into planes of buffer `buf` (groups 1), or shuffles
 * it. Named after the layer it serves. */
static void copy_into(builder *b, const char *name, value in, int groups, int inverse, int buf,
                      const int *planes) {
    scl_layer *l = add(b, SCL_LAYER_SHUFFLE, name, in, in.channels, groups, 1, 0, buf, planes);
    if (l) l->inverse = inverse;
}

/* Explicit mode: concat(a, b) then channel_shuffle(2), each a copy; returns the new trunk. */
static value concat_shuffle(builder *b, const char *prefix, value x1, value x2, int level) {
    int c = x1.channels + x2.channels;
    value cat = fresh(b, c, level), out = fresh(b, c, level);
    int *s1 = strided(b, x1.channels, 0, 1), *s2 = strided(b, x2.channels, x1.channels, 1);
    char name[96];
    snprintf(name, sizeof name, "%s.concat", prefix);
    if (s1 && s2) {
        copy_into(b, name, x1, 1, 0, cat.buf, s1);
        copy_into(b, name, x2, 1, 0, cat.buf, s2);
    }
    snprintf(name, sizeof name, "%s.shuffle", prefix);
    copy_into(b, name, cat, 2, 0, out.buf, out.map);
    free(s1), free(s2), free(cat.map);
    return out;
}

/* The stride-1 V2 unit with every split and concat materialised. */
static value v2_unit_explicit(builder *b, const char *p2, const char *unit, value trunk,
                              int level) {
    int c = trunk.channels, half = c / 2;
    value x1 = fresh(b, half, level), x2 = fresh(b, half, level);
    char name[96];
    snprintf(name, sizeof name, "%s.split", unit);
    copy_into(b, name, slice(trunk, 0, half), 1, 0, x1.buf, x1.map);
    copy_into(b, name, slice(trunk, half, half), 1, 0, x2.buf, x2.map);
    value e = layer_to_fresh(b, SCL_LAYER_POINTWISE, p2, 0, 1, x2, half, 1, 1, SCL_OP_RELU, level);
    value f = layer_to_fresh(b, SCL_LAYER_DEPTHWISE, p2, 3, 4, e, half, half, 1, 0, level);
    value g = layer_to_fresh(b, SCL_LAYER_POINTWISE, p2, 5, 6, f, half, 1, 1, SCL_OP_RELU, level);
    value out = concat_shuffle(b, unit, x1, g, level);
    free(x1.map), free(x2.map), free(e.map), free(f.map), free(g.map);
    return out;
}

static void build_v2(builder *b, const scl_model_desc *s) {
    value x = {0, 3, NULL};
    x.map = strided(b, 3, 0, 1);
    value stem =
        layer_to_fresh(b, SCL_LAYER_STEM, "conv1", 0, 1, x, s->stem_width, 1, 2, SCL_OP_RELU, 1);
    value pool =
        layer_to_fresh(b, SCL_LAYER_MAXPOOL, "maxpool", 0, 0, stem, s->stem_width, 1, 2, 0, 2);
    b->m->layers[b->m->nlayers - 1].name[7] = '\0'; /* "maxpool", not "maxpool.0" */
    free(x.map), free(stem.map);
    value trunk = pool;
    int level = 2;
    int *spare = NULL; /* fusable builds: the trunk's spare planes */
    for (int st = 0; st < 3; st++) {
        int c = s->stage_widths[st], half = c / 2;
        for (int u = 0; u < s->stage_repeats[st]; u++) {
            char p1[64], p2[64];
            snprintf(p1, sizeof p1, "stage%d.%d.branch1", st + 2, u);
            snprintf(p2, sizeof p2, "stage%d.%d.branch2", st + 2, u);
            value next;
            char unit[64];
            snprintf(unit, sizeof unit, "stage%d.%d", st + 2, u);
            if (b->explicit_copies) {
                if (u == 0) {
                    level++;
                    value d = layer_to_fresh(b, SCL_LAYER_DEPTHWISE, p1, 0, 1, trunk,
                                             trunk.channels, trunk.channels, 2, 0, level);
                    value b1 = layer_to_fresh(b, SCL_LAYER_POINTWISE, p1, 2, 3, d, half, 1, 1,
                                              SCL_OP_RELU, level);
                    value e = layer_to_fresh(b, SCL_LAYER_POINTWISE, p2, 0, 1, trunk, half, 1, 1,
                                             SCL_OP_RELU, level - 1);
                    value f = layer_to_fresh(b, SCL_LAYER_DEPTHWISE, p2, 3, 4, e, half, half, 2, 0,
                                             level);
                    value b2 = layer_to_fresh(b, SCL_LAYER_POINTWISE, p2, 5, 6, f, half, 1, 1,
                                              SCL_OP_RELU, level);
                    next = concat_shuffle(b, unit, b1, b2, level);
                    free(d.map), free(b1.map), free(e.map), free(f.map), free(b2.map);
                } else {
                    next = v2_unit_explicit(b, p2, unit, trunk, level);
                }
                free(trunk.map);
                trunk = next;
                if (b->failed) return;
                continue;
            }
            int first = b->m->nlayers;
            if (u == 0) {
                /* stride 2: both branches read the whole input and write their concat slots */
                level++;
                next = stage_trunk(b, c, half, level, &spare);
                int *slot1 = strided(b, half, 0, 1), *slot2 = strided(b, half, half, 1);
                value d = layer_to_fresh(b, SCL_LAYER_DEPTHWISE, p1, 0, 1, trunk, trunk.channels,
                                         trunk.channels, 2, 0, level);
                layer_into(b, SCL_LAYER_POINTWISE, p1, 2, 3, d, half, 1, 1, SCL_OP_RELU, next.buf,
                           slot1);
                value e = layer_to_fresh(b, SCL_LAYER_POINTWISE, p2, 0, 1, trunk, half, 1, 1,
                                         SCL_OP_RELU, level - 1);
                value f =
                    layer_to_fresh(b, SCL_LAYER_DEPTHWISE, p2, 3, 4, e, half, half, 2, 0, level);
                layer_into(b, SCL_LAYER_POINTWISE, p2, 5, 6, f, half, 1, 1, SCL_OP_RELU, next.buf,
                           slot2);
                free(slot1), free(slot2), free(d.map), free(e.map), free(f.map);
                mark_unit(b, first, 2, 0);
            } else {
                /* stride 1: the branch reads x2 and overwrites x2's planes; x1 stays put */
                value x2 = slice(trunk, half, half);
                value e = layer_to_fresh(b, SCL_LAYER_POINTWISE, p2, 0, 1, x2, half, 1, 1,
                                         SCL_OP_RELU, level);
                value f =
                    layer_to_fresh(b, SCL_LAYER_DEPTHWISE, p2, 3, 4, e, half, half, 1, 0, level);
                layer_into(b, SCL_LAYER_POINTWISE, p2, 5, 6, f, half, 1, 1, SCL_OP_RELU, trunk.buf,
                           b->spare ? spare : x2.map);
                free(e.map), free(f.map);
                next = (value){trunk.buf, c, copy_map(b, trunk.map, c)};
                if (b->spare && next.map) swap_spare(next.map + half, spare, half);
                mark_unit(b, first, 1, 0);
            }
            /* the unit's channel_shuffle(groups=2): only the map changes */
            int *shuffled = next.map ? shuffle2(b, next.map, c) : NULL;
            free(next.map);
            next.map = shuffled;
            free(trunk.map);
            trunk = next;
            if (b->failed) break;
        }
    }
    free(spare);
    if (b->failed) {
        free(trunk.map);
        return;
    }
    value conv5 = layer_to_fresh(b, SCL_LAYER_POINTWISE, "conv5", 0, 1, trunk, s->last_width, 1, 1,
                                 SCL_OP_RELU, level);
    free(trunk.map);
    value logits = fresh(b, b->m->classes, level);
    scl_layer *fc =
        add(b, SCL_LAYER_GAP_FC, "fc", conv5, b->m->classes, 1, 1, 0, logits.buf, logits.map);
    if (fc) {
        snprintf(fc->weight_key, sizeof fc->weight_key, "fc.weight");
        snprintf(fc->bias_key, sizeof fc->bias_key, "fc.bias");
    }
    free(conv5.map), free(logits.map);
}

static void build_v1(builder *b, const scl_model_desc *s) {
    const int g = s->groups;
    value x = {0, 3, NULL};
    x.map = strided(b, 3, 0, 1);
    value stem = layer_to_fresh(b, SCL_LAYER_STEM, "first_conv", 0, 1, x, s->stem_width, 1, 2,
                                SCL_OP_RELU, 1);
    value pool =
        layer_to_fresh(b, SCL_LAYER_MAXPOOL, "maxpool", 0, 0, stem, s->stem_width, 1, 2, 0, 2);
    b->m->layers[b->m->nlayers - 1].name[7] = '\0';
    free(x.map), free(stem.map);
    value trunk = pool;
    int level = 2, k = 0;
    int *spare = NULL; /* fusable builds: the trunk's spare planes */
    for (int st = 0; st < 3; st++) {
        int c = s->stage_widths[st], mid = c / 4;
        for (int u = 0; u < s->stage_repeats[st]; u++, k++) {
            char m1[64], m2[64];
            snprintf(m1, sizeof m1, "features.%d.branch_main_1", k);
            snprintf(m2, sizeof m2, "features.%d.branch_main_2", k);
            int stride = u == 0 ? 2 : 1;
            int g1 = (st == 0 && u == 0) ? 1 : g; /* the very first 1x1 conv is not grouped */
            int in_level = level, first = b->m->nlayers;
            if (stride == 2) level++;
            if (b->spare && stride == 1 && !spare) b->failed = 1;
            if (b->failed) break;
            value e = layer_to_fresh(b, SCL_LAYER_POINTWISE, m1, 0, 1, trunk, mid, g1, 1,
                                     SCL_OP_RELU, in_level);
            value f =
                layer_to_fresh(b, SCL_LAYER_DEPTHWISE, m1, 3, 4, e, mid, mid, stride, 0, level);
            if (g > 1 && b->explicit_copies) {
                value f2 = fresh(b, mid, level);
                char name[96];
                snprintf(name, sizeof name, "%s.shuffle", m1);
                copy_into(b, name, f, g, 1, f2.buf, f2.map);
                free(f.map);
                f = f2;
            } else if (g > 1) {
                /* Megvii's shuffle, view (mid/g, g) and transpose: channel k*n + j of the result
                 * is channel j*g + k of the depthwise output. */
                int n = mid / g;
                int *sh = table(b, mid);
                if (sh)
                    for (int kk = 0; kk < g; kk++)
                        for (int j = 0; j < n; j++)
                            sh[kk * n + j] = f.map[j * g + kk];
                free(f.map);
                f.map = sh;
            }
            value next;
            if (stride == 2 && b->explicit_copies) {
                int cin = trunk.channels;
                char ap[64], name[96];
                snprintf(ap, sizeof ap, "features.%d.branch_proj", k);
                value pv = fresh(b, cin, level), mv = fresh(b, c - cin, level);
                add(b, SCL_LAYER_AVGPOOL, ap, trunk, cin, 1, 2, 0, pv.buf, pv.map);
                layer_into(b, SCL_LAYER_POINTWISE, m2, 0, 1, f, c - cin, g, 1, SCL_OP_RELU, mv.buf,
                           mv.map);
                next = fresh(b, c, level);
                int *s0 = strided(b, cin, 0, 1), *s1 = strided(b, c - cin, cin, 1);
                snprintf(name, sizeof name, "features.%d.concat", k);
                if (s0 && s1)
                    copy_into(b, name, pv, 1, 0, next.buf, s0),
                        copy_into(b, name, mv, 1, 0, next.buf, s1);
                free(s0), free(s1), free(pv.map), free(mv.map);
            } else if (stride == 2) {
                next = stage_trunk(b, c, c, level, &spare);
                int cin = trunk.channels;
                int *slot0 = strided(b, cin, 0, 1), *slot1 = strided(b, c - cin, cin, 1);
                char ap[64];
                snprintf(ap, sizeof ap, "features.%d.branch_proj", k);
                scl_layer *pl = add(b, SCL_LAYER_AVGPOOL, ap, trunk, cin, 1, 2, 0, next.buf, slot0);
                (void)pl;
                layer_into(b, SCL_LAYER_POINTWISE, m2, 0, 1, f, c - cin, g, 1, SCL_OP_RELU,
                           next.buf, slot1);
                free(slot0), free(slot1);
                mark_v1_unit(b, first, 2);
            } else {
                /* relu(main + x), written over x's own planes; fusable: over the spare ones */
                scl_layer *l = layer_into(b, SCL_LAYER_POINTWISE, m2, 0, 1, f, c, g, 1,
                                          SCL_OP_RELU | SCL_OP_RESIDUAL, trunk.buf,
                                          b->spare ? spare : trunk.map);
                if (l) {
                    l->res_buf = trunk.buf;
                    l->res_map = copy_map(b, trunk.map, c);
                }
                next = (value){trunk.buf, c, copy_map(b, trunk.map, c)};
                if (b->spare && next.map) swap_spare(next.map, spare, c);
                mark_v1_unit(b, first, 1);
            }
            free(e.map), free(f.map), free(trunk.map);
            trunk = next;
            if (b->failed) break;
        }
    }
    free(spare);
    if (b->failed) {
        free(trunk.map);
        return;
    }
    value logits = fresh(b, b->m->classes, level);
    scl_layer *fc = add(b, SCL_LAYER_GAP_FC, "classifier.0", trunk, b->m->classes, 1, 1, 0,
                        logits.buf, logits.map);
    if (fc) snprintf(fc->weight_key, sizeof fc->weight_key, "classifier.0.weight");
    free(trunk.map), free(logits.map);
}

/* Channels offset, offset + stride, ... of a map: a strided map composed with it (Megvii's even
 * and odd halves). */
static int *pick(builder *b, const int *map, int n, int offset, int stride) {
    int *t = table(b, n);
    if (t && map)
        for (int c = 0; c < n; c++)
            t[c] = map[offset + c * stride];
    return t;
}

/* Explicit mode: concat(x1, x2) as two copies into a fresh buffer (no shuffle: Megvii's V2). */
static value concat_copies(builder *b, const char *unit, value x1, value x2, int level) {
    value out = fresh(b, x1.channels + x2.channels, level);
    char name[96];
    snprintf(name, sizeof name, "%s.concat", unit);
    if (out.map) {
        copy_into(b, name, x1, 1, 0, out.buf, out.map);
        copy_into(b, name, x2, 1, 0, out.buf, out.map + x1.channels);
    }
    return out;
}

/* Megvii's stride-2 unit: concat(branch_proj(x), branch_main(x)), C_in + (C - C_in) channels,
 * each branch writing its own slot of the next trunk. */
static value megvii_v2_down(builder *b, const char *unit, value trunk, int c, int level,
                            int **spare) {
    char pm[64], pp[64];
    snprintf(pm, sizeof pm, "%s.branch_main", unit);
    snprintf(pp, sizeof pp, "%s.branch_proj", unit);
    int cin = trunk.channels, half = c / 2;
    /* every buffer made must be used: the planner reads an unused one as dead from the start */
    value next = {0, 0, NULL}, pv, mv;
    if (b->explicit_copies) {
        pv = fresh(b, cin, level), mv = fresh(b, c - cin, level);
    } else {
        next = stage_trunk(b, c, half, level, spare), pv = next, mv = next;
        pv.map = strided(b, cin, 0, 1), mv.map = strided(b, c - cin, cin, 1);
    }
    int first = b->m->nlayers;
    value d = layer_to_fresh(b, SCL_LAYER_DEPTHWISE, pp, 0, 1, trunk, cin, cin, 2, 0, level);
    layer_into(b, SCL_LAYER_POINTWISE, pp, 2, 3, d, cin, 1, 1, SCL_OP_RELU, pv.buf, pv.map);
    value e =
        layer_to_fresh(b, SCL_LAYER_POINTWISE, pm, 0, 1, trunk, half, 1, 1, SCL_OP_RELU, level - 1);
    value f = layer_to_fresh(b, SCL_LAYER_DEPTHWISE, pm, 3, 4, e, half, half, 2, 0, level);
    layer_into(b, SCL_LAYER_POINTWISE, pm, 5, 6, f, c - cin, 1, 1, SCL_OP_RELU, mv.buf, mv.map);
    mark_unit(b, first, 2, 1);
    if (b->explicit_copies) next = concat_copies(b, unit, pv, mv, level);
    free(pv.map), free(mv.map), free(d.map), free(e.map), free(f.map);
    return next;
}

/* Megvii's stride-1 unit: out = concat(x[0::2], branch_main(x[1::2])) and no shuffle. The
 * branch overwrites the odd planes it read, so the new trunk is the even planes then the odd. */
static value megvii_v2_unit(builder *b, const char *unit, value trunk, int level, int *spare) {
    char pm[64];
    snprintf(pm, sizeof pm, "%s.branch_main", unit);
    int c = trunk.channels, half = c / 2;
    value even = {trunk.buf, half, pick(b, trunk.map, half, 0, 2)};
    value odd = {trunk.buf, half, pick(b, trunk.map, half, 1, 2)};
    value next = {trunk.buf, c, b->explicit_copies ? NULL : table(b, c)};
    if (b->explicit_copies) {
        char name[96];
        snprintf(name, sizeof name, "%s.split", unit);
        value xp = fresh(b, half, level), xm = fresh(b, half, level);
        copy_into(b, name, even, 1, 0, xp.buf, xp.map);
        copy_into(b, name, odd, 1, 0, xm.buf, xm.map);
        free(even.map), free(odd.map);
        even = xp, odd = xm;
    }
    int first = b->m->nlayers;
    value e = layer_to_fresh(b, SCL_LAYER_POINTWISE, pm, 0, 1, odd, half, 1, 1, SCL_OP_RELU, level);
    value f = layer_to_fresh(b, SCL_LAYER_DEPTHWISE, pm, 3, 4, e, half, half, 1, 0, level);
    if (b->explicit_copies) {
        value g =
            layer_to_fresh(b, SCL_LAYER_POINTWISE, pm, 5, 6, f, half, 1, 1, SCL_OP_RELU, level);
        next = concat_copies(b, unit, even, g, level);
        free(g.map);
    } else {
        layer_into(b, SCL_LAYER_POINTWISE, pm, 5, 6, f, half, 1, 1, SCL_OP_RELU, trunk.buf,
                   b->spare ? spare : odd.map);
        if (next.map && even.map && odd.map)
            for (int i = 0; i < half; i++)
                next.map[i] = even.map[i], next.map[half + i] = odd.map[i];
        if (b->spare && next.map) swap_spare(next.map + half, spare, half);
        mark_unit(b, first, 1, 1);
    }
    free(even.map), free(odd.map), free(e.map), free(f.map);
    return next;
}

static void build_megvii_v2(builder *b, const scl_model_desc *s) {
    value x = {0, 3, NULL};
    x.map = strided(b, 3, 0, 1);
    value stem = layer_to_fresh(b, SCL_LAYER_STEM, "first_conv", 0, 1, x, s->stem_width, 1, 2,
                                SCL_OP_RELU, 1);
    value trunk =
        layer_to_fresh(b, SCL_LAYER_MAXPOOL, "maxpool", 0, 0, stem, s->stem_width, 1, 2, 0, 2);
    b->m->layers[b->m->nlayers - 1].name[7] = '\0';
    free(x.map), free(stem.map);
    int level = 2, k = 0;
    int *spare = NULL; /* fusable builds: the trunk's spare planes */
    for (int st = 0; st < SCL_MODEL_STAGES; st++)
        for (int u = 0; u < s->stage_repeats[st]; u++, k++) {
            char unit[32];
            snprintf(unit, sizeof unit, "features.%d", k);
            if (!trunk.map || (b->spare && u > 0 && !spare)) b->failed = 1;
            if (b->failed) break;
            value next = u == 0
                             ? megvii_v2_down(b, unit, trunk, s->stage_widths[st], ++level, &spare)
                             : megvii_v2_unit(b, unit, trunk, level, spare);
            free(trunk.map);
            trunk = next;
        }
    free(spare);
    value last = layer_to_fresh(b, SCL_LAYER_POINTWISE, "conv_last", 0, 1, trunk, s->last_width, 1,
                                1, SCL_OP_RELU, level);
    free(trunk.map);
    value logits = fresh(b, b->m->classes, level);
    scl_layer *fc = add(b, SCL_LAYER_GAP_FC, "classifier.0", last, b->m->classes, 1, 1, 0,
                        logits.buf, logits.map);
    if (fc) snprintf(fc->weight_key, sizeof fc->weight_key, "classifier.0.weight");
    free(last.map), free(logits.map);
}

static scl_status build(const scl_model_desc *d, int explicit_copies, int fusable,
                        scl_model **out) {
    *out = NULL;
    scl_model *m = calloc(1, sizeof *m);
    if (!m) return SCL_ERROR_OUT_OF_MEMORY;
    const char *preset = scl__desc_preset_name(d);
    if (preset)
        snprintf(m->name, sizeof m->name, "%s", preset);
    else
        snprintf(m->name, sizeof m->name, "custom %s", scl__layout_name(d->layout));
    m->desc = *d;
    m->family = d->family;
    m->groups = d->groups;
    m->classes = d->classes;
    m->fusable = fusable && !explicit_copies;
    builder b = {m, explicit_copies, m->fusable, 0};
    new_buf(&b, 3, 0); /* buffer 0: the input */
    if (d->layout == SCL_LAYOUT_TORCHVISION_V2)
        build_v2(&b, d);
    else if (d->layout == SCL_LAYOUT_MEGVII_V2)
        build_megvii_v2(&b, d);
    else
        build_v1(&b, d);
    if (b.failed) {
        scl__model_free(m);
        return SCL_ERROR_OUT_OF_MEMORY;
    }
    *out = m;
    return SCL_OK;
}

scl_status scl__model_build_desc(const scl_model_desc *d, int explicit_copies, scl_model **out) {
    return build(d, explicit_copies, 0, out);
}

scl_status scl__model_build_fusable(const scl_model_desc *d, int fusable, scl_model **out) {
    return build(d, 0, fusable, out);
}

scl_status scl__model_build(const char *name, int explicit_copies, scl_model **out) {
    scl_model_desc d;
    *out = NULL;
    if (!scl__desc_preset(name, &d)) return SCL_ERROR_UNSUPPORTED_MODEL;
    return scl__model_build_desc(&d, explicit_copies, out);
}

void scl__model_free(scl_model *m) {
    if (!m) return;
    for (int i = 0; i < m->nlayers; i++) {
        free(m->layers[i].in_map);
        free(m->layers[i].out_map);
        free(m->layers[i].res_map);
    }
    free(m->layers);
    free(m->bufs);
    free(m);
}

int64_t scl__layer_params(const scl_layer *l) {
    int64_t w = 0;
    switch (l->kind) {
    case SCL_LAYER_STEM:
        w = (int64_t)l->cout * 3 * 9;
        break;
    case SCL_LAYER_POINTWISE:
        w = (int64_t)l->cout * (l->cin / l->groups);
        break;
    case SCL_LAYER_DEPTHWISE:
        w = (int64_t)l->cout * 9;
        break;
    case SCL_LAYER_GAP_FC:
        w = (int64_t)l->cout * l->cin;
        break;
    default:
        return 0;
    }
    if (l->bn_key[0]) w += 2 * (int64_t)l->cout; /* gamma and beta */
    if (l->bias_key[0]) w += l->cout;
    return w;
}

int64_t scl__layer_macs(const scl_layer *l, int out_h, int out_w) {
    int64_t hw = (int64_t)out_h * out_w;
    switch (l->kind) {
    case SCL_LAYER_STEM:
        return hw * l->cout * 27;
    case SCL_LAYER_POINTWISE:
        return hw * l->cout * (l->cin / l->groups);
    case SCL_LAYER_DEPTHWISE:
        return hw * l->cout * 9;
    case SCL_LAYER_GAP_FC:
        return (int64_t)l->cout * l->cin;
    default:
        return 0;
    }
}

int scl__level_size(int size, int level) {
    for (int i = 0; i < level; i++)
        size = scl__stride2(size);
    return size;
}
