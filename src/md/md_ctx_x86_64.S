/*
 * Context switch for x86-64 (System V ABI).
 *
 * void md_ctx_swap(void **save_sp, void *new_sp)
 *	Pushes the callee-saved registers on the current stack, stores the
 *	stack pointer in *save_sp, loads new_sp and pops the registers saved
 *	there.  `ret' then resumes the new context where it called
 *	md_ctx_swap, or in md_ctx_trampoline for a new one.
 *
 * A new context's stack is laid out by md_ctx_create() as
 *	sp+0 r15, +8 r14, +16 r13, +24 r12 (= struct md_ctx *), +32 rbx,
 *	+40 rbp (= 0), +48 return address (= md_ctx_trampoline),
 * with sp + 56 16-byte aligned, so that the trampoline's call is aligned.
 *
 * Both symbols are .hidden: internal to libvmlab, never exported by the
 * shared library (only vmlab_* symbols are).
 */
	.text
	.globl	md_ctx_swap
	.hidden	md_ctx_swap
	.type	md_ctx_swap, @function
	.p2align 4
md_ctx_swap:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.size	md_ctx_swap, .-md_ctx_swap

	.globl	md_ctx_trampoline
	.hidden	md_ctx_trampoline
	.type	md_ctx_trampoline, @function
	.p2align 4
md_ctx_trampoline:
	movq	%r12, %rdi
	xorl	%ebp, %ebp
	call	md_ctx_entry
	ud2
	.size	md_ctx_trampoline, .-md_ctx_trampoline

	.section .note.GNU-stack,"",@progbits
