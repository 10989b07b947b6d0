/*
 * pyobj — reading Python objects of another process: words, type names,
 * ints, dicts in every layout CPython has used, instance attributes. The
 * layout comes from struct py_offsets and its capability fields
 * (dict_model, managed_dict, text_model…), never from a version number.
 *
 * Everything reads through process_vm_readv (proc_mem_read): nothing is
 * written, nothing is allocated, every loop is bounded, and a failure only
 * means "not what was hoped for": the target may change under us.
 * Functions return 0 or a negative errno-style code unless stated.
 */
#ifndef GILSCOPE_PYOBJ_H
#define GILSCOPE_PYOBJ_H

#include <stddef.h>
#include <stdint.h>

#include "proc.h"
#include "pyoffsets.h"

/* pyobj_read — LEN bytes at remote ADDR into BUF. An ADDR below 4096 (NULL,
 * or a small int taken for a pointer) is -EFAULT without a system call;
 * otherwise as proc_mem_read. */
int pyobj_read(struct proc_mem *m, uint64_t addr, void *buf, size_t len);

/* pyobj_read_word — the 8-byte word at ADDR into *V; as pyobj_read. */
int pyobj_read_word(struct proc_mem *m, uint64_t addr, uint64_t *v);

/* pyobj_type_name_is — 1 when OBJ's type (ob_type->tp_name) is named WANT
 * exactly, 0 otherwise (different, unreadable, or WANT longer than 63
 * bytes). Reads only strlen(WANT) + 1 bytes of the name. */
int pyobj_type_name_is(struct proc_mem *m, const struct py_offsets *o, uint64_t obj, const char *want);

/* pyobj_int_value — the value of a small non-negative Python int OBJ (at
 * most 90 bits of digits; 2.7: a PyIntObject, checked by type name) into
 * *V. -EINVAL when OBJ is not such an int, -EFAULT when unreadable. */
int pyobj_int_value(struct proc_mem *m, const struct py_offsets *o, uint64_t obj, uint64_t *v);

/* Called per dict item with a non-NULL key and value; return 1 to stop. */
typedef int (*pyobj_item_fn)(void *ctx, uint64_t key, uint64_t value);

/* pyobj_dict_iter — call FN for each item of the dict object DICT, in
 * entry order, until FN returns 1. Dicts of more than 65536 entries are
 * refused (-EINVAL); -EFAULT when a part cannot be read (FN may have seen
 * some items by then). */
int pyobj_dict_iter(struct proc_mem *m, const struct py_offsets *o, uint64_t dict, pyobj_item_fn fn, void *ctx);

/* pyobj_keys_iter — the same over a 3.x keys object KEYS (PyDictKeysObject),
 * taking values from the values array VALUES (its first value, not the
 * PyDictValues header) when not 0: a split dict or an object's inline
 * values. */
int pyobj_keys_iter(struct proc_mem *m, const struct py_offsets *o, uint64_t keys, uint64_t values,
                    pyobj_item_fn fn, void *ctx);

/* pyobj_dict_get — the value under the string key NAME in dict DICT (keys
 * compared as text read by pystr_read, up to 255 bytes), or 0 when DICT is
 * 0, has no such key, or cannot be read. The value is a remote address:
 * nothing is owned. */
uint64_t pyobj_dict_get(struct proc_mem *m, const struct py_offsets *o, uint64_t dict, const char *name);

/* pyobj_attr_get — the instance attribute NAME of OBJ, through whichever
 * dict the layout gives it (tp_dictoffset, a managed dict, inline or split
 * values), or 0 when it has none or it cannot be read. */
uint64_t pyobj_attr_get(struct proc_mem *m, const struct py_offsets *o, uint64_t obj, const char *name);

#endif
