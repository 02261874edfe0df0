//! The crate's error type: which call failed, on what, and what to do.

use std::fmt;
use std::io;

use crate::SourceLine;
use crate::verifier::VerifierError;

/// The kernel-internal `ENOTSUPP` (not in libc), which `BPF_PROG_TEST_RUN`
/// returns for program types without a test runner.
pub(crate) const ENOTSUPP: i32 = 524;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The system call (or libc function) that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Syscall {
    /// `bpf(BPF_PROG_LOAD)`.
    ProgLoad,
    /// `bpf(BPF_PROG_TEST_RUN)`.
    ProgTestRun,
    /// `socket(AF_PACKET, SOCK_RAW)`.
    PacketSocket,
    /// `bind(2)` of a packet socket to an interface.
    Bind,
    /// `setsockopt(SOL_SOCKET, SO_ATTACH_BPF)`.
    AttachBpf,
    /// `setsockopt(SOL_SOCKET, SO_DETACH_BPF)`.
    DetachBpf,
    /// `setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING)`.
    IgnoreOutgoing,
    /// `setsockopt(SOL_PACKET, PACKET_AUXDATA)`.
    AuxData,
    /// `poll(2)`.
    Poll,
    /// `recvmsg(2)`.
    Recv,
    /// `bpf(BPF_MAP_CREATE)`.
    MapCreate,
    /// `bpf(BPF_MAP_LOOKUP_ELEM)`.
    MapLookup,
    /// `bpf(BPF_MAP_UPDATE_ELEM)`.
    MapUpdate,
    /// `bpf(BPF_MAP_DELETE_ELEM)`.
    MapDelete,
    /// `bpf(BPF_MAP_GET_NEXT_KEY)`.
    MapGetNextKey,
    /// `bpf(BPF_MAP_LOOKUP_BATCH)`.
    MapLookupBatch,
    /// `bpf(BPF_MAP_UPDATE_BATCH)`.
    MapUpdateBatch,
    /// `bpf(BPF_MAP_DELETE_BATCH)`.
    MapDeleteBatch,
    /// `bpf(BPF_OBJ_GET_INFO_BY_FD)`.
    ObjGetInfo,
    /// `mmap(2)` of a ring buffer.
    Mmap,
    /// `epoll_create1(2)`, `epoll_ctl(2)` or `epoll_wait(2)`.
    Epoll,
    /// Reading `/sys/devices/system/cpu/possible`.
    PossibleCpus,
    /// `setsockopt(SOL_SOCKET, SO_RCVBUFFORCE)` (or `SO_RCVBUF`).
    RecvBuffer,
    /// `setsockopt(SOL_PACKET, PACKET_VERSION)`.
    PacketVersion,
    /// `setsockopt(SOL_PACKET, PACKET_RX_RING)`.
    RxRing,
    /// `setsockopt(SOL_PACKET, PACKET_FANOUT)`.
    Fanout,
    /// `getsockopt(SOL_PACKET, PACKET_STATISTICS)`.
    Statistics,
    /// `getsockname(2)` of a packet socket.
    SockName,
}

impl Syscall {
    /// The call as written in C, e.g. `bpf(BPF_PROG_LOAD)`.
    pub fn name(self) -> &'static str {
        match self {
            Syscall::ProgLoad => "bpf(BPF_PROG_LOAD)",
            Syscall::ProgTestRun => "bpf(BPF_PROG_TEST_RUN)",
            Syscall::PacketSocket => "socket(AF_PACKET, SOCK_RAW)",
            Syscall::Bind => "bind(sockaddr_ll)",
            Syscall::AttachBpf => "setsockopt(SO_ATTACH_BPF)",
            Syscall::DetachBpf => "setsockopt(SO_DETACH_BPF)",
            Syscall::IgnoreOutgoing => "setsockopt(PACKET_IGNORE_OUTGOING)",
            Syscall::AuxData => "setsockopt(PACKET_AUXDATA)",
            Syscall::Poll => "poll",
            Syscall::Recv => "recvmsg",
            Syscall::MapCreate => "bpf(BPF_MAP_CREATE)",
            Syscall::MapLookup => "bpf(BPF_MAP_LOOKUP_ELEM)",
            Syscall::MapUpdate => "bpf(BPF_MAP_UPDATE_ELEM)",
            Syscall::MapDelete => "bpf(BPF_MAP_DELETE_ELEM)",
            Syscall::MapGetNextKey => "bpf(BPF_MAP_GET_NEXT_KEY)",
            Syscall::MapLookupBatch => "bpf(BPF_MAP_LOOKUP_BATCH)",
            Syscall::MapUpdateBatch => "bpf(BPF_MAP_UPDATE_BATCH)",
            Syscall::MapDeleteBatch => "bpf(BPF_MAP_DELETE_BATCH)",
            Syscall::ObjGetInfo => "bpf(BPF_OBJ_GET_INFO_BY_FD)",
            Syscall::Mmap => "mmap",
            Syscall::Epoll => "epoll",
            Syscall::PossibleCpus => "read(/sys/devices/system/cpu/possible)",
            Syscall::RecvBuffer => "setsockopt(SO_RCVBUFFORCE)",
            Syscall::PacketVersion => "setsockopt(PACKET_VERSION)",
            Syscall::RxRing => "setsockopt(PACKET_RX_RING)",
            Syscall::Fanout => "setsockopt(PACKET_FANOUT)",
            Syscall::Statistics => "getsockopt(PACKET_STATISTICS)",
            Syscall::SockName => "getsockname(sockaddr_ll)",
        }
    }
}

impl fmt::Display for Syscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that can go wrong loading, attaching and running programs.
///
/// `Display` gives one line naming the call, the program or socket, the
/// operating system's message and, where one applies, a hint (for a
/// verifier rejection, also the log). `Debug` prints the same text, so
/// `unwrap()` and `fn main() -> Result<(), Error>` show readable messages
/// with real newlines.
///
/// The variants share their field names: `program` is the program concerned,
/// as messages name it (``program `name` (N instructions)``); `socket` the
/// socket; `call` the failing system call; `source` the operating system's
/// error (also [`std::error::Error::source`]); `map` and `slot` a map name
/// and an instruction slot (`map` is the map's description, as messages name
/// it: ``array map `counts` (key 4 B, value 8 B, 256 entries)``).
/// [`program`](Self::program),
/// [`io_error`](Self::io_error) and [`failed_call`](Self::failed_call) read
/// them whatever the variant; `file` is a capture file's path.
#[non_exhaustive]
pub enum Error {
    /// A system call failed.
    Syscall {
        /// The call.
        call: Syscall,
        /// The program it was about, for calls about one (load, test run,
        /// attach).
        program: Option<String>,
        /// The socket it was about, for calls about one (packet socket
        /// options, attach, detach, receive): ``AF_PACKET socket on `lo` ``,
        /// `socket (fd 3)`.
        socket: Option<String>,
        /// The error the kernel returned.
        source: io::Error,
    },
    /// The verifier rejected the program; holds its log (and, like the
    /// other variants, the program: [`VerifierError::program`]).
    Verifier(Box<VerifierError>),
    /// No network interface has this name (or the name cannot be one).
    UnknownInterface {
        /// The interface name asked for.
        interface: String,
        /// Why the lookup failed (`ENODEV` from `if_nametoindex(3)`, or an
        /// invalid name).
        source: io::Error,
    },
    /// The program loads a map by name (`lddw rN, map_fd(NAME)`) but no map
    /// was bound to that name with [`ProgramLoader::map`](crate::ProgramLoader::map).
    UnboundMap {
        /// The program.
        program: String,
        /// The map name written in the source.
        map: String,
        /// The `lddw`'s first slot.
        slot: usize,
        /// The source line of the `lddw`, if the program has one.
        source_line: Option<SourceLine>,
    },
    /// A relocation points at a slot that is not the first half of an
    /// `lddw` with a map pseudo source (a malformed [`Program`](crate::Program)).
    BadRelocation {
        /// The program.
        program: String,
        /// The map name of the relocation.
        map: String,
        /// The slot it points at.
        slot: usize,
    },
    /// A receive ring's geometry the kernel would refuse (or that cannot
    /// hold a packet), found before any system call: see
    /// [`RingGeometry`](crate::RingGeometry).
    RingGeometry {
        /// The socket it was for: ``AF_PACKET socket on `lo` ``.
        socket: String,
        /// What is wrong and what would do.
        reason: String,
    },
    /// Creating or writing a capture file failed.
    CaptureFile {
        /// The file's path (or `<writer>` for another destination).
        file: String,
        /// The error.
        source: io::Error,
    },
    /// An invalid program name or license.
    InvalidArgument {
        /// The program.
        program: String,
        /// What is wrong.
        reason: String,
    },
    /// A map system call failed.
    MapSyscall {
        /// The call.
        call: Syscall,
        /// The map.
        map: String,
        /// The error the kernel returned.
        source: io::Error,
    },
    /// A map the kernel would refuse, found before the system call: a zero
    /// size, a ring buffer size that is not a power-of-two multiple of the
    /// page size, a flag the type does not take; or a typed handle whose
    /// key or value type does not match the map's sizes.
    InvalidMap {
        /// The map.
        map: String,
        /// What is wrong, and what would be accepted.
        reason: String,
    },
    /// An insert with [`UpdateFlag::NoExist`](crate::UpdateFlag::NoExist)
    /// found the key present (`EEXIST`).
    KeyExists {
        /// The map.
        map: String,
    },
    /// The key is not in the map (`ENOENT`): a delete of an absent key, an
    /// update with [`UpdateFlag::Exist`](crate::UpdateFlag::Exist), an index
    /// beyond an array's end.
    KeyNotFound {
        /// The map.
        map: String,
    },
    /// A map bound to a program, or asked for by name, does not match what
    /// the program declares (`#![map(...)]`), or the program declares no
    /// such map.
    MapMismatch {
        /// The program.
        program: String,
        /// The map name.
        map: String,
        /// What differs.
        reason: String,
    },
}

impl Error {
    /// A failed call about a program.
    pub(crate) fn program_call(call: Syscall, program: String, source: io::Error) -> Self {
        Error::Syscall {
            call,
            program: Some(program),
            socket: None,
            source,
        }
    }

    /// A failed call about a map.
    pub(crate) fn map_call(call: Syscall, map: impl Into<String>, source: io::Error) -> Self {
        Error::MapSyscall {
            call,
            map: map.into(),
            source,
        }
    }

    /// The map the error is about, as messages name it, if it is about one
    /// (for [`Error::UnboundMap`] and [`Error::MapMismatch`]: its name).
    pub fn map(&self) -> Option<&str> {
        match self {
            Error::MapSyscall { map, .. }
            | Error::InvalidMap { map, .. }
            | Error::KeyExists { map }
            | Error::KeyNotFound { map }
            | Error::MapMismatch { map, .. }
            | Error::UnboundMap { map, .. }
            | Error::BadRelocation { map, .. } => Some(map),
            _ => None,
        }
    }

    /// A failed call about a socket.
    pub(crate) fn socket_call(call: Syscall, socket: impl Into<String>, source: io::Error) -> Self {
        Error::Syscall {
            call,
            program: None,
            socket: Some(socket.into()),
            source,
        }
    }

    /// The program the error is about, as messages name it
    /// (``program `name` (N instructions)``), if it is about one.
    pub fn program(&self) -> Option<&str> {
        match self {
            Error::Syscall { program, .. } => program.as_deref(),
            Error::Verifier(v) => Some(v.program()),
            Error::UnboundMap { program, .. }
            | Error::BadRelocation { program, .. }
            | Error::InvalidArgument { program, .. }
            | Error::MapMismatch { program, .. } => Some(program),
            Error::UnknownInterface { .. }
            | Error::MapSyscall { .. }
            | Error::InvalidMap { .. }
            | Error::KeyExists { .. }
            | Error::KeyNotFound { .. }
            | Error::RingGeometry { .. }
            | Error::CaptureFile { .. } => None,
        }
    }

    /// The operating system error behind this one, if any.
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            Error::Syscall { source, .. }
            | Error::UnknownInterface { source, .. }
            | Error::MapSyscall { source, .. }
            | Error::CaptureFile { source, .. } => Some(source),
            Error::Verifier(v) => Some(v.io_error()),
            _ => None,
        }
    }

    /// The `errno` behind this error, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.io_error().and_then(io::Error::raw_os_error)
    }

    /// The failing system call, if a system call failed.
    pub fn failed_call(&self) -> Option<Syscall> {
        match self {
            Error::Syscall { call, .. } | Error::MapSyscall { call, .. } => Some(*call),
            Error::Verifier(_) => Some(Syscall::ProgLoad),
            _ => None,
        }
    }

    /// The verifier's rejection, if that is what this is.
    pub fn verifier(&self) -> Option<&VerifierError> {
        match self {
            Error::Verifier(v) => Some(v),
            _ => None,
        }
    }

    /// Whether the process lacks the privilege for the call (`EPERM`, or
    /// `EACCES` outside a verifier rejection): the case where a program
    /// should tell the user to run as root or grant `CAP_BPF` and
    /// `CAP_NET_RAW`.
    pub fn is_permission_denied(&self) -> bool {
        matches!(
            self,
            Error::Syscall { source, .. } | Error::MapSyscall { source, .. }
                if matches!(source.raw_os_error(), Some(libc::EPERM | libc::EACCES))
        )
    }

    /// What to do about it, for the errors where the `errno` alone says
    /// little.
    pub fn hint(&self) -> Option<&'static str> {
        let (Error::Syscall { call, source, .. } | Error::MapSyscall { call, source, .. }) = self
        else {
            return None;
        };
        let errno = source.raw_os_error()?;
        Some(match (call, errno) {
            (
                Syscall::ProgLoad | Syscall::PacketSocket | Syscall::ProgTestRun,
                libc::EPERM | libc::EACCES,
            ) => {
                "needs root or CAP_BPF + CAP_NET_RAW (kernels before 5.11 also need a \
                 large enough RLIMIT_MEMLOCK, `ulimit -l`)"
            }
            (Syscall::ProgLoad, libc::E2BIG) => {
                "program too large: the kernel accepts at most 1,000,000 instructions \
                 (4,096 without CAP_BPF), walks at most 1,000,000 of them, and nests at \
                 most 8 calls"
            }
            (Syscall::ProgLoad, libc::EINVAL) => {
                "the kernel refused the request itself: a program type, instruction or \
                 attribute this kernel does not know (too old?), or an empty program"
            }
            (Syscall::AttachBpf, libc::ENOMEM) => {
                "the filter is charged to the socket's option memory and does not fit: \
                 raise `net.core.optmem_max` (default 131072 bytes, about 16,000 \
                 instructions), e.g. `sysctl -w net.core.optmem_max=1048576`"
            }
            (Syscall::AttachBpf, libc::EINVAL) => {
                "only programs of type BPF_PROG_TYPE_SOCKET_FILTER attach to sockets"
            }
            (Syscall::AttachBpf | Syscall::DetachBpf, libc::ENOTSOCK) => "the fd is not a socket",
            (Syscall::DetachBpf, libc::ENOENT) => "no filter is attached to this socket",
            (Syscall::IgnoreOutgoing, libc::ENOPROTOOPT) => {
                "PACKET_IGNORE_OUTGOING needs Linux 4.20 or later"
            }
            (Syscall::ProgTestRun, libc::EINVAL) => {
                "for socket filters the data must be a whole Ethernet frame: at least 14 \
                 bytes, at most a page less the kernel's skb head- and tailroom (3712 bytes \
                 on x86_64 with 4 KiB pages)"
            }
            (Syscall::ProgTestRun, ENOTSUPP | libc::EOPNOTSUPP) => {
                "this program type does not support BPF_PROG_TEST_RUN"
            }
            (Syscall::PacketSocket, libc::EAFNOSUPPORT) => {
                "AF_PACKET is not available (kernel built without CONFIG_PACKET?)"
            }
            (
                Syscall::MapCreate | Syscall::ObjGetInfo | Syscall::Mmap,
                libc::EPERM | libc::EACCES,
            ) => {
                "needs root or CAP_BPF (kernels before 5.11 also need a large enough \
                 RLIMIT_MEMLOCK, `ulimit -l`)"
            }
            (Syscall::MapCreate, libc::E2BIG | libc::ENOMEM) => {
                "the map is too large: lower max_entries or the key/value sizes (keys and \
                 values are at most a few KiB; before Linux 5.11 maps are also charged to \
                 RLIMIT_MEMLOCK, `ulimit -l`)"
            }
            (Syscall::MapCreate, libc::EINVAL) => {
                "the kernel refused a field: a key or value size this map type does not \
                 take (arrays: 4-byte keys; ring buffers and program arrays: see the \
                 type), max_entries 0, a flag the type does not take, or a type this \
                 kernel does not know"
            }
            (Syscall::MapUpdate | Syscall::MapUpdateBatch, libc::E2BIG) => {
                "the map is full (every one of its max_entries is in use; for an array: \
                 the index is beyond max_entries): delete entries or use a larger map"
            }
            (Syscall::MapUpdate | Syscall::MapUpdateBatch, libc::ENOMEM) => {
                "the kernel could not allocate the element (a map created with \
                 BPF_F_NO_PREALLOC allocates on update)"
            }
            (
                Syscall::MapLookupBatch | Syscall::MapUpdateBatch | Syscall::MapDeleteBatch,
                libc::EINVAL | ENOTSUPP | libc::EOPNOTSUPP,
            ) => "this map type has no batch operations (or the kernel predates Linux 5.6)",
            (Syscall::MapUpdate, libc::EINVAL) => {
                "the kernel refused the update: a flag the map type does not take, or a \
                 value it cannot hold (a program array takes program fds)"
            }
            (Syscall::MapDelete, libc::EINVAL) => "arrays have no delete: overwrite the entry",
            (Syscall::Mmap, libc::EINVAL | libc::ENODEV) => {
                "only ring buffers and arrays created with BPF_F_MMAPABLE can be mapped"
            }
            (Syscall::PossibleCpus, _) => {
                "per-CPU values need /sys/devices/system/cpu/possible (is sysfs mounted?)"
            }
            (Syscall::RxRing, libc::EINVAL) => {
                "the kernel refused the ring's geometry (block size a multiple of the page \
                 size, frame size a multiple of 16 and at most the block size, total size \
                 under 4 GiB), or the socket already has a ring"
            }
            (Syscall::RxRing | Syscall::Mmap, libc::ENOMEM) => {
                "not enough memory for the ring: use fewer or smaller blocks"
            }
            (Syscall::Fanout, libc::EINVAL) => {
                "the fanout group exists with another mode or other flags (every member \
                 must ask for the same), or this kernel lacks a flag asked for (with \
                 ignore_outgoing: PACKET_FANOUT_FLAG_IGNORE_OUTGOING)"
            }
            (Syscall::Fanout, libc::EALREADY) => "the socket is already in a fanout group",
            (Syscall::Fanout, libc::ENOSPC) => "the fanout group is full",
            (Syscall::Bind, libc::ENODEV) => "the interface disappeared",
            (Syscall::Bind, libc::ENETDOWN) => "the interface is down",
            _ => return None,
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syscall {
                call,
                program,
                socket,
                source,
            } => {
                match (program, socket) {
                    (Some(program), Some(socket)) => {
                        write!(f, "{call} failed for {program} on {socket}: {source}")?;
                    }
                    (Some(what), None) | (None, Some(what)) => {
                        write!(f, "{call} failed for {what}: {source}")?;
                    }
                    (None, None) => write!(f, "{call} failed: {source}")?,
                }
                if let Some(hint) = self.hint() {
                    write!(f, "; {hint}")?;
                }
                Ok(())
            }
            Error::Verifier(v) => fmt::Display::fmt(v, f),
            Error::UnknownInterface { interface, source } => write!(
                f,
                "no network interface named `{interface}` ({source}); `ip link` lists them"
            ),
            Error::UnboundMap {
                program,
                map,
                slot,
                source_line,
            } => {
                write!(
                    f,
                    "{program} loads map `{map}` (instruction {slot}) but no map is bound to \
                     that name: bind one with `.map(\"{map}\", fd)`"
                )?;
                if let Some(line) = source_line {
                    write!(f, "; line {}: {}", line.line, line.text)?;
                }
                Ok(())
            }
            Error::BadRelocation { program, map, slot } => write!(
                f,
                "{program}: the relocation of map `{map}` points at instruction {slot}, \
                 which is not an `lddw` with a map source"
            ),
            Error::InvalidArgument { program, reason } => write!(f, "{program}: {reason}"),
            Error::MapSyscall { call, map, source } => {
                write!(f, "{call} failed for {map}: {source}")?;
                if let Some(hint) = self.hint() {
                    write!(f, "; {hint}")?;
                }
                Ok(())
            }
            Error::InvalidMap { map, reason } => write!(f, "{map}: {reason}"),
            Error::KeyExists { map } => write!(
                f,
                "{map}: the key is already present (the insert asked for a new key, \
                 `UpdateFlag::NoExist`)"
            ),
            Error::KeyNotFound { map } => write!(f, "{map}: no such key"),
            Error::MapMismatch {
                program,
                map,
                reason,
            } => write!(f, "{program}, map `{map}`: {reason}"),
            Error::RingGeometry { socket, reason } => {
                write!(f, "invalid receive ring for {socket}: {reason}")
            }
            Error::CaptureFile { file, source } => {
                write!(f, "capture file `{file}`: {source}")
            }
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Syscall { source, .. }
            | Error::UnknownInterface { source, .. }
            | Error::MapSyscall { source, .. }
            | Error::CaptureFile { source, .. } => Some(source),
            Error::Verifier(v) => Some(v.io_error()),
            _ => None,
        }
    }
}

impl From<std::convert::Infallible> for Error {
    /// For `TryFrom<Map> for Map` (which cannot fail), so
    /// [`LoadedProgram::take_map`](crate::LoadedProgram::take_map) takes the
    /// untyped handle too.
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

impl From<VerifierError> for Error {
    fn from(v: VerifierError) -> Self {
        Error::Verifier(Box::new(v))
    }
}

impl From<Error> for io::Error {
    /// Keeps the `errno` where there is one, and the full message.
    fn from(e: Error) -> Self {
        let kind = e
            .io_error()
            .map_or(io::ErrorKind::InvalidInput, io::Error::kind);
        io::Error::new(kind, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errno(call: Syscall, errno: i32) -> Error {
        Error::program_call(
            call,
            "program `t`".into(),
            io::Error::from_raw_os_error(errno),
        )
    }

    #[test]
    fn permission_hint() {
        let e = errno(Syscall::ProgLoad, libc::EPERM);
        assert!(e.is_permission_denied());
        let msg = e.to_string();
        assert!(
            msg.starts_with("bpf(BPF_PROG_LOAD) failed for program `t`: "),
            "{msg}"
        );
        assert!(msg.contains("needs root or CAP_BPF + CAP_NET_RAW"), "{msg}");
        assert!(
            errno(Syscall::PacketSocket, libc::EPERM)
                .to_string()
                .contains("CAP_NET_RAW")
        );
    }

    #[test]
    fn optmem_hint_names_the_sysctl() {
        let msg = errno(Syscall::AttachBpf, libc::ENOMEM).to_string();
        assert!(msg.contains("net.core.optmem_max"), "{msg}");
        assert!(!errno(Syscall::AttachBpf, libc::ENOMEM).is_permission_denied());
    }

    #[test]
    fn e2big_hint_names_the_limit() {
        let msg = errno(Syscall::ProgLoad, libc::E2BIG).to_string();
        assert!(msg.contains("1,000,000 instructions"), "{msg}");
    }

    #[test]
    fn no_hint_for_unknown_combinations() {
        assert_eq!(errno(Syscall::Poll, libc::EBADF).hint(), None);
    }

    #[test]
    fn messages_name_the_program_and_the_socket() {
        let source = || io::Error::from_raw_os_error(libc::ENOMEM);
        let both = Error::Syscall {
            call: Syscall::AttachBpf,
            program: Some("program `p` (2 instructions)".into()),
            socket: Some("socket (fd 3)".into()),
            source: source(),
        };
        assert!(
            both.to_string().starts_with(
                "setsockopt(SO_ATTACH_BPF) failed for program `p` (2 instructions) on \
                 socket (fd 3): "
            ),
            "{both}"
        );
        assert_eq!(both.program(), Some("program `p` (2 instructions)"));
        let sock = Error::socket_call(Syscall::Bind, "AF_PACKET socket on `lo`", source());
        assert!(
            sock.to_string()
                .starts_with("bind(sockaddr_ll) failed for AF_PACKET socket on `lo`: "),
            "{sock}"
        );
        assert_eq!(sock.program(), None);
        let e = Error::InvalidArgument {
            program: "program `p`".into(),
            reason: "r".into(),
        };
        assert_eq!(e.program(), Some("program `p`"));
    }

    #[test]
    fn debug_is_display() {
        let e = Error::socket_call(
            Syscall::DetachBpf,
            "socket (fd 3)",
            io::Error::from_raw_os_error(libc::ENOENT),
        );
        assert_eq!(format!("{e:?}"), e.to_string());
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
        assert_eq!(e.failed_call(), Some(Syscall::DetachBpf));
    }

    #[test]
    fn errors_cross_threads() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<Error>();
        send_sync::<VerifierError>();
    }

    #[test]
    fn into_io_error_keeps_kind() {
        let e: io::Error = errno(Syscall::PacketSocket, libc::EPERM).into();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        assert!(e.to_string().contains("CAP_NET_RAW"));
    }
}
