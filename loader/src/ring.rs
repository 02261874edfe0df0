//! The memory-mapped receive ring (`PACKET_RX_RING`, TPACKET_V3): the
//! kernel writes packets into blocks of a buffer shared with this process,
//! which reads them in place and hands each block back, with no system
//! call per packet.
//!
//! [`PacketSocketBuilder::bind_ring`](crate::PacketSocketBuilder::bind_ring)
//! opens one; [`PacketRing::next_block`] waits for the next full (or timed
//! out) block; a [`Block`] lends its packets as [`RingPacket`]s, and hands
//! the block back to the kernel when dropped.

use std::fmt;
use std::mem;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::error::{Error, Result, Syscall};
use crate::socket::{PacketStats, PacketType, StatsTotals};
use crate::sys;

/// The shape of a receive ring: `block_count` blocks of `block_size` bytes,
/// each closed and handed to user space when full or after
/// `block_timeout`.
///
/// ```
/// use std::time::Duration;
/// use bpf_loader::RingGeometry;
///
/// let ring = RingGeometry::default()
///     .block_size(4 << 20)
///     .block_count(16)
///     .block_timeout(Duration::from_millis(50));
/// assert_eq!(ring.total_size(), 64 << 20);
/// ```
///
/// The rules, checked by [`validate`](Self::validate) before any system
/// call (the kernel's own rules for TPACKET_V3, `packet_set_ring`):
///
/// - `block_count` at least 1;
/// - `block_size` a non-zero multiple of the page size;
/// - `frame_size` a multiple of `TPACKET_ALIGNMENT` (16), at least
///   `TPACKET3_HDRLEN` (the per-packet header, 68 bytes), at most
///   `block_size`;
/// - the whole ring (and the frame count) below 4 GiB;
/// - `block_timeout` at most `u32::MAX` milliseconds; zero lets the kernel
///   choose (8 ms, or less on fast links).
///
/// In TPACKET_V3 packets are packed one after another into a block, so the
/// frame size does not limit a packet's length: a packet is cut only by the
/// filter's return value (a socket filter returning N keeps N bytes) and by
/// the block, which must hold it with its headers (`block_size` minus about
/// 130 bytes). Truncated packets report both lengths
/// ([`RingPacket::len`], [`RingPacket::captured`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RingGeometry {
    block_size: usize,
    block_count: usize,
    frame_size: usize,
    block_timeout: Duration,
}

impl Default for RingGeometry {
    /// 8 blocks of 1 MiB (8 MiB, about 50,000 small packets), 2048-byte
    /// frames, blocks closed after 100 ms: no drop at the 1M+ packets/s one
    /// core sends on `lo`; an interactive reader sees a packet within 100 to
    /// 200 ms (the kernel closes a block its timer finds unchanged for a
    /// whole period); and sparse traffic wakes the reader at most about 10
    /// times a second (a 10 ms timeout costs more CPU than the packets
    /// themselves when 1 in 100 passes the filter; libpcap uses 1000 ms).
    fn default() -> Self {
        RingGeometry {
            block_size: 1 << 20,
            block_count: 8,
            frame_size: 2048,
            block_timeout: Duration::from_millis(100),
        }
    }
}

impl RingGeometry {
    /// The size of one block, in bytes (default 1 MiB).
    #[must_use]
    pub fn block_size(mut self, bytes: usize) -> Self {
        self.block_size = bytes;
        self
    }

    /// The number of blocks (default 8).
    #[must_use]
    pub fn block_count(mut self, count: usize) -> Self {
        self.block_count = count;
        self
    }

    /// The frame size the kernel accounts the ring in (default 2048).
    #[must_use]
    pub fn frame_size(mut self, bytes: usize) -> Self {
        self.frame_size = bytes;
        self
    }

    /// How long the kernel waits before handing over a block that is not
    /// full (`tp_retire_blk_tov`, whole milliseconds, rounded up; default
    /// 100 ms; zero: the kernel's choice). A block is closed when the timer
    /// finds it unchanged for a whole period, so a packet waits up to twice
    /// this long; a shorter timeout means lower latency and more wake-ups.
    #[must_use]
    pub fn block_timeout(mut self, timeout: Duration) -> Self {
        self.block_timeout = timeout;
        self
    }

    /// The block size set.
    pub fn get_block_size(&self) -> usize {
        self.block_size
    }

    /// The block count set.
    pub fn get_block_count(&self) -> usize {
        self.block_count
    }

    /// The frame size set.
    pub fn get_frame_size(&self) -> usize {
        self.frame_size
    }

    /// The block timeout set.
    pub fn get_block_timeout(&self) -> Duration {
        self.block_timeout
    }

    /// The size of the whole ring: `block_size * block_count` (saturating).
    pub fn total_size(&self) -> usize {
        self.block_size.saturating_mul(self.block_count)
    }

    /// Checks the rules listed on the type; `Err` says which one is broken
    /// and what would do.
    ///
    /// # Errors
    ///
    /// A message for [`Error::RingGeometry`].
    pub fn validate(&self) -> std::result::Result<(), String> {
        self.request(sys::page_size()).map(|_| ())
    }

    /// The `tpacket_req3` for these values, or what is wrong with them.
    fn request(&self, page: usize) -> std::result::Result<libc::tpacket_req3, String> {
        let too_big = |what: &str| format!("{what} must stay below 4 GiB");
        if self.block_count == 0 {
            return Err("the block count must be at least 1".into());
        }
        if self.block_size == 0 || !self.block_size.is_multiple_of(page) {
            return Err(format!(
                "the block size ({}) must be a non-zero multiple of the page size ({page}), \
                 e.g. {}",
                self.block_size,
                self.block_size.div_ceil(page).max(1) * page
            ));
        }
        if self.frame_size < libc::TPACKET3_HDRLEN
            || !self.frame_size.is_multiple_of(libc::TPACKET_ALIGNMENT)
        {
            return Err(format!(
                "the frame size ({}) must be a multiple of TPACKET_ALIGNMENT ({}) and at \
                 least TPACKET3_HDRLEN ({}), e.g. {}",
                self.frame_size,
                libc::TPACKET_ALIGNMENT,
                libc::TPACKET3_HDRLEN,
                self.frame_size
                    .max(libc::TPACKET3_HDRLEN)
                    .next_multiple_of(libc::TPACKET_ALIGNMENT)
            ));
        }
        if self.frame_size > self.block_size {
            return Err(format!(
                "the frame size ({}) is larger than the block size ({}): a block must hold \
                 at least one frame",
                self.frame_size, self.block_size
            ));
        }
        let block_size = u32::try_from(self.block_size).map_err(|_| too_big("a block"))?;
        let block_nr = u32::try_from(self.block_count).map_err(|_| too_big("the ring"))?;
        if block_size.checked_mul(block_nr).is_none() {
            return Err(too_big(&format!(
                "the ring ({} blocks of {} bytes)",
                self.block_count, self.block_size
            )));
        }
        let frame_size = u32::try_from(self.frame_size).map_err(|_| too_big("a frame"))?;
        let frame_nr = (block_size / frame_size) * block_nr;
        let timeout_ms = self.block_timeout.as_nanos().div_ceil(1_000_000);
        let timeout_ms = u32::try_from(timeout_ms).map_err(|_| {
            format!(
                "the block timeout ({:?}) must be at most {} ms",
                self.block_timeout,
                u32::MAX
            )
        })?;
        Ok(libc::tpacket_req3 {
            tp_block_size: block_size,
            tp_block_nr: block_nr,
            tp_frame_size: frame_size,
            tp_frame_nr: frame_nr,
            tp_retire_blk_tov: timeout_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        })
    }
}

/// Sets up the ring on an unbound packet socket: `PACKET_VERSION`,
/// `PACKET_RX_RING`, `mmap`. `what` names the socket in errors.
pub(crate) fn setup(
    fd: BorrowedFd<'_>,
    geometry: &RingGeometry,
    what: &str,
) -> Result<sys::RingMap> {
    let req = geometry
        .request(sys::page_size())
        .map_err(|reason| Error::RingGeometry {
            socket: what.to_owned(),
            reason,
        })?;
    sys::set_packet_version_v3(fd)
        .map_err(|e| Error::socket_call(Syscall::PacketVersion, what, e))?;
    sys::set_rx_ring(fd, &req).map_err(|e| Error::socket_call(Syscall::RxRing, what, e))?;
    sys::mmap_ring(fd, geometry.block_size, geometry.block_count)
        .map_err(|e| Error::socket_call(Syscall::Mmap, what, e))
}

/// A packet socket with a TPACKET_V3 receive ring, bound to one interface:
/// [`PacketSocket`](crate::PacketSocket)'s fast twin. Opened by
/// [`PacketSocketBuilder::bind_ring`](crate::PacketSocketBuilder::bind_ring)
/// (filter, outgoing packets, fanout as for a `PacketSocket`), or
/// [`PacketRing::bind`] for the defaults.
///
/// The kernel copies each packet the filter keeps into the current block;
/// [`next_block`](Self::next_block) returns the blocks in order as they
/// are closed (full, or after the [block
/// timeout](RingGeometry::block_timeout)). A packet costs no system call,
/// and a whole block at most one `poll(2)`.
///
/// ```no_run
/// use std::time::Duration;
/// use bpf_loader::PacketRing;
///
/// let mut ring = PacketRing::bind("lo")?;
/// while let Some(block) = ring.next_block(Some(Duration::from_secs(1)))? {
///     for packet in &block {
///         println!("{} bytes at {:?}", packet.len(), packet.timestamp());
///     }
/// } // each block goes back to the kernel here, at the end of its scope
/// # Ok::<(), bpf_loader::Error>(())
/// ```
///
/// A packet borrows its block, which borrows the ring, so none can be kept
/// past the block's release, nor a second block taken while one is held:
///
/// ```compile_fail,E0505
/// # use bpf_loader::PacketRing;
/// let mut ring = PacketRing::bind("lo")?;
/// let block = ring.next_block(None)?.unwrap();
/// let first = block.packets().next().unwrap();
/// drop(block); // hands the block back to the kernel...
/// println!("{:?}", first.data()); // ...so this does not compile
/// # Ok::<(), bpf_loader::Error>(())
/// ```
///
/// Copy what must outlive the block (`packet.data().to_vec()`). Holding a
/// block for long stalls the ring: the kernel fills blocks in order, and
/// drops packets (counted in [`stats`](Self::stats)) once it reaches a
/// block user space still holds.
///
/// Kernel calls: `setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)`
/// (Linux 3.2), `setsockopt(SOL_PACKET, PACKET_RX_RING)`, `mmap(2)`,
/// `poll(2)`; see packet(7) and the kernel's
/// `Documentation/networking/packet_mmap.rst`. Needs `CAP_NET_RAW`.
pub struct PacketRing {
    // Field order is drop order: the mapping goes before the socket (either
    // order is valid; the mapping outlives the fd anyway).
    map: sys::RingMap,
    fd: OwnedFd,
    ifindex: u32,
    interface: String,
    geometry: RingGeometry,
    cursor: usize,
    totals: StatsTotals,
}

impl fmt::Debug for PacketRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacketRing")
            .field("interface", &self.interface)
            .field("ifindex", &self.ifindex)
            .field("geometry", &self.geometry)
            .field("next_block", &self.cursor)
            .finish_non_exhaustive()
    }
}

impl PacketRing {
    /// Assembled by the socket builder.
    pub(crate) fn new(
        fd: OwnedFd,
        map: sys::RingMap,
        ifindex: u32,
        interface: String,
        geometry: RingGeometry,
    ) -> Self {
        PacketRing {
            map,
            fd,
            ifindex,
            interface,
            geometry,
            cursor: 0,
            totals: StatsTotals::default(),
        }
    }

    /// A ring of the default geometry on `interface`, no filter, outgoing
    /// packets included: `PacketSocket::builder().bind_ring(interface,
    /// RingGeometry::default())`.
    ///
    /// # Errors
    ///
    /// As [`PacketSocketBuilder::bind_ring`](crate::PacketSocketBuilder::bind_ring).
    pub fn bind(interface: &str) -> Result<Self> {
        crate::PacketSocket::builder().bind_ring(interface, RingGeometry::default())
    }

    /// The interface name the ring was bound to.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The interface's index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The ring's geometry.
    pub fn geometry(&self) -> &RingGeometry {
        &self.geometry
    }

    fn what(&self) -> String {
        format!("AF_PACKET ring on `{}`", self.interface)
    }

    /// The next block of packets, waiting at most `timeout` (`None`:
    /// forever) for the kernel to close one; `Ok(None)` on timeout, and with
    /// a zero timeout unless a block is ready now. Blocks come in the order
    /// the kernel filled them. The block goes back to the kernel when the
    /// returned value is dropped.
    ///
    /// Kernel call: `poll(2)` while the next block is still the kernel's.
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] if `poll` fails (not on `EINTR`, which is
    /// retried).
    pub fn next_block(&mut self, timeout: Option<Duration>) -> Result<Option<Block<'_>>> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            if self.map.is_ready(self.cursor) {
                let index = self.cursor;
                self.cursor = (index + 1) % self.map.block_count();
                return Ok(self.map.user_block(index).map(|inner| Block { inner }));
            }
            let timeout_ms = match (timeout, deadline) {
                (None, _) | (Some(_), None) => -1,
                (Some(_), Some(deadline)) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(None);
                    }
                    let ms = left.as_nanos().div_ceil(1_000_000);
                    i32::try_from(ms).unwrap_or(i32::MAX)
                }
            };
            match sys::poll_readable(self.fd.as_fd(), timeout_ms) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::socket_call(Syscall::Poll, self.what(), e)),
            }
        }
    }

    /// The kernel's counters since the ring was opened: packets the filter
    /// kept, of which dropped because the ring was full, and how often the
    /// queue froze (every block held by user space).
    ///
    /// Kernel call: `getsockopt(SOL_PACKET, PACKET_STATISTICS)`, which
    /// resets the kernel's counters; this value adds them up.
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] if the call fails.
    pub fn stats(&self) -> Result<PacketStats> {
        self.totals
            .update(self.fd.as_fd())
            .map_err(|e| Error::socket_call(Syscall::Statistics, self.what(), e))
    }

    /// The interface's link-layer type (`ARPHRD_*`, e.g. 1 for Ethernet,
    /// 772 for loopback): which link type a capture file needs.
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] if `getsockname(2)` fails.
    pub fn hardware_type(&self) -> Result<u16> {
        sys::packet_hatype(self.fd.as_fd())
            .map_err(|e| Error::socket_call(Syscall::SockName, self.what(), e))
    }
}

impl AsFd for PacketRing {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A block of packets handed over by the kernel, borrowed from its
/// [`PacketRing`]; dropping it hands the block back. Iterate over
/// `&block` (or [`packets`](Self::packets)) for its [`RingPacket`]s.
#[derive(Debug)]
pub struct Block<'r> {
    inner: sys::UserBlock<'r>,
}

impl Block<'_> {
    /// The block's packets, in arrival order.
    pub fn packets(&self) -> Packets<'_> {
        Packets {
            bytes: self.inner.packets(),
            pos: 0,
            left: self.inner.header().num_pkts,
        }
    }

    /// How many packets it holds.
    pub fn len(&self) -> usize {
        self.inner.header().num_pkts as usize
    }

    /// Whether it holds none (a block the timeout closed empty).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kernel's sequence number of the block (counts every block closed
    /// on this ring, from 1).
    pub fn seq(&self) -> u64 {
        self.inner.header().seq_num
    }

    /// Whether the kernel dropped packets since the previous block
    /// (`TP_STATUS_LOSING`): the ring was full. [`PacketRing::stats`]
    /// counts them.
    pub fn lost_packets(&self) -> bool {
        self.inner.header().status & libc::TP_STATUS_LOSING != 0
    }

    /// Whether the block timeout closed it before it was full
    /// (`TP_STATUS_BLK_TMO`).
    pub fn timed_out(&self) -> bool {
        self.inner.header().status & libc::TP_STATUS_BLK_TMO != 0
    }
}

impl<'b> IntoIterator for &'b Block<'_> {
    type Item = RingPacket<'b>;
    type IntoIter = Packets<'b>;

    fn into_iter(self) -> Packets<'b> {
        self.packets()
    }
}

/// The packets of a [`Block`]: an iterator of [`RingPacket`]s borrowing it.
#[derive(Clone, Debug)]
pub struct Packets<'b> {
    bytes: &'b [u8],
    pos: usize,
    left: u32,
}

/// A VLAN tag the kernel took off a packet (`TP_STATUS_VLAN_VALID`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Vlan {
    /// The tag control information: priority (3 bits), drop eligible (1),
    /// VLAN id (12).
    pub tci: u16,
    /// The tag protocol (`0x8100` 802.1Q, `0x88a8` 802.1ad), when the kernel
    /// reports it (`TP_STATUS_VLAN_TPID_VALID`).
    pub tpid: Option<u16>,
}

impl Vlan {
    /// The VLAN id (the low 12 bits of the TCI).
    pub fn id(&self) -> u16 {
        self.tci & 0x0fff
    }

    /// The priority code point (the top 3 bits).
    pub fn priority(&self) -> u8 {
        // At most 7 after the shift.
        (self.tci >> 13) as u8
    }
}

/// One packet in a ring block, borrowed from the [`Block`]: its bytes
/// (Ethernet header first) and what the kernel says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingPacket<'b> {
    data: &'b [u8],
    timestamp: Duration,
    len: u32,
    vlan: Option<Vlan>,
    packet_type: PacketType,
    protocol: u16,
    ifindex: u32,
}

impl<'b> RingPacket<'b> {
    /// The captured bytes, Ethernet header first ([`captured`](Self::captured)
    /// of them).
    pub fn data(&self) -> &'b [u8] {
        self.data
    }

    /// When the kernel received it, since the Unix epoch (`CLOCK_REALTIME`,
    /// nanoseconds: `tp_sec`, `tp_nsec`).
    pub fn timestamp(&self) -> Duration {
        self.timestamp
    }

    /// The packet's length on the interface (`tp_len`), which may exceed
    /// the bytes captured.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the packet is empty (never, for a real frame).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes captured (`tp_snaplen`): the length, or less when the
    /// filter's return value or the block cut it.
    pub fn captured(&self) -> usize {
        self.data.len()
    }

    /// Whether it was cut short ([`captured`](Self::captured) <
    /// [`len`](Self::len)).
    pub fn is_truncated(&self) -> bool {
        self.captured() < self.len()
    }

    /// The VLAN tag, when the kernel took one off.
    pub fn vlan(&self) -> Option<Vlan> {
        self.vlan
    }

    /// Host, outgoing, broadcast, ...
    pub fn packet_type(&self) -> PacketType {
        self.packet_type
    }

    /// The ethertype, in host order (`0x0800` IPv4, `0x86dd` IPv6).
    pub fn protocol(&self) -> u16 {
        self.protocol
    }

    /// The interface it was seen on.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }
}

/// Offsets in a block's packet area: `struct tpacket3_hdr`, then at
/// `TPACKET_ALIGN(sizeof(struct tpacket3_hdr))` a `struct sockaddr_ll`.
mod layout {
    use std::mem::{offset_of, size_of};

    pub(super) const NEXT_OFFSET: usize = offset_of!(libc::tpacket3_hdr, tp_next_offset);
    pub(super) const SEC: usize = offset_of!(libc::tpacket3_hdr, tp_sec);
    pub(super) const NSEC: usize = offset_of!(libc::tpacket3_hdr, tp_nsec);
    pub(super) const SNAPLEN: usize = offset_of!(libc::tpacket3_hdr, tp_snaplen);
    pub(super) const LEN: usize = offset_of!(libc::tpacket3_hdr, tp_len);
    pub(super) const STATUS: usize = offset_of!(libc::tpacket3_hdr, tp_status);
    pub(super) const MAC: usize = offset_of!(libc::tpacket3_hdr, tp_mac);
    pub(super) const VLAN_TCI: usize =
        offset_of!(libc::tpacket3_hdr, hv1) + offset_of!(libc::tpacket_hdr_variant1, tp_vlan_tci);
    pub(super) const VLAN_TPID: usize =
        offset_of!(libc::tpacket3_hdr, hv1) + offset_of!(libc::tpacket_hdr_variant1, tp_vlan_tpid);
    /// `TPACKET_ALIGN(sizeof(struct tpacket3_hdr))`.
    pub(super) const SLL: usize =
        size_of::<libc::tpacket3_hdr>().next_multiple_of(libc::TPACKET_ALIGNMENT);
    pub(super) const SLL_PROTOCOL: usize = SLL + offset_of!(libc::sockaddr_ll, sll_protocol);
    pub(super) const SLL_IFINDEX: usize = SLL + offset_of!(libc::sockaddr_ll, sll_ifindex);
    pub(super) const SLL_PKTTYPE: usize = SLL + offset_of!(libc::sockaddr_ll, sll_pkttype);
    /// The header bytes a packet needs before its data can be located.
    pub(super) const MIN: usize = SLL + size_of::<libc::sockaddr_ll>();
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_ne_bytes(b)
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([bytes[at], bytes[at + 1]])
}

impl<'b> Iterator for Packets<'b> {
    type Item = RingPacket<'b>;

    fn next(&mut self) -> Option<RingPacket<'b>> {
        if self.left == 0 {
            return None;
        }
        // Every offset comes from the kernel; bounds are still checked, and a
        // malformed header ends the iteration rather than reading past the
        // block.
        let Some(hdr) = self
            .bytes
            .get(self.pos..)
            .filter(|h| h.len() >= layout::MIN)
        else {
            self.left = 0;
            return None;
        };
        let mac = usize::from(u16_at(hdr, layout::MAC));
        let snaplen = u32_at(hdr, layout::SNAPLEN) as usize;
        let Some(data) = mac.checked_add(snaplen).and_then(|end| hdr.get(mac..end)) else {
            self.left = 0;
            return None;
        };
        let status = u32_at(hdr, layout::STATUS);
        let vlan = (status & libc::TP_STATUS_VLAN_VALID != 0).then(|| Vlan {
            // The kernel stores the 16-bit TCI in a u32 field.
            tci: (u32_at(hdr, layout::VLAN_TCI) & 0xffff) as u16,
            tpid: (status & libc::TP_STATUS_VLAN_TPID_VALID != 0)
                .then(|| u16_at(hdr, layout::VLAN_TPID)),
        });
        let packet = RingPacket {
            data,
            timestamp: Duration::new(
                u64::from(u32_at(hdr, layout::SEC)),
                u32_at(hdr, layout::NSEC).min(999_999_999),
            ),
            len: u32_at(hdr, layout::LEN),
            vlan,
            packet_type: PacketType::from_raw(hdr[layout::SLL_PKTTYPE]),
            protocol: u16::from_be(u16_at(hdr, layout::SLL_PROTOCOL)),
            ifindex: i32::from_ne_bytes(u32_at(hdr, layout::SLL_IFINDEX).to_ne_bytes())
                .unsigned_abs(),
        };
        self.left -= 1;
        let next = u32_at(hdr, layout::NEXT_OFFSET) as usize;
        if next == 0 {
            self.left = 0;
        } else {
            self.pos = self.pos.saturating_add(next);
        }
        Some(packet)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}

const _: () = assert!(mem::size_of::<libc::tpacket3_hdr>() == 48);

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry_error(g: RingGeometry) -> String {
        g.request(4096).unwrap_err()
    }

    #[test]
    fn default_geometry_is_valid() {
        let req = RingGeometry::default().request(4096).unwrap();
        assert_eq!(req.tp_block_size, 1 << 20);
        assert_eq!(req.tp_block_nr, 8);
        assert_eq!(req.tp_frame_nr, 8 * 512);
        assert_eq!(req.tp_retire_blk_tov, 100);
        RingGeometry::default().validate().unwrap();
    }

    #[test]
    fn invalid_geometry_says_what_is_wrong() {
        let g = RingGeometry::default();
        let e = geometry_error(g.block_size(5000));
        assert!(
            e.contains("multiple of the page size (4096), e.g. 8192"),
            "{e}"
        );
        assert!(geometry_error(g.block_size(0)).contains("non-zero"));
        assert!(geometry_error(g.block_count(0)).contains("at least 1"));
        let e = geometry_error(g.frame_size(100));
        assert!(e.contains("TPACKET_ALIGNMENT (16)"), "{e}");
        assert!(e.contains("e.g. 112"), "{e}");
        assert!(geometry_error(g.frame_size(64)).contains("TPACKET3_HDRLEN (68)"));
        let e = geometry_error(g.block_size(4096).frame_size(8192));
        assert!(e.contains("larger than the block size"), "{e}");
        let e = geometry_error(g.block_size(1 << 30).block_count(4));
        assert!(e.contains("below 4 GiB"), "{e}");
        let e = geometry_error(g.block_timeout(Duration::from_secs(u64::MAX / 2)));
        assert!(e.contains("block timeout"), "{e}");
    }

    #[test]
    fn block_timeout_rounds_up_to_milliseconds() {
        let req = RingGeometry::default()
            .block_timeout(Duration::from_micros(1500))
            .request(4096)
            .unwrap();
        assert_eq!(req.tp_retire_blk_tov, 2);
        let req = RingGeometry::default()
            .block_timeout(Duration::ZERO)
            .request(4096)
            .unwrap();
        assert_eq!(req.tp_retire_blk_tov, 0);
    }

    /// A packet area as the kernel lays it out: two packets.
    fn fake_block() -> Vec<u8> {
        let mut bytes = vec![0u8; 512];
        let put32 = |b: &mut Vec<u8>, at: usize, v: u32| {
            b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        };
        let put16 = |b: &mut Vec<u8>, at: usize, v: u16| {
            b[at..at + 2].copy_from_slice(&v.to_ne_bytes());
        };
        for (start, next, len, snap, vlan) in [
            (0usize, 160u32, 60u32, 60u32, false),
            (160, 0, 1000, 42, true),
        ] {
            put32(&mut bytes, start + layout::NEXT_OFFSET, next);
            put32(&mut bytes, start + layout::SEC, 1_700_000_000);
            put32(&mut bytes, start + layout::NSEC, 123_456_789);
            put32(&mut bytes, start + layout::SNAPLEN, snap);
            put32(&mut bytes, start + layout::LEN, len);
            let status = if vlan {
                libc::TP_STATUS_USER | libc::TP_STATUS_VLAN_VALID | libc::TP_STATUS_VLAN_TPID_VALID
            } else {
                libc::TP_STATUS_USER
            };
            put32(&mut bytes, start + layout::STATUS, status);
            put16(&mut bytes, start + layout::MAC, 82);
            put32(&mut bytes, start + layout::VLAN_TCI, 0x6005);
            put16(&mut bytes, start + layout::VLAN_TPID, 0x8100);
            put16(&mut bytes, start + layout::SLL_PROTOCOL, 0x0800u16.to_be());
            put32(&mut bytes, start + layout::SLL_IFINDEX, 1);
            bytes[start + layout::SLL_PKTTYPE] = libc::PACKET_OUTGOING;
            bytes[start + 82] = 0xab;
        }
        bytes
    }

    #[test]
    fn packets_are_parsed_from_the_kernel_layout() {
        let bytes = fake_block();
        let packets: Vec<_> = Packets {
            bytes: &bytes,
            pos: 0,
            left: 2,
        }
        .collect();
        assert_eq!(packets.len(), 2);
        let (a, b) = (packets[0], packets[1]);
        assert_eq!((a.len(), a.captured(), a.is_truncated()), (60, 60, false));
        assert_eq!((b.len(), b.captured(), b.is_truncated()), (1000, 42, true));
        assert_eq!(a.data()[0], 0xab);
        assert_eq!(a.timestamp(), Duration::new(1_700_000_000, 123_456_789));
        assert_eq!(a.protocol(), 0x0800);
        assert_eq!(a.ifindex(), 1);
        assert_eq!(a.packet_type(), PacketType::Outgoing);
        assert_eq!(a.vlan(), None);
        let vlan = b.vlan().unwrap();
        assert_eq!(
            (vlan.id(), vlan.priority(), vlan.tpid),
            (5, 3, Some(0x8100))
        );
    }

    #[test]
    fn malformed_offsets_end_the_iteration() {
        let mut bytes = fake_block();
        // The second packet claims more bytes than the block holds.
        bytes[160 + layout::SNAPLEN..160 + layout::SNAPLEN + 4]
            .copy_from_slice(&100_000u32.to_ne_bytes());
        let n = Packets {
            bytes: &bytes,
            pos: 0,
            left: 5,
        }
        .count();
        assert_eq!(n, 1);
        let n = Packets {
            bytes: &bytes[..10],
            pos: 0,
            left: 1,
        }
        .count();
        assert_eq!(n, 0);
    }
}
