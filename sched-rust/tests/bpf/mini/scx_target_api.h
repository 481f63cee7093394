/* SPDX-License-Identifier: GPL-2.0 */
/* Host-test stand-in (see mini/vmlinux.h): the kfuncs mini/vmlinux.h declares. */
#pragma once
#define SCX_TARGET_KERNEL "mini-host-test"
#define SCX_HAS_scx_bpf_create_dsq 1
#define SCX_HAS_scx_bpf_dsq_insert 1
#define SCX_HAS_scx_bpf_dsq_insert_vtime 1
#define SCX_HAS_scx_bpf_dsq_move_to_local 1
#define SCX_HAS_scx_bpf_error_bstr 1
#define SCX_HAS_scx_bpf_now 1
#define SCX_HAS_scx_bpf_select_cpu_dfl 1
