//! Raw packet capture on an interface (`AF_PACKET`) and socket filters on
//! any socket. Where a filter's data starts depends on the socket: see the
//! crate docs.

use std::ffi::CString;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result, Syscall};
use crate::prog::LoadedProgram;
use crate::ring::{self, PacketRing, RingGeometry};
use crate::sys;

/// The buffer [`PacketSocket::recv_packet`] allocates: the largest `lo`
/// frame (MTU 65536) plus its 14-byte Ethernet header.
const MAX_FRAME: usize = 65_536 + 14;

/// The longest interface name (`IFNAMSIZ - 1`).
const IFNAME_MAX: usize = libc::IFNAMSIZ - 1;

/// Attaches `prog` as the socket filter of any socket (a [`PacketSocket`],
/// UDP, TCP, Unix, ...), replacing the filter it had: the one way to attach a
/// program ([`PacketSocketBuilder::filter`] makes the same call before the
/// socket is bound). The program must be a socket filter
/// ([`ProgType::SocketFilter`](crate::ProgType::SocketFilter)). The socket
/// keeps its own reference: the filter stays when `prog` is dropped.
///
/// Packets a socket queued before the call were not filtered: see
/// [`PacketSocket::drain`], or attach with the builder.
///
/// For a UDP socket the program's data starts at the UDP header (the UDP
/// destination port is `ldabsh 2`); see [where a socket filter's data starts](crate#where-a-socket-filters-data-starts).
///
/// ```no_run
/// use std::net::UdpSocket;
/// use bpf_loader::{attach_filter, bpf_prog, detach_filter};
///
/// const DROP_ALL: bpf_loader::Program = bpf_prog! { mov64 r0, 0; exit };
/// let udp = UdpSocket::bind("127.0.0.1:0")?;
/// let prog = bpf_loader::load(&DROP_ALL)?;
/// attach_filter(&udp, &prog)?;
/// detach_filter(&udp)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Kernel call: `setsockopt(SOL_SOCKET, SO_ATTACH_BPF)`, Linux 3.19; see
/// socket(7).
///
/// # Errors
///
/// [`Error::Syscall`] with `ENOMEM` when the program does not fit the
/// socket's option memory (`net.core.optmem_max`; the message says so),
/// `EINVAL` for another program type, `ENOTSOCK` for a non-socket.
pub fn attach_filter(sock: impl AsFd, prog: &LoadedProgram) -> Result<()> {
    let sock = sock.as_fd();
    attach(sock, prog, describe_fd(sock))
}

/// Removes the socket filter of any socket (a [`PacketSocket`] too): the one
/// way to detach.
///
/// Kernel call: `setsockopt(SOL_SOCKET, SO_DETACH_BPF)`, Linux 3.19 (the
/// same option as `SO_DETACH_FILTER`, 2.2); see socket(7).
///
/// # Errors
///
/// [`Error::Syscall`] with `ENOENT` when the socket has no filter.
pub fn detach_filter(sock: impl AsFd) -> Result<()> {
    let sock = sock.as_fd();
    sys::detach_bpf(sock).map_err(|e| Error::socket_call(Syscall::DetachBpf, describe_fd(sock), e))
}

fn describe_fd(sock: BorrowedFd<'_>) -> String {
    format!("socket (fd {})", sock.as_raw_fd())
}

/// The attach behind [`attach_filter`] and [`PacketSocketBuilder::filter`];
/// `socket` names the socket in errors.
fn attach(sock: BorrowedFd<'_>, prog: &LoadedProgram, socket: String) -> Result<()> {
    sys::attach_bpf(sock, prog.as_fd()).map_err(|e| Error::Syscall {
        call: Syscall::AttachBpf,
        program: Some(prog.describe()),
        socket: Some(socket),
        source: e,
    })
}

/// The interface index of `name`, or [`Error::UnknownInterface`].
fn interface_index(name: &str) -> Result<u32> {
    let unknown = |source| Error::UnknownInterface {
        interface: name.to_owned(),
        source,
    };
    if name.is_empty() || name.len() > IFNAME_MAX {
        return Err(unknown(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("interface names are 1 to {IFNAME_MAX} bytes long"),
        )));
    }
    let c_name = CString::new(name).map_err(|_| {
        unknown(io::Error::new(
            io::ErrorKind::InvalidInput,
            "interface names cannot contain NUL",
        ))
    })?;
    sys::if_nametoindex(&c_name).map_err(unknown)
}

/// How the kernel classified a received packet (`sll_pkttype`, see
/// packet(7)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PacketType {
    /// Addressed to this host (`PACKET_HOST`).
    Host,
    /// Link-layer broadcast (`PACKET_BROADCAST`).
    Broadcast,
    /// Link-layer multicast (`PACKET_MULTICAST`).
    Multicast,
    /// Addressed to another host, seen in promiscuous mode
    /// (`PACKET_OTHERHOST`).
    OtherHost,
    /// Sent by this host (`PACKET_OUTGOING`); on `lo` every packet is seen
    /// once as outgoing and once as host unless outgoing packets are ignored.
    Outgoing,
    /// Another value.
    Other(u8),
}

impl PacketType {
    pub(crate) fn from_raw(t: u8) -> Self {
        match t {
            libc::PACKET_HOST => PacketType::Host,
            libc::PACKET_BROADCAST => PacketType::Broadcast,
            libc::PACKET_MULTICAST => PacketType::Multicast,
            libc::PACKET_OTHERHOST => PacketType::OtherHost,
            libc::PACKET_OUTGOING => PacketType::Outgoing,
            other => PacketType::Other(other),
        }
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketType::Host => f.write_str("host"),
            PacketType::Broadcast => f.write_str("broadcast"),
            PacketType::Multicast => f.write_str("multicast"),
            PacketType::OtherHost => f.write_str("otherhost"),
            PacketType::Outgoing => f.write_str("outgoing"),
            PacketType::Other(t) => write!(f, "type {t}"),
        }
    }
}

/// What the kernel says about a received packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PacketMeta {
    /// The packet's length as it was on the interface, Ethernet header
    /// included (`tp_len` of `PACKET_AUXDATA`).
    pub len: usize,
    /// Its length after the filter, which may keep only a prefix (a return
    /// value N < `len` keeps N bytes).
    pub snap_len: usize,
    /// The bytes written to the buffer: `snap_len`, or less if the buffer
    /// was shorter.
    pub captured: usize,
    /// Host, outgoing, broadcast, ...
    pub packet_type: PacketType,
    /// The ethertype, in host order (`0x0800` IPv4, `0x86dd` IPv6, `0x0806`
    /// ARP).
    pub protocol: u16,
    /// The interface the packet was seen on.
    pub ifindex: u32,
}

impl PacketMeta {
    /// Whether the filter or the buffer cut the packet short.
    pub fn is_truncated(&self) -> bool {
        self.captured < self.len
    }
}

/// A received packet, Ethernet header first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// The captured bytes (`meta.captured` of them).
    pub data: Vec<u8>,
    /// What the kernel says about it.
    pub meta: PacketMeta,
}

/// How a [fanout group](Fanout) spreads packets over its members
/// (packet(7)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FanoutMode {
    /// By flow hash (`PACKET_FANOUT_HASH`): the packets of one flow (same
    /// addresses, ports and protocol) go to the same member.
    Hash,
    /// By the CPU the packet arrived on (`PACKET_FANOUT_CPU`).
    Cpu,
    /// Round robin (`PACKET_FANOUT_LB`).
    LoadBalance,
}

impl FanoutMode {
    fn as_raw(self) -> u32 {
        match self {
            FanoutMode::Hash => libc::PACKET_FANOUT_HASH,
            FanoutMode::Cpu => libc::PACKET_FANOUT_CPU,
            FanoutMode::LoadBalance => libc::PACKET_FANOUT_LB,
        }
    }
}

/// Membership of a fanout group (`PACKET_FANOUT`, Linux 3.1): the sockets
/// (or rings) of one process that join the same group id on the same
/// interface share its traffic, each packet going to exactly one of them.
/// Every member must ask for the same mode and flags.
///
/// ```no_run
/// use bpf_loader::{Fanout, FanoutMode, PacketSocket, RingGeometry};
///
/// let group = Fanout::new(FanoutMode::Hash, std::process::id() as u16);
/// let rings: Vec<_> = (0..2)
///     .map(|_| PacketSocket::builder().fanout(group).bind_ring("lo", RingGeometry::default()))
///     .collect::<Result<_, _>>()?;
/// # Ok::<(), bpf_loader::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fanout {
    group: u16,
    mode: FanoutMode,
    rollover: bool,
}

impl Fanout {
    /// Group `group` (an id of this process's choosing), spreading by
    /// `mode`.
    pub fn new(mode: FanoutMode, group: u16) -> Self {
        Fanout {
            group,
            mode,
            rollover: false,
        }
    }

    /// Whether a packet whose member is full goes to the next member
    /// instead of being dropped (`PACKET_FANOUT_FLAG_ROLLOVER`). Default:
    /// off.
    #[must_use]
    pub fn rollover(mut self, on: bool) -> Self {
        self.rollover = on;
        self
    }

    /// The group id.
    pub fn group(&self) -> u16 {
        self.group
    }

    /// The mode.
    pub fn mode(&self) -> FanoutMode {
        self.mode
    }
}

/// Options for opening a [`PacketSocket`] or a [`PacketRing`], applied in
/// an order that lets no unfiltered packet in: the socket is opened with
/// protocol 0 (it receives nothing), configured (and given its ring),
/// given its filter, and only then bound; a fanout group is joined last,
/// as the kernel requires a bound socket.
///
/// ```no_run
/// use bpf_loader::{PacketSocket, bpf_prog};
///
/// let prog = bpf_loader::load(&bpf_prog! { mov64 r0, -1; exit })?;
/// let sock = PacketSocket::builder()
///     .ignore_outgoing(true)
///     .filter(&prog)
///     .bind("lo")?;
/// # Ok::<(), bpf_loader::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[must_use = "a builder does nothing until `bind` is called"]
pub struct PacketSocketBuilder<'a> {
    ignore_outgoing: bool,
    filter: Option<&'a LoadedProgram>,
    fanout: Option<Fanout>,
    recv_buffer: Option<usize>,
}

impl<'a> PacketSocketBuilder<'a> {
    /// Whether to skip packets this host sends (`PACKET_IGNORE_OUTGOING`,
    /// Linux 4.20). On `lo` every packet is otherwise seen twice, as
    /// outgoing and as incoming. Default: off. With a [`fanout`](Self::fanout)
    /// group the kernel ignores the socket option, so the group is joined
    /// with `PACKET_FANOUT_FLAG_IGNORE_OUTGOING` too (a newer flag: kernels
    /// without it refuse the join with `EINVAL`).
    pub fn ignore_outgoing(mut self, ignore: bool) -> Self {
        self.ignore_outgoing = ignore;
        self
    }

    /// The socket filter to attach before binding: the same attach as
    /// [`attach_filter`] (`SO_ATTACH_BPF`), made before `bind` so that no
    /// unfiltered packet is queued in between. Errors name the program and
    /// the socket as [`attach_filter`]'s do.
    ///
    /// The filter's return value is also the snap length: N > 0 keeps at
    /// most N bytes of the packet (its original length is still reported),
    /// `-1` all of it, 0 drops it.
    pub fn filter(mut self, prog: &'a LoadedProgram) -> Self {
        self.filter = Some(prog);
        self
    }

    /// Joins a fanout group after binding, to share the interface's traffic
    /// with the group's other members (see [`Fanout`]).
    pub fn fanout(mut self, fanout: Fanout) -> Self {
        self.fanout = Some(fanout);
        self
    }

    /// The socket's receive buffer for [`PacketSocket::recv`]: how many
    /// bytes of packets (kernel accounting, about 1 KiB per small packet)
    /// may wait before the kernel drops. `SO_RCVBUFFORCE` with root or
    /// `CAP_NET_ADMIN`, else `SO_RCVBUF` (capped by `net.core.rmem_max`).
    /// Default: the system's (`net.core.rmem_default`, usually 208 KiB).
    /// Irrelevant for a ring, which holds the packets itself.
    pub fn recv_buffer(mut self, bytes: usize) -> Self {
        self.recv_buffer = Some(bytes);
        self
    }

    /// Opens the socket and binds it to the interface named `interface`.
    ///
    /// Kernel calls: `if_nametoindex(3)`, `socket(AF_PACKET, SOCK_RAW, 0)`,
    /// `setsockopt(SOL_PACKET, PACKET_AUXDATA)` (2.6.21),
    /// `setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING)` (4.20, only if
    /// asked), `setsockopt(SO_ATTACH_BPF)` (3.19), `bind(2)` with a
    /// `sockaddr_ll` for `ETH_P_ALL`, `setsockopt(PACKET_FANOUT)` (3.1, only
    /// if asked); see packet(7).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownInterface`] when no interface has that name;
    /// [`Error::Syscall`] otherwise (`EPERM` without `CAP_NET_RAW`).
    pub fn bind(self, interface: &str) -> Result<PacketSocket> {
        let (fd, ifindex, _) = self.open(interface, None)?;
        Ok(PacketSocket {
            fd,
            ifindex,
            interface: interface.to_owned(),
            totals: StatsTotals::default(),
        })
    }

    /// Opens the socket with a TPACKET_V3 receive ring of `geometry`,
    /// `mmap`s it, and binds it to `interface`: the fast receiver (see
    /// [`PacketRing`]).
    ///
    /// Kernel calls: as [`bind`](Self::bind), plus
    /// `setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)` (3.2),
    /// `setsockopt(SOL_PACKET, PACKET_RX_RING)` and `mmap(2)` before the
    /// filter and the bind.
    ///
    /// # Errors
    ///
    /// [`Error::RingGeometry`] for a geometry the kernel would refuse, before
    /// any system call; otherwise as [`bind`](Self::bind), and
    /// [`Error::Syscall`] for the ring calls (`ENOMEM` for a ring too large).
    pub fn bind_ring(self, interface: &str, geometry: RingGeometry) -> Result<PacketRing> {
        let (fd, ifindex, map) = self.open(interface, Some(&geometry))?;
        let map = map.ok_or_else(|| Error::RingGeometry {
            socket: format!("AF_PACKET ring on `{interface}`"),
            reason: "no ring was set up".into(),
        })?;
        Ok(PacketRing::new(
            fd,
            map,
            ifindex,
            interface.to_owned(),
            geometry,
        ))
    }

    /// The one opening sequence behind [`bind`](Self::bind) and
    /// [`bind_ring`](Self::bind_ring).
    fn open(
        self,
        interface: &str,
        ring: Option<&RingGeometry>,
    ) -> Result<(OwnedFd, u32, Option<sys::RingMap>)> {
        let what = match ring {
            None => format!("AF_PACKET socket on `{interface}`"),
            Some(_) => format!("AF_PACKET ring on `{interface}`"),
        };
        if let Some(geometry) = ring {
            // Before any system call: a clear error for a bad geometry.
            geometry.validate().map_err(|reason| Error::RingGeometry {
                socket: what.clone(),
                reason,
            })?;
        }
        let ifindex = interface_index(interface)?;
        let fd = sys::packet_socket()
            .map_err(|e| Error::socket_call(Syscall::PacketSocket, &what, e))?;
        if ring.is_none() {
            sys::set_packet_auxdata(fd.as_fd(), true)
                .map_err(|e| Error::socket_call(Syscall::AuxData, &what, e))?;
        }
        if self.ignore_outgoing {
            sys::set_packet_ignore_outgoing(fd.as_fd(), true)
                .map_err(|e| Error::socket_call(Syscall::IgnoreOutgoing, &what, e))?;
        }
        if let Some(bytes) = self.recv_buffer {
            let bytes = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
            sys::set_recv_buffer(fd.as_fd(), bytes)
                .map_err(|e| Error::socket_call(Syscall::RecvBuffer, &what, e))?;
        }
        let map = ring
            .map(|geometry| ring::setup(fd.as_fd(), geometry, &what))
            .transpose()?;
        if let Some(prog) = self.filter {
            attach(fd.as_fd(), prog, what.clone())?;
        }
        sys::bind_packet(fd.as_fd(), ifindex)
            .map_err(|e| Error::socket_call(Syscall::Bind, &what, e))?;
        if let Some(fanout) = self.fanout {
            let mut flags = 0;
            if fanout.rollover {
                flags |= libc::PACKET_FANOUT_FLAG_ROLLOVER;
            }
            if self.ignore_outgoing {
                flags |= libc::PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
            }
            sys::set_fanout(fd.as_fd(), fanout.group, fanout.mode.as_raw(), flags)
                .map_err(|e| Error::socket_call(Syscall::Fanout, &what, e))?;
        }
        Ok((fd, ifindex, map))
    }
}

/// The kernel's packet counters for a socket or ring
/// (`PACKET_STATISTICS`), added up since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PacketStats {
    /// Packets the filter kept, the dropped ones included (`tp_packets`).
    pub packets: u64,
    /// Of those, the packets dropped because the ring or receive buffer was
    /// full (`tp_drops`): a reader too slow, or a ring too small.
    pub drops: u64,
    /// How often the ring's queue froze because user space held every block
    /// (`tp_freeze_q_cnt`, rings only).
    pub freezes: u64,
}

impl PacketStats {
    /// The packets delivered: `packets - drops`.
    pub fn delivered(&self) -> u64 {
        self.packets.saturating_sub(self.drops)
    }
}

impl fmt::Display for PacketStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} packets passed the filter, {} dropped by the kernel",
            self.packets, self.drops
        )?;
        if self.freezes > 0 {
            write!(f, ", queue frozen {} times", self.freezes)?;
        }
        Ok(())
    }
}

/// Running totals of [`PacketStats`]: the kernel resets its counters on
/// every read.
#[derive(Debug, Default)]
pub(crate) struct StatsTotals {
    packets: AtomicU64,
    drops: AtomicU64,
    freezes: AtomicU64,
}

impl StatsTotals {
    /// Reads (and so resets) the kernel's counters, adds them, returns the
    /// totals.
    pub(crate) fn update(&self, fd: BorrowedFd<'_>) -> io::Result<PacketStats> {
        let s = sys::packet_statistics(fd)?;
        let add = |total: &AtomicU64, n: u32| {
            total.fetch_add(u64::from(n), Ordering::Relaxed) + u64::from(n)
        };
        Ok(PacketStats {
            packets: add(&self.packets, s.tp_packets),
            drops: add(&self.drops, s.tp_drops),
            freezes: add(&self.freezes, s.tp_freeze_q_cnt),
        })
    }
}

/// A raw `AF_PACKET` socket bound to one interface: it receives every frame
/// seen there (all protocols, Ethernet header included) that its filter
/// keeps.
///
/// A filter attached to it sees the data from the Ethernet header on (on
/// `lo`, a zeroed 14-byte header): 14 bytes later than under
/// [`LoadedProgram::test_run`]. Give the filter to
/// [`PacketSocketBuilder::filter`], so it is in place before packets
/// arrive; [`attach_filter`] and [`detach_filter`] change it later, as for
/// any socket (`PacketSocket` is [`AsFd`]).
///
/// Closing a bound packet socket takes the kernel 12-16 ms (an RCU grace
/// period): reuse sockets rather than opening one per packet.
///
/// ```no_run
/// use std::time::Duration;
/// use bpf_loader::PacketSocket;
///
/// let sock = PacketSocket::bind("lo")?;
/// let mut buf = vec![0u8; 65_550];
/// if let Some(meta) = sock.recv(&mut buf, Some(Duration::from_secs(1)))? {
///     println!("{} bytes, {}, ethertype {:#06x}", meta.len, meta.packet_type, meta.protocol);
/// }
/// # Ok::<(), bpf_loader::Error>(())
/// ```
///
/// See packet(7); needs `CAP_NET_RAW`.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
    interface: String,
    totals: StatsTotals,
}

impl PacketSocket {
    /// Options for a new socket: outgoing packets, a filter.
    pub fn builder() -> PacketSocketBuilder<'static> {
        PacketSocketBuilder::default()
    }

    /// A socket bound to `interface` with no filter, seeing outgoing
    /// packets too: `PacketSocket::builder().bind(interface)`.
    ///
    /// # Errors
    ///
    /// As [`PacketSocketBuilder::bind`].
    pub fn bind(interface: &str) -> Result<Self> {
        PacketSocket::builder().bind(interface)
    }

    /// The interface name given to [`bind`](Self::bind).
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The interface's index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    fn what(&self) -> String {
        format!("AF_PACKET socket on `{}`", self.interface)
    }

    /// Whether to skip packets this host sends.
    ///
    /// Kernel call: `setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING)`, Linux
    /// 4.20; see packet(7).
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] with `ENOPROTOOPT` on older kernels.
    pub fn set_ignore_outgoing(&self, ignore: bool) -> Result<()> {
        sys::set_packet_ignore_outgoing(self.fd.as_fd(), ignore)
            .map_err(|e| Error::socket_call(Syscall::IgnoreOutgoing, self.what(), e))
    }

    /// Receives one packet into `buf`, waiting at most `timeout` (`None`:
    /// forever). Returns `Ok(None)` on timeout; with a zero timeout it only
    /// takes a packet already queued. A packet longer than `buf` is cut
    /// short ([`PacketMeta::captured`] < [`PacketMeta::snap_len`]).
    ///
    /// Kernel calls: `recvmsg(2)` with `MSG_TRUNC | MSG_DONTWAIT`, and
    /// `poll(2)` while nothing is queued; see packet(7).
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] if `recvmsg` or `poll` fail (not on `EINTR`,
    /// which is retried).
    pub fn recv(&self, buf: &mut [u8], timeout: Option<Duration>) -> Result<Option<PacketMeta>> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            match sys::recv_packet(self.fd.as_fd(), buf) {
                Ok(info) => {
                    return Ok(Some(PacketMeta {
                        len: info.orig_len.map_or(info.len, |l| l as usize),
                        snap_len: info.len,
                        captured: info.len.min(buf.len()),
                        packet_type: PacketType::from_raw(info.pkttype),
                        protocol: info.protocol,
                        ifindex: info.ifindex.unsigned_abs(),
                    }));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::socket_call(Syscall::Recv, self.what(), e)),
            }
            let timeout_ms = match (timeout, deadline) {
                (None, _) | (Some(_), None) => -1,
                (Some(_), Some(deadline)) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(None);
                    }
                    // Round up, so a sub-millisecond wait does not spin.
                    let ms = left.as_nanos().div_ceil(1_000_000);
                    i32::try_from(ms).unwrap_or(i32::MAX)
                }
            };
            match sys::poll_readable(self.fd.as_fd(), timeout_ms) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::socket_call(Syscall::Poll, self.what(), e)),
            }
        }
    }

    /// Receives one packet into a new buffer (up to 65,550 bytes, the largest
    /// `lo` frame); see [`recv`](Self::recv), which reuses a buffer and is
    /// the faster choice in a loop.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub fn recv_packet(&self, timeout: Option<Duration>) -> Result<Option<Packet>> {
        let mut data = vec![0u8; MAX_FRAME];
        let Some(meta) = self.recv(&mut data, timeout)? else {
            return Ok(None);
        };
        data.truncate(meta.captured);
        data.shrink_to_fit();
        Ok(Some(Packet { data, meta }))
    }

    /// The kernel's counters since the socket was opened: packets the filter
    /// kept, and of those dropped because the receive buffer was full (see
    /// [`PacketSocketBuilder::recv_buffer`]).
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

    /// Discards the packets queued now; returns how many.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub fn drain(&self) -> Result<usize> {
        let mut buf = [0u8; 1];
        let mut n = 0;
        while self.recv(&mut buf, Some(Duration::ZERO))?.is_some() {
            n += 1;
        }
        Ok(n)
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl From<PacketSocket> for OwnedFd {
    fn from(s: PacketSocket) -> OwnedFd {
        s.fd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_interface_names_are_typed_errors() {
        for name in ["", "a_name_longer_than_15", "nul\0name", "no_such_if0"] {
            let e = interface_index(name).unwrap_err();
            assert!(
                matches!(&e, Error::UnknownInterface { interface, .. } if interface == name),
                "{e}"
            );
            assert!(
                e.to_string().starts_with("no network interface named"),
                "{e}"
            );
        }
        assert_eq!(
            interface_index("no_such_if0").unwrap_err().raw_os_error(),
            Some(libc::ENODEV)
        );
        assert_eq!(interface_index("lo").ok(), Some(1));
    }

    #[test]
    fn packet_types() {
        assert_eq!(PacketType::from_raw(libc::PACKET_HOST), PacketType::Host);
        assert_eq!(
            PacketType::from_raw(libc::PACKET_OUTGOING),
            PacketType::Outgoing
        );
        assert_eq!(PacketType::from_raw(42).to_string(), "type 42");
        assert_eq!(PacketType::Broadcast.to_string(), "broadcast");
    }
}
