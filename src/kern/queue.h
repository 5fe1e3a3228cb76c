/*
 * queue.h: intrusive lists.
 *
 * LIST: doubly linked, O(1) removal, head is one pointer.
 * TAILQ: doubly linked with a tail pointer, O(1) insertion at both ends.
 * Each entry keeps the address of the pointer that points at it (`prevp'),
 * so removal needs no knowledge of the head.
 */
#ifndef VMLAB_QUEUE_H
#define VMLAB_QUEUE_H

#include <stddef.h>

#define LIST_HEAD(name, type)                                                  \
	struct name {                                                          \
		struct type *lh_first;                                         \
	}
#define LIST_ENTRY(type)                                                       \
	struct {                                                               \
		struct type *le_next;                                          \
		struct type **le_prevp;                                        \
	}
#define LIST_INIT(head) ((head)->lh_first = NULL)
#define LIST_EMPTY(head) ((head)->lh_first == NULL)
#define LIST_FIRST(head) ((head)->lh_first)
#define LIST_NEXT(elm, field) ((elm)->field.le_next)
#define LIST_INSERT_HEAD(head, elm, field)                                     \
	do {                                                                   \
		(elm)->field.le_next = (head)->lh_first;                       \
		if ((head)->lh_first != NULL)                                  \
			(head)->lh_first->field.le_prevp =                     \
			    &(elm)->field.le_next;                             \
		(head)->lh_first = (elm);                                      \
		(elm)->field.le_prevp = &(head)->lh_first;                     \
	} while (0)
#define LIST_REMOVE(elm, field)                                                \
	do {                                                                   \
		if ((elm)->field.le_next != NULL)                              \
			(elm)->field.le_next->field.le_prevp =                 \
			    (elm)->field.le_prevp;                             \
		*(elm)->field.le_prevp = (elm)->field.le_next;                 \
	} while (0)
#define LIST_FOREACH(var, head, field)                                         \
	for ((var) = (head)->lh_first; (var) != NULL;                          \
	     (var) = (var)->field.le_next)
#define LIST_FOREACH_SAFE(var, head, field, tmp)                               \
	for ((var) = (head)->lh_first;                                         \
	     (var) != NULL && ((tmp) = (var)->field.le_next, 1);               \
	     (var) = (tmp))

#define TAILQ_HEAD(name, type)                                                 \
	struct name {                                                          \
		struct type *tqh_first;                                        \
		struct type **tqh_lastp;                                       \
	}
#define TAILQ_ENTRY(type)                                                      \
	struct {                                                               \
		struct type *tqe_next;                                         \
		struct type **tqe_prevp;                                       \
	}
#define TAILQ_INIT(head)                                                       \
	do {                                                                   \
		(head)->tqh_first = NULL;                                      \
		(head)->tqh_lastp = &(head)->tqh_first;                        \
	} while (0)
#define TAILQ_EMPTY(head) ((head)->tqh_first == NULL)
#define TAILQ_FIRST(head) ((head)->tqh_first)
#define TAILQ_NEXT(elm, field) ((elm)->field.tqe_next)
#define TAILQ_INSERT_HEAD(head, elm, field)                                    \
	do {                                                                   \
		(elm)->field.tqe_next = (head)->tqh_first;                     \
		if ((head)->tqh_first != NULL)                                 \
			(head)->tqh_first->field.tqe_prevp =                   \
			    &(elm)->field.tqe_next;                            \
		else                                                           \
			(head)->tqh_lastp = &(elm)->field.tqe_next;            \
		(head)->tqh_first = (elm);                                     \
		(elm)->field.tqe_prevp = &(head)->tqh_first;                   \
	} while (0)
#define TAILQ_INSERT_TAIL(head, elm, field)                                    \
	do {                                                                   \
		(elm)->field.tqe_next = NULL;                                  \
		(elm)->field.tqe_prevp = (head)->tqh_lastp;                    \
		*(head)->tqh_lastp = (elm);                                    \
		(head)->tqh_lastp = &(elm)->field.tqe_next;                    \
	} while (0)
#define TAILQ_INSERT_AFTER(head, listelm, elm, field)                          \
	do {                                                                   \
		(elm)->field.tqe_next = (listelm)->field.tqe_next;             \
		if ((elm)->field.tqe_next != NULL)                             \
			(elm)->field.tqe_next->field.tqe_prevp =               \
			    &(elm)->field.tqe_next;                            \
		else                                                           \
			(head)->tqh_lastp = &(elm)->field.tqe_next;            \
		(listelm)->field.tqe_next = (elm);                             \
		(elm)->field.tqe_prevp = &(listelm)->field.tqe_next;           \
	} while (0)
#define TAILQ_INSERT_BEFORE(listelm, elm, field)                               \
	do {                                                                   \
		(elm)->field.tqe_prevp = (listelm)->field.tqe_prevp;           \
		(elm)->field.tqe_next = (listelm);                             \
		*(listelm)->field.tqe_prevp = (elm);                           \
		(listelm)->field.tqe_prevp = &(elm)->field.tqe_next;           \
	} while (0)
#define TAILQ_REMOVE(head, elm, field)                                         \
	do {                                                                   \
		if ((elm)->field.tqe_next != NULL)                             \
			(elm)->field.tqe_next->field.tqe_prevp =               \
			    (elm)->field.tqe_prevp;                            \
		else                                                           \
			(head)->tqh_lastp = (elm)->field.tqe_prevp;            \
		*(elm)->field.tqe_prevp = (elm)->field.tqe_next;               \
	} while (0)
#define TAILQ_CONCAT(head1, head2, field)                                      \
	do {                                                                   \
		if (!TAILQ_EMPTY(head2)) {                                     \
			*(head1)->tqh_lastp = (head2)->tqh_first;              \
			(head2)->tqh_first->field.tqe_prevp =                  \
			    (head1)->tqh_lastp;                                \
			(head1)->tqh_lastp = (head2)->tqh_lastp;               \
			TAILQ_INIT(head2);                                     \
		}                                                              \
	} while (0)
#define TAILQ_FOREACH(var, head, field)                                        \
	for ((var) = (head)->tqh_first; (var) != NULL;                         \
	     (var) = (var)->field.tqe_next)
#define TAILQ_FOREACH_SAFE(var, head, field, tmp)                              \
	for ((var) = (head)->tqh_first;                                        \
	     (var) != NULL && ((tmp) = (var)->field.tqe_next, 1);              \
	     (var) = (tmp))

#endif /* !VMLAB_QUEUE_H */
