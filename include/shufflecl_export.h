/* shufflecl_export.h: the one export macro. The shared library is built with hidden visibility
 * and SHUFFLECL_BUILDING; users of the static library define SHUFFLECL_STATIC. */
#ifndef SHUFFLECL_EXPORT_H
#define SHUFFLECL_EXPORT_H

#if defined(SHUFFLECL_STATIC)
#define SCL_API
#elif defined(_WIN32)
#ifdef SHUFFLECL_BUILDING
#define SCL_API __declspec(dllexport)
#else
#define SCL_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define SCL_API __attribute__((visibility("default")))
#else
#define SCL_API
#endif

#endif
