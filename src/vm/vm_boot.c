/*
 * vm_boot.c: boot and shutdown of the VM layer, in module order.
 */
#include "vm/vm_boot.h"

int
vm_tunables(void)
{
	return (0);
}

int
vm_init(void)
{
	return (0);
}

void
vm_fini(void)
{
}
