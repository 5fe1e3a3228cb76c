/*
 * file.h: open files.
 *
 * A struct file is what a descriptor names: an object (a pipe end) and
 * its operations, with a reference per descriptor that names it (fork
 * copies descriptors, each taking a reference).  The last reference
 * closes the object.  read/write move bytes between the object and user
 * memory at `uaddr' of the calling thread's address space (EFAULT if it
 * is not mapped with the needed access); they return the count moved or
 * -errno.
 *
 * Locking key: (a) atomic; (c) constant; (f) the object's own lock.
 */
#ifndef VMLAB_FILE_H
#define VMLAB_FILE_H

#include "vm/vm_param.h"

#include <stddef.h>
#include <stdint.h>

struct file;

struct fileops {
	int64_t (*fo_read)(struct file *fp, vm_offset_t uaddr, size_t len);
	int64_t (*fo_write)(struct file *fp, vm_offset_t uaddr, size_t len);
	void (*fo_close)(struct file *fp);
};

/* f_flag */
#define FREAD 0x1
#define FWRITE 0x2
#define FNONBLOCK 0x4

struct file {
	const struct fileops *f_ops; /* (c) */
	void *f_data;		     /* (c) */
	uint32_t f_count;	     /* (a) references */
	uint32_t f_flag;	     /* (a) F* */
};

/* A new file with one reference; NULL if out of memory. */
struct file *falloc(const struct fileops *ops, void *data, uint32_t flag);
void fhold(struct file *fp);
/* Drops a reference; the last one closes the object and frees fp. */
void fdrop(struct file *fp);
uint64_t file_count(void);

#endif /* !VMLAB_FILE_H */
