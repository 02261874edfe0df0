//! A socket filter's context: `struct __sk_buff` built from a packet the way
//! the kernel builds it, and the kernel's rules for which of its fields a
//! socket filter may read and write (`sk_filter_is_valid_access` and
//! `bpf_skb_is_valid_access` in `net/core/filter.c`).

use std::mem::{offset_of, size_of};

use bpf_sys::__sk_buff as Skb;

/// Where the data a filter sees starts: the same packet puts the IPv4
/// protocol byte at offset 23 on a live socket and at 9 in a test run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataStart {
    /// A live `AF_PACKET` socket (`SOCK_RAW`): the data starts at the
    /// Ethernet header, and `len` counts it.
    Ethernet,
    /// `BPF_PROG_TEST_RUN`: the frame passed in has an Ethernet header,
    /// which the kernel pulls (`eth_type_trans`), so the data starts at the
    /// network header and `len` is 14 bytes shorter.
    Network,
}

/// The length of an Ethernet header.
const ETH_HLEN: usize = 14;

/// The input of a socket filter: the packet and the `__sk_buff` fields it
/// can read, each settable.
///
/// ```
/// use bpf_loader::vm::SkBuff;
/// let frame = [0u8; 60];
/// let live = SkBuff::live(&frame).mark(7);
/// assert_eq!(live.data().len(), 60);
/// let test_run = SkBuff::test_run(&frame);
/// assert_eq!(test_run.data().len(), 46); // the Ethernet header is pulled
/// ```
#[derive(Clone)]
pub struct SkBuff<'p> {
    frame: &'p [u8],
    start: DataStart,
    /// The context as the program reads it: `struct __sk_buff`'s layout.
    bytes: [u8; CTX_SIZE],
}

/// Bytes of `struct __sk_buff`.
pub(crate) const CTX_SIZE: usize = size_of::<Skb>();

impl std::fmt::Debug for SkBuff<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkBuff")
            .field("frame", &self.frame.len())
            .field("start", &self.start)
            .field("len", &self.get(offset_of!(Skb, len)))
            .field("mark", &self.get(offset_of!(Skb, mark)))
            .finish_non_exhaustive()
    }
}

impl<'p> SkBuff<'p> {
    fn new(frame: &'p [u8], start: DataStart) -> Self {
        let data_len = match start {
            DataStart::Ethernet => frame.len(),
            DataStart::Network => frame.len().saturating_sub(ETH_HLEN),
        };
        let mut skb = SkBuff {
            frame,
            start,
            bytes: [0; CTX_SIZE],
        };
        skb.set(
            offset_of!(Skb, len),
            u32::try_from(data_len).unwrap_or(u32::MAX),
        );
        // `skb->protocol` is the ethertype in network order; a 4-byte load
        // of the field gives those two bytes as stored.
        if let Some(t) = frame.get(12..14) {
            skb.set(
                offset_of!(Skb, protocol),
                u32::from(u16::from_ne_bytes([t[0], t[1]])),
            );
        }
        skb.set(offset_of!(Skb, pkt_type), u32::from(libc::PACKET_HOST));
        skb.set(offset_of!(Skb, ifindex), 1); // lo
        if start == DataStart::Ethernet {
            skb.set(offset_of!(Skb, ingress_ifindex), 1);
        }
        skb
    }

    fn set(&mut self, off: usize, v: u32) {
        self.bytes[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    }

    fn get(&self, off: usize) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.bytes[off..off + 4]);
        u32::from_ne_bytes(b)
    }

    /// A packet as a live `AF_PACKET` socket on `lo` delivers it: `frame`
    /// from its Ethernet header, received (`PACKET_HOST`) on ifindex 1.
    pub fn live(frame: &'p [u8]) -> Self {
        Self::new(frame, DataStart::Ethernet)
    }

    /// A frame as `BPF_PROG_TEST_RUN` runs a socket filter on it: the
    /// kernel pulls the Ethernet header, so the data starts at the network
    /// header.
    pub fn test_run(frame: &'p [u8]) -> Self {
        Self::new(frame, DataStart::Network)
    }

    /// Where the data starts.
    pub fn data_start(&self) -> DataStart {
        self.start
    }

    /// The bytes the filter sees from offset 0.
    pub fn data(&self) -> &'p [u8] {
        match self.start {
            DataStart::Ethernet => self.frame,
            DataStart::Network => self.frame.get(ETH_HLEN..).unwrap_or(&[]),
        }
    }

    /// The whole frame, Ethernet header included (for `SKF_LL_OFF` loads).
    pub(crate) fn frame(&self) -> &'p [u8] {
        self.frame
    }

    /// Where the network header starts in [`data`](Self::data).
    pub(crate) fn network_offset(&self) -> usize {
        match self.start {
            DataStart::Ethernet => ETH_HLEN,
            DataStart::Network => 0,
        }
    }

    /// `len`: bytes from the data start (the packet length by default).
    #[must_use]
    pub fn len(mut self, len: u32) -> Self {
        self.set(offset_of!(Skb, len), len);
        self
    }

    /// `mark`.
    #[must_use]
    pub fn mark(mut self, mark: u32) -> Self {
        self.set(offset_of!(Skb, mark), mark);
        self
    }

    /// `pkt_type` (`PACKET_HOST`, `PACKET_OUTGOING`, ...).
    #[must_use]
    pub fn pkt_type(mut self, pkt_type: u8) -> Self {
        self.set(offset_of!(Skb, pkt_type), u32::from(pkt_type));
        self
    }

    /// `protocol`: the ethertype, in host order (stored as the kernel
    /// stores it, in network order).
    #[must_use]
    pub fn protocol(mut self, ethertype: u16) -> Self {
        let v = u32::from(u16::from_ne_bytes(ethertype.to_be_bytes()));
        self.set(offset_of!(Skb, protocol), v);
        self
    }

    /// `ifindex` and `ingress_ifindex`.
    #[must_use]
    pub fn ifindex(mut self, ifindex: u32) -> Self {
        self.set(offset_of!(Skb, ifindex), ifindex);
        self.set(offset_of!(Skb, ingress_ifindex), ifindex);
        self
    }

    /// `cb[0..5]`, the scratch words a program may also write.
    #[must_use]
    pub fn cb(mut self, cb: [u32; 5]) -> Self {
        for (i, c) in cb.into_iter().enumerate() {
            self.set(offset_of!(Skb, cb) + 4 * i, c);
        }
        self
    }

    /// `priority`.
    #[must_use]
    pub fn priority(mut self, priority: u32) -> Self {
        self.set(offset_of!(Skb, priority), priority);
        self
    }

    /// `hash`.
    #[must_use]
    pub fn hash(mut self, hash: u32) -> Self {
        self.set(offset_of!(Skb, hash), hash);
        self
    }

    /// `queue_mapping`.
    #[must_use]
    pub fn queue_mapping(mut self, queue: u32) -> Self {
        self.set(offset_of!(Skb, queue_mapping), queue);
        self
    }

    /// `vlan_present`, `vlan_tci` and `vlan_proto` (host order).
    #[must_use]
    pub fn vlan(mut self, tci: u16, proto: u16) -> Self {
        self.set(offset_of!(Skb, vlan_present), 1);
        self.set(offset_of!(Skb, vlan_tci), u32::from(tci));
        let p = u32::from(u16::from_ne_bytes(proto.to_be_bytes()));
        self.set(offset_of!(Skb, vlan_proto), p);
        self
    }

    /// The context bytes the program reads.
    pub(crate) fn bytes(&self) -> &[u8; CTX_SIZE] {
        &self.bytes
    }
}

/// Why a context access is refused.
pub(crate) fn check_access(off: i64, size: usize, write: bool) -> Result<(), String> {
    let end = size_of::<Skb>() as i64;
    let name = field_name(off);
    if off < 0 || off + size as i64 > end {
        return Err(format!(
            "offset {off} is outside `struct __sk_buff` ({end} bytes)"
        ));
    }
    let off = off as usize;
    if !off.is_multiple_of(size) {
        return Err(format!(
            "a {size}-byte access at offset {off} ({name}) is misaligned"
        ));
    }
    let cb = offset_of!(Skb, cb)..offset_of!(Skb, cb) + 20;
    if cb.contains(&off) {
        return if off + size <= cb.end {
            Ok(())
        } else {
            Err(format!(
                "a {size}-byte access at offset {off} runs past `cb[4]`"
            ))
        };
    }
    if write {
        return Err(format!(
            "socket filters may write only `cb[0..5]`, not `{name}` (offset {off})"
        ));
    }
    // Fields socket filters may not read at all.
    let forbidden = [
        offset_of!(Skb, tc_classid),
        offset_of!(Skb, data),
        offset_of!(Skb, data_end),
        offset_of!(Skb, data_meta),
        offset_of!(Skb, tstamp),
        offset_of!(Skb, tstamp) + 4,
        offset_of!(Skb, wire_len),
        offset_of!(Skb, hwtstamp),
        offset_of!(Skb, hwtstamp) + 4,
    ];
    let sock_fields = offset_of!(Skb, family)..offset_of!(Skb, local_port) + 4;
    let field = off - off % 4;
    if forbidden.contains(&field) || sock_fields.contains(&field) {
        return Err(format!(
            "socket filters may not read `{name}` (offset {off})"
        ));
    }
    // Pointers: only whole 8-byte loads, and not in this interpreter.
    let pointers = [
        offset_of!(Skb, __bindgen_anon_1),
        offset_of!(Skb, __bindgen_anon_2),
    ];
    if pointers.iter().any(|&p| (p..p + 8).contains(&off)) {
        return Err(format!(
            "`{name}` is a pointer the interpreter does not model (offset {off})"
        ));
    }
    let tail = offset_of!(Skb, tstamp_type)..offset_of!(Skb, hwtstamp);
    if tail.contains(&off) {
        return Err(format!("socket filters may not read offset {off}"));
    }
    // Every other field is a `__u32`: narrow loads inside it are allowed.
    if size > 4 {
        return Err(format!(
            "`{name}` is a 4-byte field: an {size}-byte load at offset {off} is refused"
        ));
    }
    Ok(())
}

/// The field at byte `off`, for messages.
fn field_name(off: i64) -> &'static str {
    let Ok(off) = usize::try_from(off) else {
        return "?";
    };
    let fields: &[(&str, usize, usize)] = &[
        ("len", offset_of!(Skb, len), 4),
        ("pkt_type", offset_of!(Skb, pkt_type), 4),
        ("mark", offset_of!(Skb, mark), 4),
        ("queue_mapping", offset_of!(Skb, queue_mapping), 4),
        ("protocol", offset_of!(Skb, protocol), 4),
        ("vlan_present", offset_of!(Skb, vlan_present), 4),
        ("vlan_tci", offset_of!(Skb, vlan_tci), 4),
        ("vlan_proto", offset_of!(Skb, vlan_proto), 4),
        ("priority", offset_of!(Skb, priority), 4),
        ("ingress_ifindex", offset_of!(Skb, ingress_ifindex), 4),
        ("ifindex", offset_of!(Skb, ifindex), 4),
        ("tc_index", offset_of!(Skb, tc_index), 4),
        ("cb", offset_of!(Skb, cb), 20),
        ("hash", offset_of!(Skb, hash), 4),
        ("tc_classid", offset_of!(Skb, tc_classid), 4),
        ("data", offset_of!(Skb, data), 4),
        ("data_end", offset_of!(Skb, data_end), 4),
        ("napi_id", offset_of!(Skb, napi_id), 4),
        ("family", offset_of!(Skb, family), 4),
        ("remote_ip4", offset_of!(Skb, remote_ip4), 4),
        ("local_ip4", offset_of!(Skb, local_ip4), 4),
        ("remote_ip6", offset_of!(Skb, remote_ip6), 16),
        ("local_ip6", offset_of!(Skb, local_ip6), 16),
        ("remote_port", offset_of!(Skb, remote_port), 4),
        ("local_port", offset_of!(Skb, local_port), 4),
        ("data_meta", offset_of!(Skb, data_meta), 4),
        ("flow_keys", offset_of!(Skb, __bindgen_anon_1), 8),
        ("tstamp", offset_of!(Skb, tstamp), 8),
        ("wire_len", offset_of!(Skb, wire_len), 4),
        ("gso_segs", offset_of!(Skb, gso_segs), 4),
        ("sk", offset_of!(Skb, __bindgen_anon_2), 8),
        ("gso_size", offset_of!(Skb, gso_size), 4),
        ("tstamp_type", offset_of!(Skb, tstamp_type), 1),
        ("hwtstamp", offset_of!(Skb, hwtstamp), 8),
    ];
    fields
        .iter()
        .find(|(_, at, len)| (*at..at + len).contains(&off))
        .map_or("padding", |f| f.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_filter_context_rules() {
        assert!(check_access(0, 4, false).is_ok(), "len");
        assert!(check_access(2, 2, false).is_ok(), "narrow load of len");
        assert!(check_access(3, 1, false).is_ok());
        assert!(
            check_access(8, 8, false)
                .unwrap_err()
                .contains("4-byte field")
        );
        assert!(
            check_access(18, 4, false)
                .unwrap_err()
                .contains("misaligned")
        );
        assert!(check_access(80, 4, false).unwrap_err().contains("data_end"));
        assert!(check_access(8, 4, true).unwrap_err().contains("only `cb"));
        assert!(
            check_access(48, 8, true).is_ok(),
            "cb[0..2] as one 8-byte store"
        );
        assert!(
            check_access(64, 8, false)
                .unwrap_err()
                .contains("past `cb[4]`")
        );
        assert!(check_access(168, 8, false).is_err(), "sk");
        assert!(check_access(-4, 4, false).is_err());
    }

    #[test]
    fn data_starts_where_the_kernel_puts_it() {
        let mut frame = [0u8; 34];
        frame[12] = 0x08;
        frame[14 + 9] = 17;
        let live = SkBuff::live(&frame);
        let run = SkBuff::test_run(&frame);
        assert_eq!(live.data()[23], 17);
        assert_eq!(run.data()[9], 17);
        let bytes = live.bytes();
        assert_eq!(&bytes[16..18], &[0x08, 0]);
        assert_eq!(u32::from_ne_bytes(bytes[0..4].try_into().unwrap()), 34);
        assert_eq!(
            u32::from_ne_bytes(run.bytes()[0..4].try_into().unwrap()),
            20
        );
    }
}
