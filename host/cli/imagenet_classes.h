/* imagenet_classes.h: the 1000 ImageNet-1k class names, indexed by classifier output. */
#ifndef SCL_IMAGENET_CLASSES_H
#define SCL_IMAGENET_CLASSES_H

extern const char *const scl_imagenet_classes[1000];

#endif /* SCL_IMAGENET_CLASSES_H */
