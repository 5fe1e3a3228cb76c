/*
 * vmlab_export.h: which symbols leave the shared library.
 *
 * libvmlab.so is compiled with -fvisibility=hidden: every symbol is local
 * to the library unless its declaration carries VMLAB_EXPORT, and only the
 * public API (include/vmlab/, all names vmlab_*) does.  The kernel services
 * and the VM (msleep, wakeup, vm_page_alloc, ...) stay inside, so an
 * embedder's own symbols of the same names do not collide with them and
 * the library's internal calls bind directly.  The static library is
 * compiled without hiding (its programs name every function in panic
 * backtraces); the attribute is harmless there and in programs that
 * include the headers.
 */
#ifndef VMLAB_VMLAB_EXPORT_H
#define VMLAB_VMLAB_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define VMLAB_EXPORT __attribute__((visibility("default")))
#else
#define VMLAB_EXPORT
#endif

#endif /* !VMLAB_VMLAB_EXPORT_H */
