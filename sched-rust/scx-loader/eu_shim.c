/* SPDX-License-Identifier: GPL-2.0 OR LGPL-3.0-or-later */
/*
 * Stand-ins for elfutils' internal lib/eu-search.c helpers, which Debian's
 * libelf.a (elfutils 0.192) references but does not ship (they live in the
 * uninstalled libeu.a). Same behaviour as upstream minus the optional
 * rwlock: the tree struct starts with `void *root` in every configuration,
 * and libbpf drives libelf from a single thread.
 * Only linked in when libelf.a leaves these symbols undefined.
 */
#define _GNU_SOURCE
#include <search.h>
#include <stddef.h>

typedef struct {
	void *root;
	/* followed by an rwlock in thread-safe builds; never touched here */
} eu_search_tree;

void *eu_tsearch(const void *key, eu_search_tree *tree,
		 int (*compare)(const void *, const void *))
{
	return tsearch(key, &tree->root, compare);
}

void *eu_tfind(const void *key, eu_search_tree *tree,
	       int (*compare)(const void *, const void *))
{
	return tfind(key, &tree->root, compare);
}

void *eu_tdelete(const void *key, eu_search_tree *tree,
		 int (*compare)(const void *, const void *))
{
	return tdelete(key, &tree->root, compare);
}

void eu_tdestroy(eu_search_tree *tree, void (*free_node)(void *))
{
	tdestroy(tree->root, free_node);
	tree->root = NULL;
}

void eu_search_tree_init(eu_search_tree *tree)
{
	tree->root = NULL;
}

void eu_search_tree_fini(eu_search_tree *tree, void (*free_node)(void *))
{
	eu_tdestroy(tree, free_node);
}
