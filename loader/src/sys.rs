//! Every system call of the crate, and every `unsafe` block.
//!
//! The functions here are thin: they take typed arguments (`BorrowedFd`,
//! slices with lifetimes), return `io::Result`, and leave naming the failure
//! (which program, which interface, what to do about it) to the callers in the
//! safe modules. New file descriptors come back as [`OwnedFd`].
//!
//! Every `bpf(2)` command goes through one function, [`bpf`], and the safe
//! modules reach the commands only through the [`Bpf`] trait, whose real
//! implementation is [`Kernel`]: unit tests substitute a fake kernel there, so
//! the verifier-log retry and the error paths run without root.
//!
//! The TPACKET_V3 receive ring is here too: [`RingMap`] owns the mapping
//! and hands out one block at a time as a [`UserBlock`], whose drop gives
//! it back to the kernel; the memory ordering of the block status word is
//! documented where it is loaded and stored.

use std::ffi::{CStr, c_int, c_long, c_uint, c_void};
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};

use bpf_asm::Insn;

/// `ETH_P_ALL` in network byte order, as `socket(2)` and `sockaddr_ll` want it.
const ETH_P_ALL_BE: u16 = (libc::ETH_P_ALL as u16).to_be();

/// The arguments of `BPF_PROG_LOAD` that this crate sets; the borrowed
/// buffers outlive the call because the struct borrows them.
pub(crate) struct ProgLoadAttrs<'a> {
    /// The program type.
    pub(crate) prog_type: bpf_sys::ProgType,
    /// The instructions, already relocated.
    pub(crate) insns: &'a [Insn],
    /// The license, NUL-terminated.
    pub(crate) license: &'a CStr,
    /// The kernel-visible name: at most `BPF_OBJ_NAME_LEN - 1` bytes, already
    /// validated (alphanumerics, `_` and `.`).
    pub(crate) name: &'a [u8],
    /// The verifier log; `None` for the fast path without one.
    pub(crate) log: Option<LogBuf<'a>>,
}

/// A verifier log request.
pub(crate) struct LogBuf<'a> {
    /// `log_level` (1: the instructions on the failing path and the verdict).
    pub(crate) level: u32,
    /// Where the kernel writes the NUL-terminated log.
    pub(crate) buf: &'a mut [u8],
    /// Out: the size the whole log needs, NUL included (`log_true_size`,
    /// Linux 6.4); 0 from older kernels.
    pub(crate) true_size: u32,
}

/// Offset of `log_true_size` in `bpf_attr` (Linux 6.4): the `u32` right after
/// `core_relo_rec_size`, which the 6.1 header bpf-sys may be built from
/// lacks.
const LOG_TRUE_SIZE_OFFSET: usize =
    mem::offset_of!(bpf_sys::bpf_attr__bindgen_ty_4, core_relo_rec_size) + mem::size_of::<u32>();
const _: () = assert!(LOG_TRUE_SIZE_OFFSET + 4 <= mem::size_of::<bpf_sys::bpf_attr>());

impl ProgLoadAttrs<'_> {
    /// The one place a `bpf_attr` for `BPF_PROG_LOAD` is built: zeroed (the
    /// kernel rejects non-zero bytes past the fields it knows), then filled.
    fn attr(&mut self) -> io::Result<bpf_sys::bpf_attr> {
        let insn_cnt = u32::try_from(self.insns.len()).map_err(|_| e2big())?;
        let mut prog_name = [0 as std::ffi::c_char; bpf_sys::BPF_OBJ_NAME_LEN as usize];
        let n = self.name.len().min(prog_name.len() - 1);
        for (dst, &src) in prog_name.iter_mut().zip(&self.name[..n]) {
            *dst = src as std::ffi::c_char;
        }
        let (log_level, log_size, log_buf) = match &mut self.log {
            Some(log) => (
                log.level,
                u32::try_from(log.buf.len()).unwrap_or(u32::MAX),
                log.buf.as_mut_ptr() as u64,
            ),
            None => (0, 0, 0),
        };
        let mut attr = bpf_sys::bpf_attr::default();
        // SAFETY: `attr` is all zeroes, a valid value for this member (plain
        // integers and arrays). Its fields are written one by one, never by
        // assigning a whole struct, whose padding bytes would be undefined:
        // the kernel refuses non-zero bytes past the fields it knows.
        let load = unsafe { &mut attr.__bindgen_anon_3 };
        load.prog_type = self.prog_type.as_raw();
        load.insn_cnt = insn_cnt;
        load.insns = self.insns.as_ptr() as u64;
        load.license = self.license.as_ptr() as u64;
        load.log_level = log_level;
        load.log_size = log_size;
        load.log_buf = log_buf;
        load.prog_name = prog_name;
        Ok(attr)
    }
}

fn e2big() -> io::Error {
    io::Error::from_raw_os_error(libc::E2BIG)
}

/// `bpf(cmd, attr, sizeof(attr))`, returning the non-negative result: the
/// crate's one entry into `bpf(2)`.
///
/// # Safety
///
/// Every pointer stored in `attr` for `cmd` must be valid for the kernel to
/// read (or write, for output buffers) for the length stored beside it, for
/// the duration of the call.
unsafe fn bpf(cmd: bpf_sys::bpf_cmd, attr: &mut bpf_sys::bpf_attr) -> io::Result<c_long> {
    // SAFETY: `attr` is a valid, initialised `bpf_attr` of the size passed;
    // the caller guarantees the pointers inside it.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as c_long,
            ptr::from_mut(attr),
            mem::size_of::<bpf_sys::bpf_attr>() as c_uint,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// What `BPF_PROG_TEST_RUN` reports.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TestRunOut {
    /// The program's return value (of the last run).
    pub(crate) retval: u32,
    /// Average duration of one run, in nanoseconds.
    pub(crate) duration_ns: u32,
}

/// The `bpf(2)` commands the crate uses, with typed arguments: the seam
/// where unit tests replace the kernel. [`Kernel`] is the real one.
pub(crate) trait Bpf {
    /// `bpf(BPF_PROG_LOAD)`: a new program fd. With a log buffer, the
    /// verifier writes its NUL-terminated log there (also on failure) and the
    /// size it needed to `true_size`.
    fn prog_load(&self, attrs: &mut ProgLoadAttrs<'_>) -> io::Result<OwnedFd>;

    /// `bpf(BPF_PROG_TEST_RUN)` with `data` as the packet, run `repeat`
    /// times.
    fn prog_test_run(
        &self,
        prog: BorrowedFd<'_>,
        data: &[u8],
        repeat: u32,
    ) -> io::Result<TestRunOut>;

    /// `bpf(BPF_MAP_CREATE)`: a new map fd.
    fn map_create(&self, attrs: &MapCreateAttrs<'_>) -> io::Result<OwnedFd> {
        let _ = attrs;
        Err(enosys())
    }

    /// `bpf(BPF_OBJ_GET_INFO_BY_FD)` of a map.
    fn map_info(&self, map: BorrowedFd<'_>) -> io::Result<MapInfo> {
        let _ = map;
        Err(enosys())
    }

    /// `bpf(BPF_MAP_LOOKUP_ELEM)`: the value of `key` into `value`.
    fn map_lookup_elem(&self, map: MapRef<'_>, key: &[u8], value: &mut [u8]) -> io::Result<()> {
        let _ = (map, key, value);
        Err(enosys())
    }

    /// `bpf(BPF_MAP_UPDATE_ELEM)` with `flags` (`BPF_ANY`, `BPF_NOEXIST`,
    /// `BPF_EXIST`).
    fn map_update_elem(
        &self,
        map: MapRef<'_>,
        key: &[u8],
        value: &[u8],
        flags: u64,
    ) -> io::Result<()> {
        let _ = (map, key, value, flags);
        Err(enosys())
    }

    /// `bpf(BPF_MAP_DELETE_ELEM)`.
    fn map_delete_elem(&self, map: MapRef<'_>, key: &[u8]) -> io::Result<()> {
        let _ = (map, key);
        Err(enosys())
    }

    /// `bpf(BPF_MAP_GET_NEXT_KEY)`: the key after `key` (the first key for
    /// `None`) into `next`; `ENOENT` after the last.
    fn map_get_next_key(
        &self,
        map: MapRef<'_>,
        key: Option<&[u8]>,
        next: &mut [u8],
    ) -> io::Result<()> {
        let _ = (map, key, next);
        Err(enosys())
    }

    /// `bpf(BPF_MAP_LOOKUP_BATCH)` (Linux 5.6): up to `batch.count` entries
    /// after the token `batch.in_batch`; `ENOENT` (with the last entries
    /// counted) at the end of the map.
    fn map_lookup_batch(&self, map: MapRef<'_>, batch: &mut Batch<'_>) -> io::Result<()> {
        let _ = (map, batch);
        Err(enosys())
    }

    /// `bpf(BPF_MAP_UPDATE_BATCH)` (Linux 5.6) of `batch.count` entries;
    /// `batch.count` is then how many were written.
    fn map_update_batch(&self, map: MapRef<'_>, batch: &mut Batch<'_>) -> io::Result<()> {
        let _ = (map, batch);
        Err(enosys())
    }

    /// `bpf(BPF_MAP_DELETE_BATCH)` (Linux 5.6) of `batch.count` keys;
    /// `batch.count` is then how many were deleted.
    fn map_delete_batch(&self, map: MapRef<'_>, batch: &mut Batch<'_>) -> io::Result<()> {
        let _ = (map, batch);
        Err(enosys())
    }
}

fn enosys() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOSYS)
}

/// The arguments of `BPF_MAP_CREATE`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MapCreateAttrs<'a> {
    /// The map type.
    pub(crate) map_type: bpf_sys::MapType,
    /// Bytes per key.
    pub(crate) key_size: u32,
    /// Bytes per value.
    pub(crate) value_size: u32,
    /// The most entries (ring buffers: bytes).
    pub(crate) max_entries: u32,
    /// `map_flags`.
    pub(crate) flags: u32,
    /// The kernel-visible name, already validated and at most
    /// `BPF_OBJ_NAME_LEN - 1` bytes.
    pub(crate) name: &'a [u8],
}

impl MapCreateAttrs<'_> {
    /// The one place a `bpf_attr` for `BPF_MAP_CREATE` is built.
    fn attr(&self) -> bpf_sys::bpf_attr {
        let mut attr = bpf_sys::bpf_attr::default();
        // SAFETY: `attr` is all zeroes, a valid value of this member (plain
        // integers and arrays); fields are written one by one so no padding
        // byte is left undefined.
        let create = unsafe { &mut attr.__bindgen_anon_1 };
        create.map_type = self.map_type.as_raw();
        create.key_size = self.key_size;
        create.value_size = self.value_size;
        create.max_entries = self.max_entries;
        create.map_flags = self.flags;
        let n = self.name.len().min(create.map_name.len() - 1);
        for (dst, &src) in create.map_name.iter_mut().zip(&self.name[..n]) {
            *dst = src as std::ffi::c_char;
        }
        attr
    }
}

/// What `BPF_OBJ_GET_INFO_BY_FD` says about a map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MapInfo {
    /// `bpf_map_type`.
    pub(crate) map_type: u32,
    /// The kernel's map id.
    pub(crate) id: u32,
    /// Bytes per key.
    pub(crate) key_size: u32,
    /// Bytes per value.
    pub(crate) value_size: u32,
    /// The most entries.
    pub(crate) max_entries: u32,
    /// `map_flags`.
    pub(crate) flags: u32,
    /// The kernel-visible name.
    pub(crate) name: String,
}

/// A map fd with the buffer sizes its elements take, as the kernel copies
/// them: every key is `key` bytes, every value `value` bytes (for per-CPU
/// maps: the value rounded up to 8 bytes, times the possible CPUs). The
/// functions below refuse shorter buffers (`EINVAL`) before the call, so the
/// kernel never reads or writes past one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MapRef<'a> {
    /// The map.
    pub(crate) fd: BorrowedFd<'a>,
    /// Bytes per key.
    pub(crate) key: usize,
    /// Bytes per value buffer.
    pub(crate) value: usize,
}

/// The buffers of a batch operation. `keys` and `values` hold `count`
/// elements of the map's sizes; the tokens hold at least
/// [`BATCH_TOKEN`] bytes.
#[derive(Debug)]
pub(crate) struct Batch<'a> {
    /// Where the previous batch ended (`None`: from the start).
    pub(crate) in_batch: Option<&'a [u8]>,
    /// Out: where this batch ended (lookup only).
    pub(crate) out_batch: &'a mut [u8],
    /// Keys (in for update and delete, out for lookup).
    pub(crate) keys: &'a mut [u8],
    /// Values (in for update, out for lookup; unused for delete).
    pub(crate) values: &'a mut [u8],
    /// In: elements the buffers hold; out: elements processed.
    pub(crate) count: u32,
    /// `elem_flags` (`BPF_ANY`, ... for update).
    pub(crate) elem_flags: u64,
}

/// The size of a batch token buffer: the kernel's hash maps use a `u32`
/// bucket index, arrays a key; 8 bytes or the key size, whichever is larger.
pub(crate) const BATCH_TOKEN: usize = 8;

fn einval() -> io::Error {
    io::Error::from_raw_os_error(libc::EINVAL)
}

/// Fails unless `buf` holds at least `len` bytes.
fn check_len(buf: &[u8], len: usize) -> io::Result<()> {
    if buf.len() < len {
        Err(einval())
    } else {
        Ok(())
    }
}

/// The `bpf_attr` of the single-element commands.
fn elem_attr(map: MapRef<'_>, key: Option<&[u8]>, value: u64, flags: u64) -> bpf_sys::bpf_attr {
    let mut attr = bpf_sys::bpf_attr::default();
    // SAFETY: `attr` is all zeroes, a valid value of this member; fields are
    // written one by one so no padding byte is left undefined.
    let elem = unsafe { &mut attr.__bindgen_anon_2 };
    elem.map_fd = fd_u32(map.fd);
    elem.key = key.map_or(0, |k| k.as_ptr() as u64);
    elem.__bindgen_anon_1.value = value;
    elem.flags = flags;
    attr
}

/// Runs a batch command after checking the buffers against `map`.
fn batch_call(cmd: bpf_sys::bpf_cmd, map: MapRef<'_>, b: &mut Batch<'_>) -> io::Result<()> {
    let n = b.count as usize;
    let token = map.key.max(BATCH_TOKEN);
    check_len(b.keys, n.checked_mul(map.key).ok_or_else(einval)?)?;
    if cmd != bpf_sys::BPF_MAP_DELETE_BATCH {
        check_len(b.values, n.checked_mul(map.value).ok_or_else(einval)?)?;
    }
    check_len(b.out_batch, token)?;
    if let Some(t) = b.in_batch {
        check_len(t, token)?;
    }
    let mut attr = bpf_sys::bpf_attr::default();
    // SAFETY: all zeroes is a valid value of this member; fields are written
    // one by one.
    let batch = unsafe { &mut attr.batch };
    batch.map_fd = fd_u32(map.fd);
    batch.in_batch = b.in_batch.map_or(0, |t| t.as_ptr() as u64);
    batch.out_batch = b.out_batch.as_mut_ptr() as u64;
    batch.keys = b.keys.as_mut_ptr() as u64;
    batch.values = if cmd == bpf_sys::BPF_MAP_DELETE_BATCH {
        0
    } else {
        b.values.as_mut_ptr() as u64
    };
    batch.count = b.count;
    batch.elem_flags = b.elem_flags;
    // SAFETY: the buffers were checked above to hold `count` keys and
    // values of the sizes the kernel copies for this map, and the tokens the
    // larger of the key size and 8 bytes; all are borrowed (writable where
    // the kernel writes) for the call.
    let ret = unsafe { bpf(cmd, &mut attr) };
    // SAFETY: `batch` is the member written above; the kernel writes back
    // `count` in place; any bit pattern is a valid u32.
    b.count = unsafe { attr.batch.count };
    ret.map(drop)
}

fn new_fd(ret: c_long) -> io::Result<OwnedFd> {
    let fd = c_int::try_from(ret).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the command returned a new file descriptor that nothing else
    // owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The running kernel: [`Bpf`] by the `bpf(2)` system call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Kernel;

impl Bpf for Kernel {
    fn prog_load(&self, attrs: &mut ProgLoadAttrs<'_>) -> io::Result<OwnedFd> {
        let mut attr = attrs.attr()?;
        // SAFETY: the pointers in `attr` come from `attrs`, which borrows the
        // instructions (`insn_cnt` of them), the NUL-terminated license and
        // the log buffer (`log_size` bytes, writable) for longer than this
        // call.
        let ret = unsafe { bpf(bpf_sys::BPF_PROG_LOAD, &mut attr) };
        if let Some(log) = &mut attrs.log {
            // SAFETY: the offset and the 4 bytes after it lie inside `attr`
            // (checked at compile time); every byte of `attr` is initialised
            // and any bit pattern is a valid u32; the read is unaligned-safe.
            log.true_size = unsafe {
                ptr::read_unaligned(
                    ptr::from_ref(&attr)
                        .cast::<u8>()
                        .add(LOG_TRUE_SIZE_OFFSET)
                        .cast::<u32>(),
                )
            };
        }
        let fd = ret?;
        let fd = c_int::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        // SAFETY: on success BPF_PROG_LOAD returns a new file descriptor that
        // nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    fn prog_test_run(
        &self,
        prog: BorrowedFd<'_>,
        data: &[u8],
        repeat: u32,
    ) -> io::Result<TestRunOut> {
        let mut attr = test_run_attr(prog, data, repeat)?;
        // SAFETY: the only pointer set is `data_in`, valid for `data_size_in`
        // bytes for the call; `data_out` and `ctx_*` are null with size 0, so
        // the kernel writes nothing back but the scalar fields of `attr`.
        unsafe { bpf(bpf_sys::BPF_PROG_TEST_RUN, &mut attr)? };
        // SAFETY: `test` is the member written by `test_run_attr` and the
        // kernel fills its scalar output fields in place; any bit pattern is a
        // valid u32.
        let out = unsafe { attr.test };
        Ok(TestRunOut {
            retval: out.retval,
            duration_ns: out.duration,
        })
    }

    fn map_create(&self, attrs: &MapCreateAttrs<'_>) -> io::Result<OwnedFd> {
        Kernel::map_create_impl(attrs)
    }

    fn map_info(&self, map: BorrowedFd<'_>) -> io::Result<MapInfo> {
        Kernel::map_info_impl(map)
    }

    fn map_lookup_elem(&self, map: MapRef<'_>, key: &[u8], value: &mut [u8]) -> io::Result<()> {
        check_len(key, map.key)?;
        check_len(value, map.value)?;
        let mut attr = elem_attr(map, Some(key), value.as_mut_ptr() as u64, 0);
        // SAFETY: `key` holds the map's key size and `value` the value
        // buffer size (checked above), borrowed for the call, `value`
        // writable.
        unsafe { bpf(bpf_sys::BPF_MAP_LOOKUP_ELEM, &mut attr)? };
        Ok(())
    }

    fn map_update_elem(
        &self,
        map: MapRef<'_>,
        key: &[u8],
        value: &[u8],
        flags: u64,
    ) -> io::Result<()> {
        check_len(key, map.key)?;
        check_len(value, map.value)?;
        let mut attr = elem_attr(map, Some(key), value.as_ptr() as u64, flags);
        // SAFETY: `key` and `value` hold the map's sizes (checked above)
        // and are borrowed for the call; the kernel only reads them.
        unsafe { bpf(bpf_sys::BPF_MAP_UPDATE_ELEM, &mut attr)? };
        Ok(())
    }

    fn map_delete_elem(&self, map: MapRef<'_>, key: &[u8]) -> io::Result<()> {
        check_len(key, map.key)?;
        let mut attr = elem_attr(map, Some(key), 0, 0);
        // SAFETY: `key` holds the map's key size (checked above), borrowed
        // for the call.
        unsafe { bpf(bpf_sys::BPF_MAP_DELETE_ELEM, &mut attr)? };
        Ok(())
    }

    fn map_get_next_key(
        &self,
        map: MapRef<'_>,
        key: Option<&[u8]>,
        next: &mut [u8],
    ) -> io::Result<()> {
        if let Some(key) = key {
            check_len(key, map.key)?;
        }
        check_len(next, map.key)?;
        let mut attr = elem_attr(map, key, next.as_mut_ptr() as u64, 0);
        // SAFETY: `key` (when set) and `next` hold the map's key size
        // (checked above), borrowed for the call, `next` writable; a null
        // key asks for the first key.
        unsafe { bpf(bpf_sys::BPF_MAP_GET_NEXT_KEY, &mut attr)? };
        Ok(())
    }

    fn map_lookup_batch(&self, map: MapRef<'_>, batch: &mut Batch<'_>) -> io::Result<()> {
        batch_call(bpf_sys::BPF_MAP_LOOKUP_BATCH, map, batch)
    }

    fn map_update_batch(&self, map: MapRef<'_>, batch: &mut Batch<'_>) -> io::Result<()> {
        batch_call(bpf_sys::BPF_MAP_UPDATE_BATCH, map, batch)
    }

    fn map_delete_batch(&self, map: MapRef<'_>, batch: &mut Batch<'_>) -> io::Result<()> {
        batch_call(bpf_sys::BPF_MAP_DELETE_BATCH, map, batch)
    }
}

impl Kernel {
    fn map_create_impl(attrs: &MapCreateAttrs<'_>) -> io::Result<OwnedFd> {
        let mut attr = attrs.attr();
        // SAFETY: BPF_MAP_CREATE with no pointer set (the name is inline).
        new_fd(unsafe { bpf(bpf_sys::BPF_MAP_CREATE, &mut attr)? })
    }

    fn map_info_impl(map: BorrowedFd<'_>) -> io::Result<MapInfo> {
        let mut info = bpf_sys::bpf_map_info::default();
        let mut attr = bpf_sys::bpf_attr::default();
        // SAFETY: all zeroes is a valid value of this member; fields are
        // written one by one.
        let get = unsafe { &mut attr.info };
        get.bpf_fd = fd_u32(map);
        get.info_len = mem::size_of::<bpf_sys::bpf_map_info>() as u32;
        get.info = ptr::from_mut(&mut info) as u64;
        // SAFETY: `info` is a writable `bpf_map_info` of `info_len` bytes for
        // the call; the kernel writes at most that many.
        unsafe { bpf(bpf_sys::BPF_OBJ_GET_INFO_BY_FD, &mut attr)? };
        let name: Vec<u8> = info
            .name
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        Ok(MapInfo {
            map_type: info.type_,
            id: info.id,
            key_size: info.key_size,
            value_size: info.value_size,
            max_entries: info.max_entries,
            flags: info.map_flags,
            name: String::from_utf8_lossy(&name).into_owned(),
        })
    }
}

/// The one place a `bpf_attr` for `BPF_PROG_TEST_RUN` is built.
fn test_run_attr(prog: BorrowedFd<'_>, data: &[u8], repeat: u32) -> io::Result<bpf_sys::bpf_attr> {
    let data_size_in = u32::try_from(data.len()).map_err(|_| e2big())?;
    let mut attr = bpf_sys::bpf_attr::default();
    // SAFETY: `attr` is all zeroes, a valid value for this member (plain
    // integers). Fields are written one by one, never by assigning a whole
    // struct, whose padding bytes would be undefined: the kernel refuses
    // non-zero bytes past the fields it knows (EINVAL).
    let test = unsafe { &mut attr.test };
    test.prog_fd = fd_u32(prog);
    test.data_size_in = data_size_in;
    test.data_in = data.as_ptr() as u64;
    test.repeat = repeat;
    Ok(attr)
}

fn fd_u32(fd: BorrowedFd<'_>) -> u32 {
    // A valid fd is never negative.
    fd.as_raw_fd().unsigned_abs()
}

fn cvt(ret: c_int) -> io::Result<c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// `socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0)`: a packet socket that
/// receives nothing until [`bind_packet`] gives it a protocol, so options and
/// a filter can be set first without letting unfiltered packets in.
pub(crate) fn packet_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments.
    let fd = cvt(unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: socket(2) returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `if_nametoindex(3)`; `ENODEV` when no interface has this name.
pub(crate) fn if_nametoindex(name: &CStr) -> io::Result<u32> {
    // SAFETY: `name` is a valid NUL-terminated string for the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(index)
    }
}

/// `bind(2)` a packet socket to interface `ifindex`, all protocols
/// (`ETH_P_ALL`).
pub(crate) fn bind_packet(sock: BorrowedFd<'_>, ifindex: u32) -> io::Result<()> {
    let ifindex =
        c_int::try_from(ifindex).map_err(|_| io::Error::from_raw_os_error(libc::ENODEV))?;
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = ETH_P_ALL_BE;
    addr.sll_ifindex = ifindex;
    // SAFETY: `addr` is a valid sockaddr_ll and the length passed is its size.
    cvt(unsafe {
        libc::bind(
            sock.as_raw_fd(),
            ptr::from_ref(&addr).cast::<libc::sockaddr>(),
            mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// `setsockopt(2)` with an `int` value.
fn setsockopt_int(sock: BorrowedFd<'_>, level: c_int, name: c_int, value: c_int) -> io::Result<()> {
    // SAFETY: the option value points at a live c_int of the length passed.
    cvt(unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            ptr::from_ref(&value).cast::<c_void>(),
            mem::size_of::<c_int>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// `setsockopt(SOL_SOCKET, SO_ATTACH_BPF, prog_fd)` (Linux 3.19).
pub(crate) fn attach_bpf(sock: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> io::Result<()> {
    setsockopt_int(
        sock,
        libc::SOL_SOCKET,
        libc::SO_ATTACH_BPF,
        prog.as_raw_fd(),
    )
}

/// `setsockopt(SOL_SOCKET, SO_DETACH_BPF)`; `ENOENT` when no filter is
/// attached.
pub(crate) fn detach_bpf(sock: BorrowedFd<'_>) -> io::Result<()> {
    setsockopt_int(sock, libc::SOL_SOCKET, libc::SO_DETACH_BPF, 0)
}

/// `setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING)` (Linux 4.20).
pub(crate) fn set_packet_ignore_outgoing(sock: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    setsockopt_int(
        sock,
        libc::SOL_PACKET,
        libc::PACKET_IGNORE_OUTGOING,
        c_int::from(on),
    )
}

/// `setsockopt(SOL_PACKET, PACKET_AUXDATA)` (Linux 2.6.21): every
/// `recvmsg` then carries a `tpacket_auxdata` with the original length.
pub(crate) fn set_packet_auxdata(sock: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    setsockopt_int(
        sock,
        libc::SOL_PACKET,
        libc::PACKET_AUXDATA,
        c_int::from(on),
    )
}

/// `poll(2)` for readability; `Ok(false)` on timeout. A negative
/// `timeout_ms` waits forever. `EINTR` is returned to the caller, which
/// knows its deadline.
pub(crate) fn poll_readable(sock: BorrowedFd<'_>, timeout_ms: c_int) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: sock.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `pfd` is one valid pollfd, and we pass a count of 1.
    let n = cvt(unsafe { libc::poll(&mut pfd, 1, timeout_ms) })?;
    Ok(n > 0)
}

/// One packet received by [`recv_packet`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecvInfo {
    /// The packet's length after the filter (what `MSG_TRUNC` returns): may
    /// exceed the buffer.
    pub(crate) len: usize,
    /// `sll_pkttype`.
    pub(crate) pkttype: u8,
    /// `sll_protocol`, converted to host order.
    pub(crate) protocol: u16,
    /// `sll_ifindex`.
    pub(crate) ifindex: i32,
    /// `tp_len` of the `PACKET_AUXDATA` message, when the socket asked for it:
    /// the length before the filter truncated the packet.
    pub(crate) orig_len: Option<u32>,
}

/// Room for one `PACKET_AUXDATA` control message, aligned for `cmsghdr`.
type CmsgBuf = [u64; 8];

/// `recvmsg(2)` of one packet with `MSG_TRUNC | MSG_DONTWAIT`; `WouldBlock`
/// when none is queued.
pub(crate) fn recv_packet(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<RecvInfo> {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { mem::zeroed() };
    let mut cmsg: CmsgBuf = [0; 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast::<c_void>(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain old data; all-zero is a valid value.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = ptr::from_mut(&mut addr).cast::<c_void>();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.as_mut_ptr().cast::<c_void>();
    msg.msg_controllen = mem::size_of::<CmsgBuf>();
    // SAFETY: every pointer in `msg` (address, one iovec over `buf`, control
    // buffer) is valid and writable for the length stored beside it.
    let n = unsafe {
        libc::recvmsg(
            sock.as_raw_fd(),
            &mut msg,
            libc::MSG_TRUNC | libc::MSG_DONTWAIT,
        )
    };
    let len = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    let mut orig_len = None;
    // SAFETY: `msg` was filled by a successful recvmsg: `msg_control` and
    // `msg_controllen` describe our buffer holding complete headers, which
    // is what the CMSG_* walkers require.
    let mut hdr = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !hdr.is_null() {
        // SAFETY: CMSG_FIRSTHDR/NXTHDR return null or a header lying
        // entirely within the control buffer; it may be unaligned for
        // `cmsghdr` only in theory, so read it unaligned.
        let h: libc::cmsghdr = unsafe { ptr::read_unaligned(hdr) };
        let want = mem::size_of::<libc::tpacket_auxdata>();
        if h.cmsg_level == libc::SOL_PACKET
            && h.cmsg_type == libc::PACKET_AUXDATA
            // SAFETY: CMSG_LEN is arithmetic on its argument.
            && h.cmsg_len >= unsafe { libc::CMSG_LEN(want as c_uint) } as usize
        {
            // SAFETY: the length check above guarantees `want` data bytes
            // after the header inside the control buffer; the data may be
            // unaligned, so read it unaligned.
            let aux: libc::tpacket_auxdata = unsafe {
                ptr::read_unaligned(libc::CMSG_DATA(hdr).cast::<libc::tpacket_auxdata>())
            };
            orig_len = Some(aux.tp_len);
        }
        // SAFETY: `hdr` is a header within `msg`'s control buffer.
        hdr = unsafe { libc::CMSG_NXTHDR(&msg, hdr) };
    }
    Ok(RecvInfo {
        len,
        pkttype: addr.sll_pkttype,
        protocol: u16::from_be(addr.sll_protocol),
        ifindex: addr.sll_ifindex,
        orig_len,
    })
}

/// The size of a memory page (`sysconf(_SC_PAGESIZE)`): ring buffer maps
/// and receive-ring blocks are multiples of it.
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
}

/// A ring buffer map's pages mapped into this process (Linux 5.8): the
/// consumer page (read-write: the consumer position) and, read-only, the
/// producer page (the producer position) followed by the data area, which
/// the kernel maps twice in a row so that a record that wraps around the end
/// is still contiguous.
///
/// The methods are the only way to touch the mapping. Record bytes are
/// handed out as `&[u8]` borrowed from `&self`, and the consumer position
/// advances only through `&mut self`, so no record can be read after the
/// kernel was told it may reuse its bytes.
#[derive(Debug)]
pub(crate) struct RingMmap {
    consumer: ptr::NonNull<c_void>,
    producer: ptr::NonNull<c_void>,
    page: usize,
    /// The data area's size (a power of two).
    size: usize,
}

// SAFETY: the mapping is plain shared memory, touched only through atomics
// (positions, headers) and shared slices of committed records; nothing ties
// it to the thread that made it.
unsafe impl Send for RingMmap {}

impl RingMmap {
    /// Maps ring buffer `map` of `size` data bytes (its `max_entries`).
    pub(crate) fn new(map: BorrowedFd<'_>, size: usize) -> io::Result<RingMmap> {
        let page = page_size();
        if !size.is_power_of_two() || !size.is_multiple_of(page) {
            return Err(einval());
        }
        // The consumer page, which the kernel lets user space write.
        let consumer = map_shared(map, page, libc::PROT_READ | libc::PROT_WRITE, 0)?;
        // The producer page and the (doubly mapped) data area, read-only, at
        // the offset the kernel defines.
        let producer = match map_shared(map, page + 2 * size, libc::PROT_READ, page) {
            Ok(p) => p,
            Err(e) => {
                // SAFETY: `consumer` is the mapping of `page` bytes made
                // above, not used after this.
                unsafe { libc::munmap(consumer.as_ptr(), page) };
                return Err(e);
            }
        };
        Ok(RingMmap {
            consumer,
            producer,
            page,
            size,
        })
    }

    /// The data area's size.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    fn consumer_atomic(&self) -> &std::sync::atomic::AtomicU64 {
        // SAFETY: the consumer position is the first, 8-byte aligned (page
        // aligned) u64 of the consumer page, mapped for the life of `self`;
        // the kernel reads it atomically too.
        unsafe {
            &*self
                .consumer
                .as_ptr()
                .cast::<std::sync::atomic::AtomicU64>()
        }
    }

    /// The consumer position (only this process writes it).
    pub(crate) fn consumer_pos(&self) -> u64 {
        self.consumer_atomic()
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The producer position, with acquire ordering: the headers of records
    /// before it are then visible.
    pub(crate) fn producer_pos(&self) -> u64 {
        // SAFETY: the producer position is the first, page-aligned u64 of
        // the producer page, mapped read-only for the life of `self`; the
        // kernel writes it with release stores.
        let p = unsafe {
            &*self
                .producer
                .as_ptr()
                .cast::<std::sync::atomic::AtomicU64>()
        };
        p.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Gives the bytes up to `pos` back to the producer (release ordering,
    /// so our reads of them happen before the kernel reuses them). `&mut`:
    /// no record slice may still be borrowed.
    pub(crate) fn set_consumer_pos(&mut self, pos: u64) {
        self.consumer_atomic()
            .store(pos, std::sync::atomic::Ordering::Release);
    }

    /// The 8-byte record header at position `pos` (8-aligned): the length
    /// word, loaded with acquire ordering (the kernel clears its busy bit
    /// with a release store when the record is committed), and the page
    /// offset word.
    pub(crate) fn header(&self, pos: u64) -> u32 {
        let off = (pos as usize) & (self.size - 1);
        // SAFETY: `off` < size and 8-aligned, so the u32 lies in the data
        // area, which starts a page after the producer page and is mapped for
        // the life of `self`; the kernel updates it atomically.
        let h = unsafe {
            &*self
                .producer
                .as_ptr()
                .cast::<u8>()
                .add(self.page + off)
                .cast::<std::sync::atomic::AtomicU32>()
        };
        h.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The `len` bytes of the record whose header is at `pos`. Only called
    /// for committed records (busy bit clear) before the consumer position
    /// passes them: the kernel does not write those bytes then.
    pub(crate) fn record(&self, pos: u64, len: usize) -> &[u8] {
        let off = (pos as usize) & (self.size - 1);
        let len = len.min(self.size);
        // SAFETY: the data area is mapped twice in a row, so `off + 8 + len`
        // ≤ 2 * size bytes after its start are mapped; the record is
        // committed and not yet consumed, so the kernel leaves it alone while
        // the slice (borrowing `self`, which `set_consumer_pos` needs
        // mutably) lives.
        unsafe {
            std::slice::from_raw_parts(
                self.producer.as_ptr().cast::<u8>().add(self.page + off + 8),
                len,
            )
        }
    }
}

impl Drop for RingMmap {
    fn drop(&mut self) {
        // SAFETY: the two mappings made in `new`, with their lengths; no
        // slice of them outlives `self`.
        unsafe {
            libc::munmap(self.consumer.as_ptr(), self.page);
            libc::munmap(self.producer.as_ptr(), self.page + 2 * self.size);
        }
    }
}

/// `epoll_create1(EPOLL_CLOEXEC)` with `fd` registered for readability.
pub(crate) fn epoll_for(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with an integer argument.
    let ep = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
    // SAFETY: epoll_create1 returned a new descriptor that nothing else owns.
    let ep = unsafe { OwnedFd::from_raw_fd(ep) };
    let mut ev = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: 0,
    };
    // SAFETY: `ev` is a valid epoll_event for the call.
    cvt(unsafe { libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_ADD, fd.as_raw_fd(), &mut ev) })?;
    Ok(ep)
}

/// `epoll_wait(2)` for one event; `Ok(false)` on timeout. A negative
/// `timeout_ms` waits forever.
pub(crate) fn epoll_wait(ep: BorrowedFd<'_>, timeout_ms: c_int) -> io::Result<bool> {
    let mut ev = libc::epoll_event { events: 0, u64: 0 };
    // SAFETY: `ev` is room for one event, and we pass a count of 1.
    let n = cvt(unsafe { libc::epoll_wait(ep.as_raw_fd(), &mut ev, 1, timeout_ms) })?;
    Ok(n > 0)
}

/// `setsockopt(SOL_SOCKET, SO_RCVBUFFORCE)` (root or `CAP_NET_ADMIN`),
/// falling back to `SO_RCVBUF` (capped by `net.core.rmem_max`) on `EPERM`:
/// how many bytes of packets the socket may queue.
pub(crate) fn set_recv_buffer(sock: BorrowedFd<'_>, bytes: c_int) -> io::Result<()> {
    match setsockopt_int(sock, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, bytes) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            setsockopt_int(sock, libc::SOL_SOCKET, libc::SO_RCVBUF, bytes)
        }
        other => other,
    }
}

/// `setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)` (Linux 3.2): the
/// ring layout [`set_rx_ring`] then uses.
pub(crate) fn set_packet_version_v3(sock: BorrowedFd<'_>) -> io::Result<()> {
    setsockopt_int(
        sock,
        libc::SOL_PACKET,
        libc::PACKET_VERSION,
        libc::tpacket_versions::TPACKET_V3 as c_int,
    )
}

/// `setsockopt(SOL_PACKET, PACKET_RX_RING)` with a TPACKET_V3 request: the
/// kernel allocates `tp_block_nr` blocks of `tp_block_size` bytes.
pub(crate) fn set_rx_ring(sock: BorrowedFd<'_>, req: &libc::tpacket_req3) -> io::Result<()> {
    // SAFETY: the option value points at a live tpacket_req3 of the length
    // passed; the kernel only reads it.
    cvt(unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_RX_RING,
            ptr::from_ref(req).cast::<c_void>(),
            mem::size_of::<libc::tpacket_req3>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// `setsockopt(SOL_PACKET, PACKET_FANOUT)` (Linux 3.1): joins (or creates)
/// fanout group `group` with `mode` (`PACKET_FANOUT_HASH`, ...) and `flags`
/// (`PACKET_FANOUT_FLAG_*`). The socket must be bound.
pub(crate) fn set_fanout(
    sock: BorrowedFd<'_>,
    group: u16,
    mode: c_uint,
    flags: c_uint,
) -> io::Result<()> {
    // The option value is an int: group id in the low 16 bits, mode and
    // flags in the high 16 (packet(7)).
    let arg = c_uint::from(group) | ((mode | flags) << 16);
    setsockopt_int(
        sock,
        libc::SOL_PACKET,
        libc::PACKET_FANOUT,
        c_int::from_ne_bytes(arg.to_ne_bytes()),
    )
}

/// `getsockopt(SOL_PACKET, PACKET_STATISTICS)` (Linux 2.4): the counters
/// since the last call, which resets them. `tp_packets` includes the
/// dropped packets. Sockets without a TPACKET_V3 ring fill only the first
/// two fields (`struct tpacket_stats`); `tp_freeze_q_cnt` stays 0.
pub(crate) fn packet_statistics(sock: BorrowedFd<'_>) -> io::Result<libc::tpacket_stats_v3> {
    let mut stats = libc::tpacket_stats_v3 {
        tp_packets: 0,
        tp_drops: 0,
        tp_freeze_q_cnt: 0,
    };
    let mut len = mem::size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes to `stats`, a live and
    // writable tpacket_stats_v3 of that size, and the new length to `len`.
    cvt(unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            ptr::from_mut(&mut stats).cast::<c_void>(),
            &mut len,
        )
    })?;
    Ok(stats)
}

/// The `sll_hatype` (`ARPHRD_*`) of a bound packet socket's address, from
/// `getsockname(2)`: what the link layer of its interface is.
pub(crate) fn packet_hatype(sock: BorrowedFd<'_>) -> io::Result<u16> {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes of address to `addr`,
    // which is live, writable and that large.
    cvt(unsafe {
        libc::getsockname(
            sock.as_raw_fd(),
            ptr::from_mut(&mut addr).cast::<libc::sockaddr>(),
            &mut len,
        )
    })?;
    Ok(addr.sll_hatype)
}

/// The `struct tpacket_block_desc` fields a reader needs, copied out of a
/// block the kernel has handed to user space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BlockHeader {
    /// `block_status`: `TP_STATUS_USER`, possibly with `TP_STATUS_LOSING`
    /// (packets were dropped since the previous block) and
    /// `TP_STATUS_BLK_TMO` (closed by the timeout, not because it was full).
    pub(crate) status: u32,
    /// `num_pkts`.
    pub(crate) num_pkts: u32,
    /// `seq_num`: the kernel's count of blocks closed on this ring.
    pub(crate) seq_num: u64,
}

/// Offset of `block_status` in a block (`struct tpacket_block_desc`,
/// version 1 header), 4-aligned as an atomic `u32` requires.
const BLOCK_STATUS_OFFSET: usize = mem::offset_of!(libc::tpacket_block_desc, hdr)
    + mem::offset_of!(libc::tpacket_hdr_v1, block_status);
const _: () = assert!(BLOCK_STATUS_OFFSET.is_multiple_of(mem::align_of::<AtomicU32>()));

/// A TPACKET_V3 receive ring mapped into this process: `block_count`
/// blocks of `block_size` bytes shared with the kernel. Owned: `munmap`ed
/// on drop. The mapping stays valid after the socket's fd is closed.
///
/// Each block belongs to the kernel or to user space as its
/// `block_status` word says, and only its owner touches the rest of the
/// block: the kernel writes packets into blocks it owns, then stores
/// `TP_STATUS_USER`; user space reads the packets, then stores
/// `TP_STATUS_KERNEL`. [`RingMap::user_block`] is the only way to read a
/// block and [`UserBlock`]'s drop the only way to give it back, so no
/// slice into a block outlives user space's ownership of it.
#[derive(Debug)]
pub(crate) struct RingMap {
    base: ptr::NonNull<u8>,
    len: usize,
    block_size: usize,
    block_count: usize,
}

// SAFETY: the mapping is plain shared memory owned by this value alone (no
// thread-local state); access to its blocks goes through `&mut self`.
unsafe impl Send for RingMap {}

/// `mmap(2)`s `len` bytes of `fd` from `offset`, shared with the kernel, at
/// an address the kernel chooses.
fn map_shared(
    fd: BorrowedFd<'_>,
    len: usize,
    prot: libc::c_int,
    offset: usize,
) -> io::Result<ptr::NonNull<c_void>> {
    let offset = libc::off_t::try_from(offset).map_err(|_| einval())?;
    // SAFETY: a new mapping at a kernel-chosen address (no hint, no
    // MAP_FIXED), so no existing memory is affected; `fd` is open for the
    // call.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            prot,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            offset,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    ptr::NonNull::new(p).ok_or_else(einval)
}

/// `mmap(2)` the receive ring set up by [`set_rx_ring`] on `sock`:
/// `block_count * block_size` bytes, read-write and shared with the kernel.
pub(crate) fn mmap_ring(
    sock: BorrowedFd<'_>,
    block_size: usize,
    block_count: usize,
) -> io::Result<RingMap> {
    let len = block_size
        .checked_mul(block_count)
        .filter(|&l| l > 0 && block_size >= mem::size_of::<libc::tpacket_block_desc>())
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
    let base = map_shared(sock, len, libc::PROT_READ | libc::PROT_WRITE, 0)?.cast::<u8>();
    Ok(RingMap {
        base,
        len,
        block_size,
        block_count,
    })
}

impl RingMap {
    /// The number of blocks.
    pub(crate) fn block_count(&self) -> usize {
        self.block_count
    }

    /// The status word of block `index` (< `block_count`), as an atomic.
    fn status_word(&self, index: usize) -> &AtomicU32 {
        debug_assert!(index < self.block_count);
        // SAFETY: `index < block_count`, so the offset lies inside the
        // mapping, which lives as long as `self`; blocks start at multiples
        // of the block size (itself a multiple of the page size) and the
        // status word's offset is 4-aligned (checked at compile time), so
        // the pointer is aligned for AtomicU32. This crate accesses the word
        // only through this atomic; the kernel, the other party, writes it
        // with WRITE_ONCE/smp_store_release semantics.
        unsafe {
            AtomicU32::from_ptr(
                self.base
                    .as_ptr()
                    .add(index * self.block_size + BLOCK_STATUS_OFFSET)
                    .cast::<u32>(),
            )
        }
    }

    /// Whether block `index` is user space's (`TP_STATUS_USER`), with the
    /// same Acquire load as [`user_block`](Self::user_block).
    pub(crate) fn is_ready(&self, index: usize) -> bool {
        index < self.block_count
            && self.status_word(index).load(Ordering::Acquire) & libc::TP_STATUS_USER != 0
    }

    /// Block `index` (< `block_count`) if the kernel has handed it to user
    /// space (`TP_STATUS_USER`), else `None`. The block stays user space's
    /// until the returned value is dropped; `&mut self` keeps it the only
    /// one.
    pub(crate) fn user_block(&mut self, index: usize) -> Option<UserBlock<'_>> {
        if index >= self.block_count {
            return None;
        }
        // Acquire: pairs with the kernel's release of the block (it writes
        // the packets, then `smp_wmb()`, then TP_STATUS_USER in
        // prb_close_block), so every packet byte written before the status
        // is visible to the reads below.
        let status = self.status_word(index).load(Ordering::Acquire);
        if status & libc::TP_STATUS_USER == 0 {
            return None;
        }
        // SAFETY: the block lies inside the mapping (`index < block_count`)
        // and is user space's now (TP_STATUS_USER, acquired above): the
        // kernel does not write any of it until the status is given back,
        // so reading the header, aligned as the mapping's start is, is a
        // plain read of initialised memory (any bit pattern is a valid
        // tpacket_block_desc: integers only).
        let desc = unsafe {
            ptr::read(
                self.base
                    .as_ptr()
                    .add(index * self.block_size)
                    .cast::<libc::tpacket_block_desc>(),
            )
        };
        // SAFETY: reading the union's only member, plain integers.
        let bh1 = unsafe { desc.hdr.bh1 };
        let header = BlockHeader {
            status,
            num_pkts: bh1.num_pkts,
            seq_num: bh1.seq_num,
        };
        // The packets: from the first one to the end of the used part of
        // the block (`blk_len` counts from the block's start), clamped to
        // the block, and never including the header with the status word.
        let first = (bh1.offset_to_first_pkt as usize)
            .clamp(mem::size_of::<libc::tpacket_block_desc>(), self.block_size);
        let end = (bh1.blk_len as usize).clamp(first, self.block_size);
        // SAFETY: `first..end` lies inside block `index`, inside the mapping,
        // after the block header; the block is user space's (acquired above)
        // so the kernel does not write these bytes while the slice lives:
        // the slice borrows the returned `UserBlock`, whose drop is what hands
        // the block back. The bytes were written by the kernel, so they are
        // initialised.
        let packets = unsafe {
            std::slice::from_raw_parts(
                self.base
                    .as_ptr()
                    .add(index * self.block_size + first)
                    .cast_const(),
                end - first,
            )
        };
        Some(UserBlock {
            status: self.status_word(index),
            header,
            packets,
        })
    }
}

impl Drop for RingMap {
    fn drop(&mut self) {
        // SAFETY: `base` and `len` are the mapping made by `mmap_ring`, owned
        // by this value alone; every `UserBlock` borrows `self`, so none
        // outlives it. An munmap failure cannot be handled in drop.
        let _ = unsafe { libc::munmap(self.base.as_ptr().cast::<c_void>(), self.len) };
    }
}

/// A block user space owns: its header and its packet bytes. Dropping it
/// hands the block back to the kernel.
#[derive(Debug)]
pub(crate) struct UserBlock<'a> {
    status: &'a AtomicU32,
    header: BlockHeader,
    packets: &'a [u8],
}

impl UserBlock<'_> {
    /// The block header.
    pub(crate) fn header(&self) -> BlockHeader {
        self.header
    }

    /// The bytes from the first packet's `tpacket3_hdr` to the end of the
    /// last packet, borrowed for no longer than the block is user space's.
    pub(crate) fn packets(&self) -> &[u8] {
        self.packets
    }
}

impl Drop for UserBlock<'_> {
    fn drop(&mut self) {
        // Release: every read of the block's packets (all through borrows of
        // `self`, which have ended) happens before the kernel can see
        // TP_STATUS_KERNEL and start overwriting the block (the kernel reads
        // the status before reusing a block, with `smp_rmb()` after).
        self.status.store(libc::TP_STATUS_KERNEL, Ordering::Release);
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! System calls only the unit tests need.

    use super::*;

    /// `bpf(BPF_MAP_CREATE)` of an array map (for relocation tests).
    pub(crate) fn array_map_create(value_size: u32, max_entries: u32) -> io::Result<OwnedFd> {
        let mut attr = bpf_sys::bpf_attr::default();
        // SAFETY: all zeroes is a valid value of this member; fields are
        // written one by one so no padding byte is left undefined.
        let create = unsafe { &mut attr.__bindgen_anon_1 };
        create.map_type = bpf_sys::BPF_MAP_TYPE_ARRAY;
        create.key_size = 4;
        create.value_size = value_size;
        create.max_entries = max_entries;
        // SAFETY: BPF_MAP_CREATE with no pointers set (name is inline).
        let fd = unsafe { bpf(bpf_sys::BPF_MAP_CREATE, &mut attr)? };
        let fd = c_int::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        // SAFETY: a new fd owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// The bytes of an attribute union.
    fn bytes(attr: &bpf_sys::bpf_attr) -> [u8; mem::size_of::<bpf_sys::bpf_attr>()] {
        // SAFETY: `bpf_attr::default()` zeroes every byte and the builders
        // only write fields, so every byte is initialised; u8 arrays have no
        // invalid values.
        unsafe { mem::transmute_copy(attr) }
    }

    /// Dirties the stack, so a builder that copied undefined padding would
    /// likely show non-zero bytes.
    #[inline(never)]
    fn dirty_stack() -> u8 {
        let junk = std::hint::black_box([0xa5u8; 4096]);
        junk[17]
    }

    #[test]
    fn attributes_have_no_stray_bytes() {
        std::hint::black_box(dirty_stack());
        let stdin = io::stdin();
        let attr = test_run_attr(std::os::fd::AsFd::as_fd(&stdin), &[1, 2, 3], 7).unwrap();
        let end = mem::offset_of!(bpf_sys::bpf_attr__bindgen_ty_7, batch_size) + 4;
        assert!(
            bytes(&attr)[end..].iter().all(|&b| b == 0),
            "{:?}",
            &bytes(&attr)[end..]
        );

        std::hint::black_box(dirty_stack());
        let insns = [Insn::new(0x95, 0, 0, 0, 0)];
        let mut attrs = ProgLoadAttrs {
            prog_type: bpf_sys::ProgType::SocketFilter,
            insns: &insns,
            license: c"GPL",
            name: b"x",
            log: None,
        };
        let attr = attrs.attr().unwrap();
        let end = mem::offset_of!(bpf_sys::bpf_attr__bindgen_ty_4, core_relo_rec_size) + 4;
        assert!(bytes(&attr)[end..].iter().all(|&b| b == 0));
    }

    #[test]
    fn cmsg_buffer_fits_auxdata() {
        // SAFETY: CMSG_SPACE is arithmetic on its argument.
        let space = unsafe { libc::CMSG_SPACE(mem::size_of::<libc::tpacket_auxdata>() as c_uint) };
        assert!(space as usize <= mem::size_of::<CmsgBuf>());
    }
}
