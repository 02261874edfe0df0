//! Helper prototypes, as far as the checks read them: the kinds of r1–r5
//! and of the result, from the kernel's `bpf_func_proto`s
//! (`kernel/bpf/helpers.c`, `net/core/filter.c`), and whether the helper
//! may change the packet (`bpf_helper_changes_pkt_data`). A helper not
//! listed is called with nothing checked and an unknown result; an
//! argument listed as [`Arg::Any`] takes any value (numbers, flags, and
//! what the checks do not type).

/// What a helper takes in one register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Arg {
    /// Anything, or a kind not checked here.
    Any,
    /// `ARG_PTR_TO_CTX`: the context pointer, not moved.
    Ctx,
    /// `ARG_CONST_MAP_PTR`: a map (`lddw rN, map_fd(...)`).
    Map,
    /// `ARG_PTR_TO_MAP_KEY`: the map's key size of readable memory.
    Key,
    /// `ARG_PTR_TO_MAP_VALUE`: the map's value size of readable memory.
    Value,
    /// `ARG_PTR_TO_MEM` / `_UNINIT_MEM`, with its size in the next
    /// register (`ARG_CONST_SIZE`).
    Mem,
    /// A reference to release (`OBJ_RELEASE`): a socket or ring buffer
    /// record, checked not null.
    Ref,
}

/// What a helper returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ret {
    /// Not typed here.
    Unknown,
    /// `RET_INTEGER`: a number the kernel knows nothing of.
    Integer,
    /// `RET_INTEGER` that the kernel bounds (`do_refine_retval_range`).
    RangedInteger,
    /// Not typed here, but bounded by the kernel.
    Ranged,
    /// `RET_PTR_TO_MAP_VALUE_OR_NULL` (`map_lookup_elem`).
    Lookup,
    /// `RET_PTR_TO_SOCKET_OR_NULL` (or `SOCK_COMMON`), acquired: the
    /// program must pass it to `sk_release`.
    Socket,
    /// `RET_PTR_TO_RINGBUF_MEM_OR_NULL`, acquired: the program must pass it
    /// to `ringbuf_submit` or `ringbuf_discard`.
    Record,
}

/// One helper's prototype.
#[derive(Clone, Copy, Debug)]
pub(super) struct Proto {
    pub(super) name: &'static str,
    /// r1–r5.
    pub(super) args: [Arg; 5],
    pub(super) ret: Ret,
    /// The kernel forgets every packet pointer after the call.
    pub(super) changes_packet: bool,
}

impl Proto {
    /// The registers holding memory with its size in the next register.
    pub(super) fn mem_args(&self) -> impl Iterator<Item = (u8, u8)> + '_ {
        (1..=4u8)
            .filter(|&r| self.args[usize::from(r) - 1] == Arg::Mem)
            .map(|r| (r, r + 1))
    }

    /// The argument registers of `kind`.
    pub(super) fn regs_of(&self, kind: Arg) -> impl Iterator<Item = u8> + '_ {
        (1..=5u8).filter(move |&r| self.args[usize::from(r) - 1] == kind)
    }

    /// Whether the call releases the reference in r1.
    pub(super) fn releases(&self) -> bool {
        self.args[0] == Arg::Ref
    }

    /// Whether the result is a reference the program must release.
    pub(super) fn acquires(&self) -> bool {
        matches!(self.ret, Ret::Socket | Ret::Record)
    }

    /// The helper that releases what this one returns.
    pub(super) fn release_with(&self) -> &'static str {
        match self.ret {
            Ret::Record => "ringbuf_submit",
            _ => "sk_release",
        }
    }

    /// Whether the kernel holds the result as a number.
    pub(super) fn integer(&self) -> bool {
        matches!(self.ret, Ret::Integer | Ret::RangedInteger)
    }

    /// Whether the kernel knows bounds of the result.
    pub(super) fn ranged(&self) -> bool {
        matches!(self.ret, Ret::Ranged | Ret::RangedInteger)
    }
}

/// The prototype of helper `name` (without `bpf_`), if listed.
pub(super) fn proto(name: &str) -> Option<&'static Proto> {
    PROTOS.iter().find(|p| p.name == name)
}

use Arg::{Any, Ctx, Key, Map, Mem, Ref, Value};

const fn p(name: &'static str, args: [Arg; 5], ret: Ret) -> Proto {
    Proto {
        name,
        args,
        ret,
        changes_packet: false,
    }
}

/// The same, for a helper that may change the packet.
const fn pc(name: &'static str, args: [Arg; 5], ret: Ret) -> Proto {
    Proto {
        changes_packet: true,
        ..p(name, args, ret)
    }
}

const NO: [Arg; 5] = [Any; 5];
const CTX: [Arg; 5] = [Ctx, Any, Any, Any, Any];

const PROTOS: &[Proto] = &[
    // Maps.
    p("map_lookup_elem", [Map, Key, Any, Any, Any], Ret::Lookup),
    p(
        "map_lookup_percpu_elem",
        [Map, Key, Any, Any, Any],
        Ret::Lookup,
    ),
    p("map_update_elem", [Map, Key, Value, Any, Any], Ret::Integer),
    p("map_delete_elem", [Map, Key, Any, Any, Any], Ret::Integer),
    p("map_push_elem", [Map, Any, Any, Any, Any], Ret::Unknown),
    p("map_pop_elem", [Map, Any, Any, Any, Any], Ret::Unknown),
    p("map_peek_elem", [Map, Any, Any, Any, Any], Ret::Unknown),
    p("ringbuf_output", [Map, Mem, Any, Any, Any], Ret::Integer),
    p("ringbuf_reserve", [Map, Any, Any, Any, Any], Ret::Record),
    p("ringbuf_query", [Map, Any, Any, Any, Any], Ret::Unknown),
    p("ringbuf_submit", [Ref, Any, Any, Any, Any], Ret::Unknown),
    p("ringbuf_discard", [Ref, Any, Any, Any, Any], Ret::Unknown),
    p("perf_event_output", [Ctx, Map, Any, Mem, Any], Ret::Integer),
    pc("tail_call", [Ctx, Map, Any, Any, Any], Ret::Unknown),
    // Sockets.
    p("sk_lookup_tcp", CTX, Ret::Socket),
    p("sk_lookup_udp", CTX, Ret::Socket),
    p("skc_lookup_tcp", CTX, Ret::Socket),
    p("sk_release", [Ref, Any, Any, Any, Any], Ret::Unknown),
    p("get_socket_cookie", CTX, Ret::Integer),
    p("get_socket_uid", CTX, Ret::Integer),
    // The packet.
    p("skb_load_bytes", [Ctx, Any, Mem, Any, Any], Ret::Integer),
    p(
        "skb_load_bytes_relative",
        [Ctx, Any, Mem, Any, Any],
        Ret::Unknown,
    ),
    pc("skb_store_bytes", [Ctx, Any, Mem, Any, Any], Ret::Integer),
    pc("l3_csum_replace", CTX, Ret::Integer),
    pc("l4_csum_replace", CTX, Ret::Integer),
    pc("clone_redirect", CTX, Ret::Unknown),
    pc("skb_pull_data", CTX, Ret::Unknown),
    pc("skb_change_head", CTX, Ret::Unknown),
    pc("skb_change_tail", CTX, Ret::Unknown),
    pc("skb_change_proto", CTX, Ret::Unknown),
    pc("skb_adjust_room", CTX, Ret::Unknown),
    pc("skb_vlan_push", CTX, Ret::Unknown),
    pc("skb_vlan_pop", CTX, Ret::Unknown),
    pc("xdp_adjust_head", CTX, Ret::Unknown),
    pc("xdp_adjust_tail", CTX, Ret::Unknown),
    pc("xdp_adjust_meta", CTX, Ret::Unknown),
    pc("lwt_push_encap", NO, Ret::Unknown),
    pc("lwt_seg6_action", NO, Ret::Unknown),
    pc("lwt_seg6_adjust_srh", NO, Ret::Unknown),
    pc("lwt_seg6_store_bytes", NO, Ret::Unknown),
    pc("msg_pop_data", NO, Ret::Unknown),
    pc("msg_pull_data", NO, Ret::Unknown),
    pc("msg_push_data", NO, Ret::Unknown),
    pc("store_hdr_opt", NO, Ret::Unknown),
    p("get_hash_recalc", CTX, Ret::Integer),
    p("get_cgroup_classid", NO, Ret::Integer),
    p("get_route_realm", NO, Ret::Integer),
    p("csum_diff", [Mem, Any, Mem, Any, Any], Ret::Integer),
    // Numbers, time, text.
    p("get_prandom_u32", NO, Ret::Integer),
    p("ktime_get_ns", NO, Ret::Integer),
    p("ktime_get_boot_ns", NO, Ret::Integer),
    p("ktime_get_coarse_ns", NO, Ret::Integer),
    p("get_smp_processor_id", NO, Ret::RangedInteger),
    p("get_numa_node_id", NO, Ret::Integer),
    p("trace_printk", [Mem, Any, Any, Any, Any], Ret::Integer),
    p("get_current_comm", [Mem, Any, Any, Any, Any], Ret::Unknown),
    p("probe_read_kernel", [Mem, Any, Any, Any, Any], Ret::Unknown),
    p("probe_read_user", [Mem, Any, Any, Any, Any], Ret::Unknown),
    p("get_stack", NO, Ret::Ranged),
    p("get_task_stack", NO, Ret::Ranged),
    p("probe_read_str", NO, Ret::Ranged),
    p("probe_read_kernel_str", NO, Ret::Ranged),
    p("probe_read_user_str", NO, Ret::Ranged),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_a_helper_once() {
        for (k, p) in PROTOS.iter().enumerate() {
            assert!(
                (0..512)
                    .filter_map(bpf_sys::helper_name)
                    .any(|n| n == p.name),
                "{} is not a helper of the header",
                p.name
            );
            assert!(
                PROTOS[..k].iter().all(|q| q.name != p.name),
                "{} twice",
                p.name
            );
            // A buffer's size register is not typed.
            for (_, n) in p.mem_args() {
                assert_eq!(p.args[usize::from(n) - 1], Arg::Any, "{}", p.name);
            }
        }
    }
}
