/*
 * kern_bootstep.c: tables of boot steps with unwinding, and boot errors
 * (see boot.h).
 *
 * Locking key:
 *	(b) the booting thread, between boot_msg_begin() and boot_msg_end()
 */
#include "kern/boot.h"
#include "kern/sysctl.h"
#include "md/md.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define BOOT_NAMEMAX 64

static char *boot_msg;			   /* (b) the boot's message, or NULL */
static size_t boot_msglen;		   /* (b) */
static char boot_fail_after[BOOT_NAMEMAX]; /* tunable: step to fail */

int
boot_tunables(void)
{
	return (tunable_str_register("kern.boot.fail_after", boot_fail_after,
	    sizeof(boot_fail_after), "",
	    "test hook: boot fails with EIO right after the init of the boot "
	    "step of this name, unwinding it and every step before it"));
}

void
boot_msg_begin(char *err, size_t errlen)
{
	boot_msg = errlen > 0 ? err : NULL;
	boot_msglen = errlen;
	if (boot_msg != NULL)
		boot_msg[0] = '\0';
}

void
boot_msg_end(void)
{
	boot_msg = NULL;
	boot_msglen = 0;
}

void
boot_error(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	if (boot_msg == NULL) {
		vsnprintf(buf, sizeof(buf), fmt, ap);
		md_printf("%s\n", buf);
	} else if (boot_msg[0] == '\0')
		vsnprintf(boot_msg, boot_msglen, fmt, ap);
	va_end(ap);
}

/* Undoes steps [0, n), last first. */
void
boot_steps_fini(const struct boot_step *bs, size_t n)
{
	while (n-- > 0)
		if (bs[n].bs_fini != NULL)
			bs[n].bs_fini();
}

void
boot_steps_stop(const struct boot_step *bs, size_t n)
{
	while (n-- > 0)
		if (bs[n].bs_stop != NULL)
			bs[n].bs_stop();
}

int
boot_steps_init(const struct boot_step *bs, size_t n)
{
	size_t i;
	int error = 0;

	for (i = 0; i < n; i++) {
		if (bs[i].bs_init != NULL && (error = bs[i].bs_init()) != 0)
			break;
		if (strcmp(boot_fail_after, bs[i].bs_name) == 0) {
			if (bs[i].bs_fini != NULL)
				bs[i].bs_fini();
			boot_error("%s: failure injected after its init "
				   "(kern.boot.fail_after)",
			    bs[i].bs_name);
			error = EIO;
			break;
		}
	}
	if (error == 0)
		return (0);
	boot_error("%s: %s", bs[i].bs_name, strerror(error));
	boot_steps_fini(bs, i);
	return (error);
}
