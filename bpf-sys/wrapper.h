/* The uapi headers bpf-sys binds. Only kernel uapi, no libbpf. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/version.h>
