//! Direct packet access (`sched_cls`, `xdp`, `cgroup_skb`): loads and
//! stores through `data` checked against `data_end`.

use super::Case;

/// The packet corpus.
pub(crate) fn cases() -> Vec<Case> {
    Vec::new()
}
