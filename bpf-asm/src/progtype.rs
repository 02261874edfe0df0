//! What each program type allows, as root: the helpers it may call and its
//! context layout (which fields it may read or write, at which sizes, and
//! which hold pointers).
//!
//! The layouts come from `bpf-sys` (`struct __sk_buff`, `struct xdp_md`,
//! offsets by `offset_of!`); the rules are the kernel's
//! `*_is_valid_access` and `*_func_proto` functions in `net/core/filter.c`.
//! `tests/kernel_progtypes.rs` proves every table against the running
//! kernel: one probe load per helper id and per context offset × size ×
//! read/write.
//!
//! ```
//! use bpf_asm::progtype::{self, Refusal};
//! use bpf_sys::ProgType;
//!
//! let t = progtype::table(ProgType::SocketFilter).unwrap();
//! assert!(t.may_call("skb_load_bytes"));
//! assert!(!t.may_call("clone_redirect"));
//! // `__sk_buff.protocol` (offset 16): narrow loads are fine, 8 bytes are not.
//! assert!(t.access(16, 2, false).is_ok());
//! assert!(matches!(t.access(16, 8, false), Err(Refusal::Size(_))));
//! ```

use core::mem::{offset_of, size_of};

use bpf_sys::{__sk_buff, ProgType, xdp_md};

/// The access sizes a field takes, read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Any power-of-two size up to the element's, at an offset inside the
    /// element aligned to the size (the kernel's narrow loads).
    Narrow,
    /// Exactly the element's size, at the element's start.
    Whole,
    /// Any of 1, 2, 4 and 8 bytes, aligned to the size, inside the field
    /// (`cb[]`, which the kernel treats as one 20-byte area).
    Any,
}

/// One field of a context structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field's name in the uapi header (`mark`, `cb`, `remote_ip6`).
    pub name: &'static str,
    /// Its offset in the structure.
    pub off: u32,
    /// Its size in bytes (all elements, for an array).
    pub size: u32,
    /// The size of one element (the field's size unless an array).
    pub elem: u32,
    /// How it may be read, if at all.
    pub read: Option<Rule>,
    /// How it may be written, if at all.
    pub write: Option<Rule>,
    /// A read gives a pointer (packet, packet end, socket), not a number.
    pub ptr: bool,
}

impl Field {
    /// The valid accesses of the field by `rule`, in words: "4 bytes (or
    /// narrower loads of 1 or 2 bytes at aligned offsets)".
    pub fn describe(&self, rule: Rule) -> String {
        let elem = self.elem;
        match rule {
            Rule::Narrow if elem == 8 => {
                "8 bytes (or narrower loads of 1, 2 or 4 bytes at aligned offsets)".to_owned()
            }
            Rule::Narrow if elem == 4 => {
                "4 bytes (or narrower loads of 1 or 2 bytes at aligned offsets)".to_owned()
            }
            Rule::Narrow if elem == 2 => {
                "2 bytes (or narrower loads of 1 byte at aligned offsets)".to_owned()
            }
            Rule::Any => "1, 2, 4 or 8 bytes at offsets aligned to the size".to_owned(),
            _ if self.size > elem => format!("{elem} bytes per element"),
            _ => format!("{elem} bytes"),
        }
    }
}

/// Why the kernel refuses a context access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The offset is outside the structure or in its padding.
    Outside,
    /// The offset is not a multiple of the size.
    Misaligned(&'static Field),
    /// The program type may not read (or write) this field at all.
    Field(&'static Field),
    /// The field takes other sizes (or, for an access inside it, other
    /// offsets).
    Size(&'static Field),
}

/// What a program type allows.
#[derive(Debug)]
pub struct Table {
    /// The program type.
    pub prog_type: ProgType,
    /// Its context structure's name (`__sk_buff`, `xdp_md`).
    pub ctx: &'static str,
    /// The structure's size.
    pub ctx_size: u32,
    /// The structure's fields, in order.
    pub fields: &'static [Field],
    /// The helpers it may call, by name (without `bpf_`), in id order.
    /// Names the header lacks are never called.
    pub helpers: &'static [&'static str],
}

impl Table {
    /// The field holding byte `off`.
    pub fn field_at(&self, off: i64) -> Option<&'static Field> {
        let fields: &'static [Field] = self.fields;
        fields
            .iter()
            .find(|f| i64::from(f.off) <= off && off < i64::from(f.off + f.size))
    }

    /// Whether the kernel accepts a `size`-byte load (or store) at `off`.
    pub fn access(&self, off: i64, size: u8, write: bool) -> Result<&'static Field, Refusal> {
        let f = self.field_at(off).ok_or(Refusal::Outside)?;
        let size = i64::from(size);
        if size == 0 || off % size != 0 {
            return Err(Refusal::Misaligned(f));
        }
        let rule = if write { f.write } else { f.read };
        let rule = rule.ok_or(Refusal::Field(f))?;
        let inside = off - i64::from(f.off);
        let elem = i64::from(f.elem);
        let ok = match rule {
            Rule::Narrow => size <= elem && (inside % elem) + size <= elem,
            Rule::Whole => size == elem && inside % elem == 0,
            Rule::Any => size <= 8 && inside + size <= i64::from(f.size),
        };
        if ok { Ok(f) } else { Err(Refusal::Size(f)) }
    }

    /// Whether the type may call the helper `name` (without `bpf_`).
    pub fn may_call(&self, name: &str) -> bool {
        self.helpers.contains(&name)
    }

    /// The name users write in `#![prog_type = ...]`.
    pub fn name(&self) -> &'static str {
        self.prog_type.name()
    }
}

/// The table of `prog_type`, if there is one: `socket_filter`, `sched_cls`,
/// `sched_act`, `xdp` and `cgroup_skb`.
pub fn table(prog_type: ProgType) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.prog_type == prog_type)
}

/// Every table.
pub static TABLES: [Table; 5] = [
    Table {
        prog_type: ProgType::SocketFilter,
        ctx: "__sk_buff",
        ctx_size: size_of::<__sk_buff>() as u32,
        fields: &SOCKET_FILTER,
        helpers: SOCKET_FILTER_HELPERS,
    },
    Table {
        prog_type: ProgType::SchedCls,
        ctx: "__sk_buff",
        ctx_size: size_of::<__sk_buff>() as u32,
        fields: &TC,
        helpers: TC_HELPERS,
    },
    Table {
        prog_type: ProgType::SchedAct,
        ctx: "__sk_buff",
        ctx_size: size_of::<__sk_buff>() as u32,
        fields: &TC,
        helpers: TC_HELPERS,
    },
    Table {
        prog_type: ProgType::Xdp,
        ctx: "xdp_md",
        ctx_size: size_of::<xdp_md>() as u32,
        fields: &XDP,
        helpers: XDP_HELPERS,
    },
    Table {
        prog_type: ProgType::CgroupSkb,
        ctx: "__sk_buff",
        ctx_size: size_of::<__sk_buff>() as u32,
        fields: &CGROUP_SKB,
        helpers: CGROUP_SKB_HELPERS,
    },
];

/// The offsets of the fields of `struct __sk_buff` that hold pointers for
/// some program type (`data`, `data_end`, `data_meta`, `flow_keys`, `sk`).
pub const SKB_POINTERS: [u32; 5] = [
    offset_of!(__sk_buff, data) as u32,
    offset_of!(__sk_buff, data_end) as u32,
    offset_of!(__sk_buff, data_meta) as u32,
    offset_of!(__sk_buff, __bindgen_anon_1) as u32,
    offset_of!(__sk_buff, __bindgen_anon_2) as u32,
];

/// Which `__sk_buff` rules: the program types of `filter.c`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Skb {
    SocketFilter,
    Tc,
    Cgroup,
}

const N: Option<Rule> = Some(Rule::Narrow);
const W: Option<Rule> = Some(Rule::Whole);
const A: Option<Rule> = Some(Rule::Any);
const NO: Option<Rule> = None;

/// `struct __sk_buff`'s fields: name, offset, size, element size.
const SKB_LAYOUT: [(&str, usize, usize, usize); 34] = {
    macro_rules! f {
        ($name:literal, $field:ident, $elem:ty) => {
            f!($name, $field, $elem, $elem)
        };
        ($name:literal, $field:ident, $ty:ty, $elem:ty) => {
            (
                $name,
                offset_of!(__sk_buff, $field),
                size_of::<$ty>(),
                size_of::<$elem>(),
            )
        };
    }
    [
        f!("len", len, u32),
        f!("pkt_type", pkt_type, u32),
        f!("mark", mark, u32),
        f!("queue_mapping", queue_mapping, u32),
        f!("protocol", protocol, u32),
        f!("vlan_present", vlan_present, u32),
        f!("vlan_tci", vlan_tci, u32),
        f!("vlan_proto", vlan_proto, u32),
        f!("priority", priority, u32),
        f!("ingress_ifindex", ingress_ifindex, u32),
        f!("ifindex", ifindex, u32),
        f!("tc_index", tc_index, u32),
        f!("cb", cb, [u32; 5], u32),
        f!("hash", hash, u32),
        f!("tc_classid", tc_classid, u32),
        f!("data", data, u32),
        f!("data_end", data_end, u32),
        f!("napi_id", napi_id, u32),
        f!("family", family, u32),
        f!("remote_ip4", remote_ip4, u32),
        f!("local_ip4", local_ip4, u32),
        f!("remote_ip6", remote_ip6, [u32; 4], u32),
        f!("local_ip6", local_ip6, [u32; 4], u32),
        f!("remote_port", remote_port, u32),
        f!("local_port", local_port, u32),
        f!("data_meta", data_meta, u32),
        f!("flow_keys", __bindgen_anon_1, u64),
        f!("tstamp", tstamp, u64),
        f!("wire_len", wire_len, u32),
        f!("gso_segs", gso_segs, u32),
        f!("sk", __bindgen_anon_2, u64),
        f!("gso_size", gso_size, u32),
        f!("tstamp_type", tstamp_type, u8),
        f!("hwtstamp", hwtstamp, u64),
    ]
};

/// The read rule, write rule and pointer flag of an `__sk_buff` field, by
/// name, for `t` (`sk_filter_is_valid_access`,
/// `tc_cls_act_is_valid_access`, `cg_skb_is_valid_access`, each ending in
/// `bpf_skb_is_valid_access`).
const fn skb_rule(t: Skb, name: &str) -> (Option<Rule>, Option<Rule>, bool) {
    let tc = matches!(t, Skb::Tc);
    let cg = matches!(t, Skb::Cgroup);
    let sf = matches!(t, Skb::SocketFilter);
    let b = name.as_bytes();
    // The common rules, and who refuses what before them.
    if eq(b, "cb") {
        (A, A, false)
    } else if eq(b, "data") || eq(b, "data_end") {
        if sf { (NO, NO, false) } else { (W, NO, true) }
    } else if eq(b, "data_meta") {
        if tc { (W, NO, true) } else { (NO, NO, false) }
    } else if eq(b, "tc_classid") {
        if tc { (N, W, false) } else { (NO, NO, false) }
    } else if eq(b, "family")
        || eq(b, "remote_ip4")
        || eq(b, "local_ip4")
        || eq(b, "remote_ip6")
        || eq(b, "local_ip6")
        || eq(b, "remote_port")
        || eq(b, "local_port")
    {
        if cg {
            let r = if eq(b, "remote_port") || eq(b, "local_port") || eq(b, "family") {
                N
            } else {
                W
            };
            (r, NO, false)
        } else {
            (NO, NO, false)
        }
    } else if eq(b, "flow_keys") {
        (NO, NO, false)
    } else if eq(b, "tstamp_type") {
        // One byte, read by tc programs only.
        if tc { (W, NO, false) } else { (NO, NO, false) }
    } else if eq(b, "tstamp") {
        if sf { (NO, NO, false) } else { (W, W, false) }
    } else if eq(b, "hwtstamp") {
        if sf { (NO, NO, false) } else { (W, NO, false) }
    } else if eq(b, "wire_len") {
        if tc { (N, NO, false) } else { (NO, NO, false) }
    } else if eq(b, "sk") {
        (W, NO, true)
    } else if eq(b, "mark") || eq(b, "priority") {
        (N, if sf { NO } else { W }, false)
    } else if eq(b, "tc_index") || eq(b, "queue_mapping") {
        (N, if tc { W } else { NO }, false)
    } else {
        (N, NO, false)
    }
}

const fn eq(a: &[u8], b: &str) -> bool {
    let b = b.as_bytes();
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn skb_fields(t: Skb) -> [Field; 34] {
    let mut out = [Field {
        name: "",
        off: 0,
        size: 0,
        elem: 0,
        read: None,
        write: None,
        ptr: false,
    }; 34];
    let mut i = 0;
    while i < SKB_LAYOUT.len() {
        let (name, off, size, elem) = SKB_LAYOUT[i];
        let (read, write, ptr) = skb_rule(t, name);
        out[i] = Field {
            name,
            off: off as u32,
            size: size as u32,
            elem: elem as u32,
            read,
            write,
            ptr,
        };
        i += 1;
    }
    out
}

static SOCKET_FILTER: [Field; 34] = skb_fields(Skb::SocketFilter);
static TC: [Field; 34] = skb_fields(Skb::Tc);
static CGROUP_SKB: [Field; 34] = skb_fields(Skb::Cgroup);

/// `struct xdp_md` (`xdp_is_valid_access`): 4-byte reads only, no writes
/// (but for device-bound programs), `egress_ifindex` only for devmap
/// programs.
static XDP: [Field; 6] = {
    const fn x(name: &'static str, off: usize, ptr: bool, read: Option<Rule>) -> Field {
        Field {
            name,
            off: off as u32,
            size: 4,
            elem: 4,
            read,
            write: None,
            ptr,
        }
    }
    [
        x("data", offset_of!(xdp_md, data), true, W),
        x("data_end", offset_of!(xdp_md, data_end), true, W),
        x("data_meta", offset_of!(xdp_md, data_meta), true, W),
        x(
            "ingress_ifindex",
            offset_of!(xdp_md, ingress_ifindex),
            false,
            W,
        ),
        x(
            "rx_queue_index",
            offset_of!(xdp_md, rx_queue_index),
            false,
            W,
        ),
        x(
            "egress_ifindex",
            offset_of!(xdp_md, egress_ifindex),
            false,
            NO,
        ),
    ]
};

// The helpers, in id order (`bpf_base_func_proto` and each type's
// `*_func_proto`).

/// `sk_filter_func_proto`, then `bpf_base_func_proto` (with CAP_PERFMON:
/// the tracing helpers too).
static SOCKET_FILTER_HELPERS: &[&str] = &[
    "map_lookup_elem",
    "map_update_elem",
    "map_delete_elem",
    "ktime_get_ns",
    "trace_printk",
    "get_prandom_u32",
    "get_smp_processor_id",
    "tail_call",
    "get_current_pid_tgid",
    "get_current_uid_gid",
    "get_current_comm",
    "get_cgroup_classid",
    "perf_event_read",
    "perf_event_output",
    "skb_load_bytes",
    "get_current_task",
    "current_task_under_cgroup",
    "get_numa_node_id",
    "get_socket_cookie",
    "get_socket_uid",
    "perf_event_read_value",
    "skb_load_bytes_relative",
    "get_current_cgroup_id",
    "map_push_elem",
    "map_pop_elem",
    "map_peek_elem",
    "spin_lock",
    "spin_unlock",
    "strtol",
    "strtoul",
    "send_signal",
    "probe_read_user",
    "probe_read_kernel",
    "probe_read_user_str",
    "probe_read_kernel_str",
    "send_signal_thread",
    "jiffies64",
    "get_ns_current_pid_tgid",
    "get_netns_cookie",
    "get_current_ancestor_cgroup_id",
    "ktime_get_boot_ns",
    "ringbuf_output",
    "ringbuf_reserve",
    "ringbuf_submit",
    "ringbuf_discard",
    "ringbuf_query",
    "skc_to_tcp6_sock",
    "skc_to_tcp_sock",
    "skc_to_tcp_timewait_sock",
    "skc_to_tcp_request_sock",
    "skc_to_udp6_sock",
    "get_task_stack",
    "snprintf_btf",
    "per_cpu_ptr",
    "this_cpu_ptr",
    "task_storage_get",
    "task_storage_delete",
    "get_current_task_btf",
    "ktime_get_coarse_ns",
    "for_each_map_elem",
    "snprintf",
    "timer_init",
    "timer_set_callback",
    "timer_start",
    "timer_cancel",
    "task_pt_regs",
    "get_branch_snapshot",
    "trace_vprintk",
    "skc_to_unix_sock",
    "find_vma",
    "loop",
    "strncmp",
    "kptr_xchg",
    "map_lookup_percpu_elem",
    "skc_to_mptcp_sock",
    "dynptr_from_mem",
    "ringbuf_reserve_dynptr",
    "ringbuf_submit_dynptr",
    "ringbuf_discard_dynptr",
    "dynptr_read",
    "dynptr_write",
    "dynptr_data",
    "ktime_get_tai_ns",
    "user_ringbuf_drain",
];

/// `tc_cls_act_func_proto` (sched_cls and sched_act).
static TC_HELPERS: &[&str] = &[
    "map_lookup_elem",
    "map_update_elem",
    "map_delete_elem",
    "ktime_get_ns",
    "trace_printk",
    "get_prandom_u32",
    "get_smp_processor_id",
    "skb_store_bytes",
    "l3_csum_replace",
    "l4_csum_replace",
    "tail_call",
    "clone_redirect",
    "get_current_pid_tgid",
    "get_current_uid_gid",
    "get_current_comm",
    "get_cgroup_classid",
    "skb_vlan_push",
    "skb_vlan_pop",
    "skb_get_tunnel_key",
    "skb_set_tunnel_key",
    "perf_event_read",
    "redirect",
    "get_route_realm",
    "perf_event_output",
    "skb_load_bytes",
    "csum_diff",
    "skb_get_tunnel_opt",
    "skb_set_tunnel_opt",
    "skb_change_proto",
    "skb_change_type",
    "skb_under_cgroup",
    "get_hash_recalc",
    "get_current_task",
    "current_task_under_cgroup",
    "skb_change_tail",
    "skb_pull_data",
    "csum_update",
    "set_hash_invalid",
    "get_numa_node_id",
    "skb_change_head",
    "get_socket_cookie",
    "get_socket_uid",
    "set_hash",
    "skb_adjust_room",
    "perf_event_read_value",
    "skb_get_xfrm_state",
    "skb_load_bytes_relative",
    "fib_lookup",
    "skb_cgroup_id",
    "get_current_cgroup_id",
    "skb_ancestor_cgroup_id",
    "sk_lookup_tcp",
    "sk_lookup_udp",
    "sk_release",
    "map_push_elem",
    "map_pop_elem",
    "map_peek_elem",
    "spin_lock",
    "spin_unlock",
    "sk_fullsock",
    "tcp_sock",
    "skb_ecn_set_ce",
    "get_listener_sock",
    "skc_lookup_tcp",
    "tcp_check_syncookie",
    "strtol",
    "strtoul",
    "sk_storage_get",
    "sk_storage_delete",
    "send_signal",
    "tcp_gen_syncookie",
    "probe_read_user",
    "probe_read_kernel",
    "probe_read_user_str",
    "probe_read_kernel_str",
    "send_signal_thread",
    "jiffies64",
    "get_ns_current_pid_tgid",
    "get_netns_cookie",
    "get_current_ancestor_cgroup_id",
    "sk_assign",
    "ktime_get_boot_ns",
    "ringbuf_output",
    "ringbuf_reserve",
    "ringbuf_submit",
    "ringbuf_discard",
    "ringbuf_query",
    "csum_level",
    "skc_to_tcp6_sock",
    "skc_to_tcp_sock",
    "skc_to_tcp_timewait_sock",
    "skc_to_tcp_request_sock",
    "skc_to_udp6_sock",
    "get_task_stack",
    "snprintf_btf",
    "skb_cgroup_classid",
    "redirect_neigh",
    "per_cpu_ptr",
    "this_cpu_ptr",
    "redirect_peer",
    "task_storage_get",
    "task_storage_delete",
    "get_current_task_btf",
    "ktime_get_coarse_ns",
    "check_mtu",
    "for_each_map_elem",
    "snprintf",
    "timer_init",
    "timer_set_callback",
    "timer_start",
    "timer_cancel",
    "task_pt_regs",
    "get_branch_snapshot",
    "trace_vprintk",
    "skc_to_unix_sock",
    "find_vma",
    "loop",
    "strncmp",
    "skb_set_tstamp",
    "kptr_xchg",
    "map_lookup_percpu_elem",
    "skc_to_mptcp_sock",
    "dynptr_from_mem",
    "ringbuf_reserve_dynptr",
    "ringbuf_submit_dynptr",
    "ringbuf_discard_dynptr",
    "dynptr_read",
    "dynptr_write",
    "dynptr_data",
    "tcp_raw_gen_syncookie_ipv4",
    "tcp_raw_gen_syncookie_ipv6",
    "tcp_raw_check_syncookie_ipv4",
    "tcp_raw_check_syncookie_ipv6",
    "ktime_get_tai_ns",
    "user_ringbuf_drain",
];

/// `xdp_func_proto`.
static XDP_HELPERS: &[&str] = &[
    "map_lookup_elem",
    "map_update_elem",
    "map_delete_elem",
    "ktime_get_ns",
    "trace_printk",
    "get_prandom_u32",
    "get_smp_processor_id",
    "tail_call",
    "get_current_pid_tgid",
    "get_current_uid_gid",
    "get_current_comm",
    "get_cgroup_classid",
    "perf_event_read",
    "redirect",
    "perf_event_output",
    "csum_diff",
    "get_current_task",
    "current_task_under_cgroup",
    "get_numa_node_id",
    "xdp_adjust_head",
    "redirect_map",
    "xdp_adjust_meta",
    "perf_event_read_value",
    "xdp_adjust_tail",
    "fib_lookup",
    "get_current_cgroup_id",
    "sk_lookup_tcp",
    "sk_lookup_udp",
    "sk_release",
    "map_push_elem",
    "map_pop_elem",
    "map_peek_elem",
    "spin_lock",
    "spin_unlock",
    "skc_lookup_tcp",
    "tcp_check_syncookie",
    "strtol",
    "strtoul",
    "send_signal",
    "tcp_gen_syncookie",
    "probe_read_user",
    "probe_read_kernel",
    "probe_read_user_str",
    "probe_read_kernel_str",
    "send_signal_thread",
    "jiffies64",
    "get_ns_current_pid_tgid",
    "get_current_ancestor_cgroup_id",
    "ktime_get_boot_ns",
    "ringbuf_output",
    "ringbuf_reserve",
    "ringbuf_submit",
    "ringbuf_discard",
    "ringbuf_query",
    "skc_to_tcp6_sock",
    "skc_to_tcp_sock",
    "skc_to_tcp_timewait_sock",
    "skc_to_tcp_request_sock",
    "skc_to_udp6_sock",
    "get_task_stack",
    "snprintf_btf",
    "per_cpu_ptr",
    "this_cpu_ptr",
    "task_storage_get",
    "task_storage_delete",
    "get_current_task_btf",
    "ktime_get_coarse_ns",
    "check_mtu",
    "for_each_map_elem",
    "snprintf",
    "timer_init",
    "timer_set_callback",
    "timer_start",
    "timer_cancel",
    "task_pt_regs",
    "get_branch_snapshot",
    "trace_vprintk",
    "skc_to_unix_sock",
    "find_vma",
    "loop",
    "strncmp",
    "xdp_get_buff_len",
    "xdp_load_bytes",
    "xdp_store_bytes",
    "kptr_xchg",
    "map_lookup_percpu_elem",
    "skc_to_mptcp_sock",
    "dynptr_from_mem",
    "ringbuf_reserve_dynptr",
    "ringbuf_submit_dynptr",
    "ringbuf_discard_dynptr",
    "dynptr_read",
    "dynptr_write",
    "dynptr_data",
    "tcp_raw_gen_syncookie_ipv4",
    "tcp_raw_gen_syncookie_ipv6",
    "tcp_raw_check_syncookie_ipv4",
    "tcp_raw_check_syncookie_ipv6",
    "ktime_get_tai_ns",
    "user_ringbuf_drain",
];

/// `cg_skb_func_proto`.
static CGROUP_SKB_HELPERS: &[&str] = &[
    "map_lookup_elem",
    "map_update_elem",
    "map_delete_elem",
    "ktime_get_ns",
    "trace_printk",
    "get_prandom_u32",
    "get_smp_processor_id",
    "tail_call",
    "get_current_pid_tgid",
    "get_current_uid_gid",
    "get_current_comm",
    "get_cgroup_classid",
    "perf_event_read",
    "perf_event_output",
    "skb_load_bytes",
    "get_current_task",
    "current_task_under_cgroup",
    "get_numa_node_id",
    "get_socket_cookie",
    "get_socket_uid",
    "perf_event_read_value",
    "skb_load_bytes_relative",
    "skb_cgroup_id",
    "get_current_cgroup_id",
    "get_local_storage",
    "skb_ancestor_cgroup_id",
    "sk_lookup_tcp",
    "sk_lookup_udp",
    "sk_release",
    "map_push_elem",
    "map_pop_elem",
    "map_peek_elem",
    "spin_lock",
    "spin_unlock",
    "sk_fullsock",
    "tcp_sock",
    "skb_ecn_set_ce",
    "get_listener_sock",
    "skc_lookup_tcp",
    "strtol",
    "strtoul",
    "sk_storage_get",
    "sk_storage_delete",
    "send_signal",
    "probe_read_user",
    "probe_read_kernel",
    "probe_read_user_str",
    "probe_read_kernel_str",
    "send_signal_thread",
    "jiffies64",
    "get_ns_current_pid_tgid",
    "get_netns_cookie",
    "get_current_ancestor_cgroup_id",
    "ktime_get_boot_ns",
    "sk_cgroup_id",
    "sk_ancestor_cgroup_id",
    "ringbuf_output",
    "ringbuf_reserve",
    "ringbuf_submit",
    "ringbuf_discard",
    "ringbuf_query",
    "skc_to_tcp6_sock",
    "skc_to_tcp_sock",
    "skc_to_tcp_timewait_sock",
    "skc_to_tcp_request_sock",
    "skc_to_udp6_sock",
    "get_task_stack",
    "snprintf_btf",
    "per_cpu_ptr",
    "this_cpu_ptr",
    "task_storage_get",
    "task_storage_delete",
    "get_current_task_btf",
    "ktime_get_coarse_ns",
    "for_each_map_elem",
    "snprintf",
    "timer_init",
    "timer_set_callback",
    "timer_start",
    "timer_cancel",
    "task_pt_regs",
    "get_branch_snapshot",
    "trace_vprintk",
    "skc_to_unix_sock",
    "find_vma",
    "loop",
    "strncmp",
    "kptr_xchg",
    "map_lookup_percpu_elem",
    "skc_to_mptcp_sock",
    "dynptr_from_mem",
    "ringbuf_reserve_dynptr",
    "ringbuf_submit_dynptr",
    "ringbuf_discard_dynptr",
    "dynptr_read",
    "dynptr_write",
    "dynptr_data",
    "ktime_get_tai_ns",
    "user_ringbuf_drain",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_the_header() {
        let t = table(ProgType::SocketFilter).unwrap();
        assert_eq!(t.ctx_size as usize, size_of::<__sk_buff>());
        let mut end = 0;
        for f in t.fields {
            assert!(f.off >= end, "{} overlaps", f.name);
            assert_eq!(f.size % f.elem, 0, "{}", f.name);
            end = f.off + f.size;
        }
        assert_eq!(t.field_at(8).unwrap().name, "mark");
        assert_eq!(t.field_at(80).unwrap().name, "data_end");
        assert_eq!(t.field_at(170).unwrap().name, "sk");
        assert!(t.field_at(181).is_none(), "padding");
        assert_eq!(SKB_POINTERS, [76, 80, 140, 144, 168]);
        let x = table(ProgType::Xdp).unwrap();
        assert_eq!(x.ctx_size, 24);
    }

    #[test]
    fn the_issue_s_accesses() {
        let sf = table(ProgType::SocketFilter).unwrap();
        assert!(matches!(sf.access(80, 4, false), Err(Refusal::Field(f)) if f.name == "data_end"));
        assert!(matches!(sf.access(8, 8, false), Err(Refusal::Size(f)) if f.name == "mark"));
        assert!(matches!(
            sf.access(18, 4, false),
            Err(Refusal::Misaligned(_))
        ));
        assert!(matches!(sf.access(168, 2, false), Err(Refusal::Size(f)) if f.name == "sk"));
        assert!(matches!(sf.access(8, 4, true), Err(Refusal::Field(_))));
        assert!(sf.access(16, 1, false).is_ok());
        assert!(sf.access(18, 2, false).is_ok());
        assert!(sf.access(48, 8, true).is_ok(), "cb[0..1] as one word");
        assert!(sf.access(64, 8, true).is_err(), "past cb[4]");
        let tc = table(ProgType::SchedCls).unwrap();
        assert!(tc.access(80, 4, false).unwrap().ptr);
        assert!(tc.access(8, 4, true).is_ok());
        assert!(tc.access(-4, 4, false).is_err());
        assert_eq!(
            tc.access(192, 4, false),
            Err(Refusal::Outside),
            "past the end"
        );
    }

    #[test]
    fn descriptions() {
        let sf = table(ProgType::SocketFilter).unwrap();
        let mark = sf.field_at(8).unwrap();
        assert_eq!(
            mark.describe(Rule::Narrow),
            "4 bytes (or narrower loads of 1 or 2 bytes at aligned offsets)"
        );
        let sk = sf.field_at(168).unwrap();
        assert_eq!(sk.describe(Rule::Whole), "8 bytes");
    }
}
