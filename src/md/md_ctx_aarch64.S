/*
 * Context switch for AArch64 (AAPCS64).
 *
 * void md_ctx_swap(void **save_sp, void *new_sp)
 *	Saves x19-x30 and d8-d15 in a 176-byte frame on the current stack,
 *	stores sp in *save_sp, loads new_sp, restores the frame found there
 *	and returns through x30.
 *
 * A new context's frame, laid out by md_ctx_create(), has x19 = struct
 * md_ctx *, x29 = 0 and x30 = md_ctx_trampoline; everything else is zero.
 *
 * Both symbols are .hidden: internal to libvmlab, never exported by the
 * shared library (only vmlab_* symbols are).
 */
	.text
	.globl	md_ctx_swap
	.hidden	md_ctx_swap
	.type	md_ctx_swap, %function
	.p2align 4
md_ctx_swap:
	sub	sp, sp, #176
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	mov	x9, sp
	str	x9, [x0]
	mov	sp, x1
	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	add	sp, sp, #176
	ret
	.size	md_ctx_swap, .-md_ctx_swap

	.globl	md_ctx_trampoline
	.hidden	md_ctx_trampoline
	.type	md_ctx_trampoline, %function
	.p2align 4
md_ctx_trampoline:
	mov	x0, x19
	bl	md_ctx_entry
	brk	#0
	.size	md_ctx_trampoline, .-md_ctx_trampoline

	.section .note.GNU-stack,"",%progbits
