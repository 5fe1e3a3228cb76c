/*
 * md_host.h: private interfaces between the host backend's files.
 */
#ifndef VMLAB_MD_HOST_H
#define VMLAB_MD_HOST_H

#include <stdint.h>

int md_phys_init(uint64_t size);
void md_phys_fini(void);
void md_ctx_fini(void);

#endif /* !VMLAB_MD_HOST_H */
