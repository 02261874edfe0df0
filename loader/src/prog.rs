//! Loading a [`Program`] into the kernel, and running it with
//! `BPF_PROG_TEST_RUN`.

use std::borrow::Cow;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use crate::error::{Error, Result, Syscall};
use crate::map::{self, Map, MapBuilder};
use crate::sys::{self, Bpf};
use crate::verifier::VerifierError;
use crate::{Insn, ProgType, Program};

/// The first log buffer tried after a failed load.
const LOG_START: usize = 64 * 1024;

/// The default largest log buffer: `u32::MAX >> 8` bytes (16 MiB - 1), the
/// largest every kernel accepts (Linux 5.2 and later accept up to 1 GiB).
const LOG_MAX: usize = (u32::MAX >> 8) as usize;

/// The smallest log buffer the kernel accepts.
const LOG_MIN: usize = 128;

/// The largest log buffer any kernel accepts (`UINT_MAX >> 2`).
const LOG_LIMIT: usize = (u32::MAX >> 2) as usize;

/// Builds a `bpf(BPF_PROG_LOAD)` request for a [`Program`]: the way to load
/// a program ([`load`](crate::load) is the shortcut for the defaults).
///
/// Defaults: the program's own type ([`Program::prog_type`], a socket
/// filter unless `#![prog_type = NAME]` says otherwise), license `"GPL"`
/// (which makes GPL-only helpers callable), no name.
///
/// A failed load is retried with the verifier log enabled (level 1), in a
/// 64 KiB buffer that grows on `ENOSPC` (to the size the kernel asks for
/// since Linux 6.4, four times larger before) up to
/// [`max_log_size`](Self::max_log_size); a successful load never pays for
/// the log.
///
/// ```no_run
/// use bpf_loader::{ProgramLoader, bpf_prog};
///
/// const ACCEPT_ALL: bpf_loader::Program = bpf_prog! { mov64 r0, -1; exit };
///
/// let prog = ProgramLoader::new(&ACCEPT_ALL).name("accept_all").load()?;
/// # Ok::<(), bpf_loader::Error>(())
/// ```
///
/// Kernel call: `bpf(BPF_PROG_LOAD)`, Linux 3.18 (socket filters 3.19,
/// program names 4.15); see bpf(2).
#[derive(Debug)]
#[must_use = "a loader does nothing until `load` is called"]
pub struct ProgramLoader<'a> {
    program: &'a Program,
    name: Option<String>,
    license: String,
    prog_type: ProgType,
    maps: Vec<(String, BorrowedFd<'a>)>,
    max_log_size: usize,
}

impl<'a> ProgramLoader<'a> {
    /// A loader for `program` with the defaults.
    pub fn new(program: &'a Program) -> Self {
        ProgramLoader {
            program,
            name: None,
            license: "GPL".to_owned(),
            prog_type: program.prog_type(),
            maps: Vec::new(),
            max_log_size: LOG_MAX,
        }
    }

    /// The program's name, shown by `bpftool prog` and in this crate's error
    /// messages: ASCII letters, digits, `_` and `.`. The kernel keeps the
    /// first 15 bytes.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// The license string the kernel checks GPL-only helpers against
    /// (default `"GPL"`).
    pub fn license(mut self, license: &str) -> Self {
        self.license = license.to_owned();
        self
    }

    /// The program type (default: the program's own, which
    /// `#![prog_type = NAME]` sets, a socket filter otherwise).
    pub fn prog_type(mut self, prog_type: ProgType) -> Self {
        self.prog_type = prog_type;
        self
    }

    /// Binds the map `fd` (a [`Map`], a typed handle, any fd) to `name`:
    /// every `lddw rN, map_fd(name)` or `map_value(name, off)` of the program
    /// gets this fd. A later binding of the same name replaces an earlier
    /// one; names the program does not use are ignored.
    ///
    /// Maps the program declares (`#![map(name: TYPE, ...)]`) need no
    /// binding: [`load`](Self::load) creates those left unbound and hands
    /// them back ([`LoadedProgram::take_map`]). A map bound to a declared
    /// name must match the declaration (type, key and value sizes, entries;
    /// checked with `BPF_OBJ_GET_INFO_BY_FD` before loading).
    ///
    /// ```no_run
    /// use bpf_loader::{Array, ProgramLoader, bpf_prog};
    ///
    /// const COUNT: bpf_loader::Program = bpf_prog! {
    ///     lddw r1, map_value(counts, 0);
    ///     mov r2, 1;
    ///     lock add [r1], r2;
    ///     mov r0, -1;
    ///     exit
    /// };
    /// let counts = Array::<u64>::create("counts", 1)?;
    /// let prog = ProgramLoader::new(&COUNT).map("counts", &counts).load()?;
    /// # Ok::<(), bpf_loader::Error>(())
    /// ```
    pub fn map<F: AsFd + ?Sized>(mut self, name: &str, fd: &'a F) -> Self {
        self.maps.push((name.to_owned(), fd.as_fd()));
        self
    }

    /// The largest verifier log buffer to allocate when a load fails, in
    /// bytes (default 16 MiB - 1; clamped to what kernels accept). `0`
    /// disables the retry with a log: a rejection is then a plain
    /// [`Error::Syscall`].
    pub fn max_log_size(mut self, bytes: usize) -> Self {
        self.max_log_size = if bytes == 0 {
            0
        } else {
            bytes.clamp(LOG_MIN, LOG_LIMIT)
        };
        self
    }

    /// How the program is named in error messages.
    fn describe(&self) -> String {
        describe(self.name.as_deref(), self.program.len())
    }

    /// Loads the program: creates the declared maps left unbound, relocates
    /// map references, calls `bpf(BPF_PROG_LOAD)` and, on failure, fetches
    /// the verifier log.
    ///
    /// # Errors
    ///
    /// [`Error::Verifier`] with the log when the verifier rejects the
    /// program; [`Error::Syscall`] when the kernel refuses the request itself
    /// (`EPERM`: no privilege; `E2BIG`: more than 1,000,000 instructions;
    /// `EINVAL` with no log: an unknown program type or attribute);
    /// [`Error::UnboundMap`], [`Error::BadRelocation`] and
    /// [`Error::InvalidArgument`] before any system call;
    /// [`Error::MapMismatch`] for a bound map that does not match its
    /// declaration, and the errors of [`MapBuilder::create`] for declared
    /// maps, before the program is loaded.
    pub fn load(&self) -> Result<LoadedProgram> {
        self.load_with(&sys::Kernel)
    }

    /// [`load`](Self::load) through `bpf`: the kernel, or a fake one in the
    /// unit tests.
    pub(crate) fn load_with(&self, bpf: &impl Bpf) -> Result<LoadedProgram> {
        let program = self.describe();
        let kernel_name = match &self.name {
            Some(name) => kernel_name(name).map_err(|reason| Error::InvalidArgument {
                program: program.clone(),
                reason,
            })?,
            None => &[],
        };
        let license = CString::new(self.license.as_str()).map_err(|_| Error::InvalidArgument {
            program: program.clone(),
            reason: "the license contains a NUL byte".to_owned(),
        })?;
        let created = self.declared_maps(bpf, &program)?;
        let mut bound = self.maps.clone();
        bound.extend(created.iter().map(|m| (m.name().to_owned(), m.as_fd())));
        let insns = relocate(self.program, &bound, &program)?;
        let mut first_attrs = sys::ProgLoadAttrs {
            prog_type: self.prog_type,
            insns: &insns,
            license: &license,
            name: kernel_name,
            log: None,
        };

        let first = match bpf.prog_load(&mut first_attrs) {
            Ok(fd) => return Ok(self.loaded(fd, created)),
            Err(e) => e,
        };
        // Refusals that come before the verifier runs have no log to fetch.
        // (`E2BIG` may be the verifier's too: a call chain too deep, a
        // program too complex to walk; then its log says which.)
        let no_log = first.raw_os_error() == Some(libc::EPERM);
        if no_log || self.max_log_size == 0 {
            return Err(Error::program_call(Syscall::ProgLoad, program, first));
        }

        let mut size = LOG_START.min(self.max_log_size);
        loop {
            let mut buf = vec![0u8; size];
            let mut attrs = sys::ProgLoadAttrs {
                log: Some(sys::LogBuf {
                    level: 1,
                    buf: &mut buf,
                    true_size: 0,
                }),
                ..first_attrs
            };
            let result = bpf.prog_load(&mut attrs);
            let needed = attrs.log.map_or(0, |l| l.true_size as usize);
            let err = match result {
                Ok(fd) => return Ok(self.loaded(fd, created)),
                Err(e) => e,
            };
            let full = err.raw_os_error() == Some(libc::ENOSPC);
            if full && size < self.max_log_size {
                // Linux 6.4+ says how much it needs; older kernels: grow 4x.
                let next = if needed > size {
                    needed
                } else {
                    size.saturating_mul(4)
                };
                size = next.min(self.max_log_size);
                continue;
            }
            let log = log_text(&buf);
            if log.trim().is_empty() {
                return Err(Error::program_call(Syscall::ProgLoad, program, first));
            }
            return Err(VerifierError::new(program, first, log, full, self.program).into());
        }
    }

    /// Checks the bound maps against the program's declarations, and
    /// creates the declared maps nobody bound.
    fn declared_maps(&self, bpf: &impl Bpf, program: &str) -> Result<Vec<Map>> {
        let mut created = Vec::new();
        for spec in self.program.maps() {
            let Some((_, fd)) = self.maps.iter().rev().find(|(n, _)| *n == spec.name) else {
                created.push(MapBuilder::from_spec(spec).create_with(bpf)?);
                continue;
            };
            let have = map::info_of(bpf, *fd)?;
            let mismatch = |what: &str, want: u32, got: u32| {
                Err(Error::MapMismatch {
                    program: program.to_owned(),
                    map: spec.name.to_string(),
                    reason: format!("the program declares {what} {want}, the bound map has {got}"),
                })
            };
            if have.map_type != spec.map_type {
                return Err(Error::MapMismatch {
                    program: program.to_owned(),
                    map: spec.name.to_string(),
                    reason: format!(
                        "the program declares a {} map, the bound map is a {} map",
                        spec.map_type, have.map_type
                    ),
                });
            }
            if have.key_size != spec.key_size {
                return mismatch("key size", spec.key_size, have.key_size);
            }
            if have.value_size != spec.value_size {
                return mismatch("value size", spec.value_size, have.value_size);
            }
            if have.max_entries != spec.max_entries {
                return mismatch("max_entries", spec.max_entries, have.max_entries);
            }
        }
        Ok(created)
    }

    fn loaded(&self, fd: OwnedFd, maps: Vec<Map>) -> LoadedProgram {
        LoadedProgram {
            fd,
            name: self.name.clone(),
            prog_type: self.prog_type,
            len: self.program.len(),
            maps,
        }
    }
}

/// ``program `name` (N instructions)``.
fn describe(name: Option<&str>, len: usize) -> String {
    let s = if len == 1 { "" } else { "s" };
    match name {
        Some(name) => format!("program `{name}` ({len} instruction{s})"),
        None => format!("unnamed program ({len} instruction{s})"),
    }
}

/// The bytes of `name` the kernel keeps, or why it would refuse them.
fn kernel_name(name: &str) -> std::result::Result<&[u8], String> {
    if let Some(c) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
    {
        return Err(format!(
            "program names may hold ASCII letters, digits, `_` and `.`, not {c:?}"
        ));
    }
    let max = bpf_sys::BPF_OBJ_NAME_LEN as usize - 1;
    Ok(&name.as_bytes()[..name.len().min(max)])
}

/// The log up to its terminating NUL.
fn log_text(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// The instructions with every map relocation filled with its bound fd.
fn relocate<'p>(
    program: &'p Program,
    maps: &[(String, BorrowedFd<'_>)],
    described: &str,
) -> Result<Cow<'p, [Insn]>> {
    if program.relocs().is_empty() {
        return Ok(Cow::Borrowed(program.insns()));
    }
    let lddw = (bpf_sys::BPF_LD | bpf_sys::BPF_IMM | bpf_sys::BPF_DW) as u8;
    let mut insns = program.insns().to_vec();
    for reloc in program.relocs() {
        let slot = reloc.slot;
        let is_map_lddw = insns.get(slot).is_some_and(|i| {
            i.code() == lddw
                && matches!(
                    u32::from(i.src()),
                    bpf_sys::BPF_PSEUDO_MAP_FD | bpf_sys::BPF_PSEUDO_MAP_VALUE
                )
        }) && slot + 1 < insns.len();
        if !is_map_lddw {
            return Err(Error::BadRelocation {
                program: described.to_owned(),
                map: reloc.name.to_string(),
                slot,
            });
        }
        let Some((_, fd)) = maps.iter().rev().find(|(name, _)| *name == reloc.name) else {
            return Err(Error::UnboundMap {
                program: described.to_owned(),
                map: reloc.name.to_string(),
                slot,
                source_line: program.source_of(slot).cloned(),
            });
        };
        insns[slot] = insns[slot].with_imm(fd.as_raw_fd());
    }
    Ok(Cow::Owned(insns))
}

/// A program loaded into the kernel; owns its fd (closing it unloads the
/// program unless a socket still has it attached), and the maps the loader
/// created for its declarations.
#[derive(Debug)]
pub struct LoadedProgram {
    fd: OwnedFd,
    name: Option<String>,
    prog_type: ProgType,
    len: usize,
    maps: Vec<Map>,
}

/// What [`LoadedProgram::test_run`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestRun {
    /// The program's return value (for a socket filter: 0 drops, N keeps
    /// at most N bytes, `0xffff_ffff` keeps the whole packet).
    pub retval: u32,
    /// The kernel's average time per run (nanosecond resolution).
    pub duration: Duration,
}

impl LoadedProgram {
    /// The name given at load time.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The program type it was loaded as.
    pub fn prog_type(&self) -> ProgType {
        self.prog_type
    }

    /// The number of instruction slots loaded.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the program has no instructions (never true for a loaded
    /// program; here for symmetry with [`len`](Self::len)).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How the program is named in error messages.
    pub(crate) fn describe(&self) -> String {
        describe(self.name.as_deref(), self.len)
    }

    /// The declared map `name` the loader created (not one bound with
    /// [`ProgramLoader::map`], and not one already taken).
    pub fn map(&self, name: &str) -> Option<&Map> {
        self.maps.iter().find(|m| m.name() == name)
    }

    /// The maps the loader created, in declaration order.
    pub fn maps(&self) -> &[Map] {
        &self.maps
    }

    /// Takes the declared map `name` the loader created, as a typed handle
    /// (`Array<u64>`, `HashMap<K, V>`, `RingBuf`, ... or the untyped
    /// [`Map`]), its key and value types checked against the map. The
    /// program keeps using the map whatever becomes of the handle.
    ///
    /// ```no_run
    /// use bpf_loader::{Array, bpf_prog};
    ///
    /// const COUNT: bpf_loader::Program = bpf_prog! {
    ///     #![map(counts: array, key = u32, value = u64, max_entries = 1)]
    ///     lddw r1, map_value(counts, 0);
    ///     mov r2, 1;
    ///     lock add [r1], r2;
    ///     mov r0, -1;
    ///     exit
    /// };
    /// let mut prog = bpf_loader::load(&COUNT)?;
    /// let counts: Array<u64> = prog.take_map("counts")?;
    /// # Ok::<(), bpf_loader::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::MapMismatch`] when the loader created no map of that name;
    /// [`Error::InvalidMap`] when the handle's types do not fit the map.
    pub fn take_map<T>(&mut self, name: &str) -> Result<T>
    where
        T: TryFrom<Map>,
        Error: From<T::Error>,
    {
        let Some(i) = self.maps.iter().position(|m| m.name() == name) else {
            let names: Vec<&str> = self.maps.iter().map(Map::name).collect();
            return Err(Error::MapMismatch {
                program: self.describe(),
                map: name.to_owned(),
                reason: if names.is_empty() {
                    "the loader created no maps for this program (it declares none, or \
                     all were bound, or taken already)"
                        .to_owned()
                } else {
                    format!(
                        "no such map among those the loader created: {}",
                        names.join(", ")
                    )
                },
            });
        };
        Ok(T::try_from(self.maps.remove(i))?)
    }

    /// Runs the program `repeat` times (0 counts as 1) on `data` with
    /// `bpf(BPF_PROG_TEST_RUN)` (Linux 4.12; see bpf(2)) and returns its
    /// return value and the average time per run.
    ///
    /// For a socket filter, `data` is a whole Ethernet frame (at least 14
    /// bytes): the kernel strips the 14-byte Ethernet header, so **the
    /// program sees the data from the IP header on**, whereas on a live
    /// [`PacketSocket`](crate::PacketSocket) it sees the Ethernet header
    /// first. The same field is therefore 14 bytes further on a live socket:
    /// a filter written for a packet socket reads the IPv4 protocol with
    /// `ldabsb 23`, which under a test run reads byte 23 of the IP header
    /// instead of byte 9.
    ///
    /// ```no_run
    /// use bpf_loader::bpf_prog;
    ///
    /// // Keeps the packet if the byte at offset 9 of the data (the IPv4
    /// // protocol under a test run) is 17 (UDP).
    /// const IS_UDP: bpf_loader::Program = bpf_prog! {
    ///     mov64 r6, r1; // legacy packet loads take the context from r6
    ///     ldabsb 9; jne r0, 17, drop; mov64 r0, -1; exit;
    ///     drop: mov64 r0, 0; exit
    /// };
    /// let prog = bpf_loader::load(&IS_UDP)?;
    /// let mut frame = [0u8; 14 + 28];
    /// frame[12..14].copy_from_slice(&0x0800u16.to_be_bytes()); // ethertype
    /// frame[14 + 9] = 17; // IPv4 protocol: UDP
    /// assert_eq!(prog.test_run(&frame, 1)?.retval, u32::MAX);
    /// # Ok::<(), bpf_loader::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] with `EINVAL` for data shorter than 14 bytes or
    /// longer than the kernel's limit: a page less the skb headroom and
    /// tailroom (`PAGE_SIZE - NET_SKB_PAD - NET_IP_ALIGN -
    /// SKB_DATA_ALIGN(sizeof(struct skb_shared_info))`), 3712 bytes on
    /// x86_64 with 4 KiB pages; `ENOTSUPP` for program types without a test
    /// runner.
    pub fn test_run(&self, data: &[u8], repeat: u32) -> Result<TestRun> {
        self.test_run_with(&sys::Kernel, data, repeat)
    }

    /// [`test_run`](Self::test_run) through `bpf`.
    fn test_run_with(&self, bpf: &impl Bpf, data: &[u8], repeat: u32) -> Result<TestRun> {
        let out = bpf
            .prog_test_run(self.fd.as_fd(), data, repeat)
            .map_err(|e| Error::program_call(Syscall::ProgTestRun, self.describe(), e))?;
        Ok(TestRun {
            retval: out.retval,
            duration: Duration::from_nanos(out.duration_ns.into()),
        })
    }
}

impl AsFd for LoadedProgram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl From<LoadedProgram> for OwnedFd {
    fn from(p: LoadedProgram) -> OwnedFd {
        p.fd
    }
}

/// Loads `program` with the defaults (its own program type, license
/// `"GPL"`, no name, no maps): the shortcut for
/// [`ProgramLoader::new(program).load()`](ProgramLoader::load).
///
/// ```no_run
/// const ACCEPT_ALL: bpf_loader::Program = bpf_loader::bpf_prog! { mov64 r0, -1; exit };
///
/// let prog = bpf_loader::load(&ACCEPT_ALL)?;
/// assert_eq!(prog.prog_type(), bpf_loader::ProgType::SocketFilter);
/// # Ok::<(), bpf_loader::Error>(())
/// ```
///
/// # Errors
///
/// As [`ProgramLoader::load`].
pub fn load(program: &Program) -> Result<LoadedProgram> {
    ProgramLoader::new(program).load()
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::{MapReloc, SourceLine};

    const MOV_K: u8 = (bpf_sys::BPF_ALU64 | bpf_sys::BPF_MOV | bpf_sys::BPF_K) as u8;
    const MOV_X: u8 = (bpf_sys::BPF_ALU64 | bpf_sys::BPF_MOV | bpf_sys::BPF_X) as u8;
    const EXIT: u8 = (bpf_sys::BPF_JMP | bpf_sys::BPF_EXIT) as u8;
    const LDDW: u8 = (bpf_sys::BPF_LD | bpf_sys::BPF_IMM | bpf_sys::BPF_DW) as u8;

    fn accept_all() -> Program {
        Program::from_insns(vec![
            Insn::new(MOV_K, 0, 0, 0, -1),
            Insn::new(EXIT, 0, 0, 0, 0),
        ])
    }

    /// Whether this process may load programs; prints why a test is skipped.
    fn privileged() -> bool {
        match load(&accept_all()) {
            Ok(_) => true,
            Err(e) if e.is_permission_denied() => {
                eprintln!("skipped: needs root or CAP_BPF+CAP_NET_RAW ({e})");
                if std::env::var_os("BPF_TESTS_REQUIRE_PRIVILEGE").is_some_and(|v| v == "1") {
                    panic!("BPF_TESTS_REQUIRE_PRIVILEGE=1 but {e}");
                }
                false
            }
            Err(e) => panic!("{e}"),
        }
    }

    fn map_prog(src: u8) -> Program {
        Program::new(
            vec![
                Insn::new(LDDW, 1, src, 0, 0),
                Insn::new(0, 0, 0, 0, 0),
                Insn::new(MOV_K, 0, 0, 0, 0),
                Insn::new(EXIT, 0, 0, 0, 0),
            ],
            vec![MapReloc {
                slot: 0,
                name: "counts".into(),
            }],
            vec![SourceLine::new(0, 7, "lddw r1, map_fd(counts)")],
        )
    }

    #[test]
    fn describes_programs() {
        assert_eq!(describe(Some("x"), 2), "program `x` (2 instructions)");
        assert_eq!(describe(None, 1), "unnamed program (1 instruction)");
    }

    #[test]
    fn kernel_names() {
        assert_eq!(kernel_name("accept_all.v2"), Ok(&b"accept_all.v2"[..]));
        assert_eq!(
            kernel_name("a_very_long_program_name"),
            Ok(&b"a_very_long_pro"[..])
        );
        assert!(kernel_name("no spaces").unwrap_err().contains("' '"));
    }

    #[test]
    fn log_text_stops_at_nul() {
        assert_eq!(log_text(b"abc\n\0\0junk"), "abc\n");
        assert_eq!(log_text(b"no nul"), "no nul");
    }

    #[test]
    fn relocation_patches_the_first_lddw_slot() {
        let prog = map_prog(bpf_sys::BPF_PSEUDO_MAP_FD as u8);
        let stdin = std::io::stdin();
        let fd = stdin.as_fd();
        let insns = relocate(&prog, &[("counts".into(), fd)], "p").unwrap();
        assert_eq!(insns[0].imm(), fd.as_raw_fd());
        assert_eq!(insns[1], prog.insns()[1]);
        assert_eq!(insns[2..], prog.insns()[2..]);
    }

    #[test]
    fn relocation_without_relocs_borrows() {
        let prog = accept_all();
        assert!(matches!(
            relocate(&prog, &[], "p").unwrap(),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn unbound_map_names_the_map_and_line() {
        let prog = map_prog(bpf_sys::BPF_PSEUDO_MAP_FD as u8);
        let stdin = std::io::stdin();
        let e = relocate(&prog, &[("other".into(), stdin.as_fd())], "program `p`").unwrap_err();
        let msg = e.to_string();
        assert!(matches!(&e, Error::UnboundMap { map, slot: 0, .. } if map == "counts"));
        assert!(msg.contains("map `counts`"), "{msg}");
        assert!(msg.contains("line 7: lddw r1, map_fd(counts)"), "{msg}");
    }

    #[test]
    fn relocation_must_point_at_a_map_lddw() {
        let prog = map_prog(0);
        let stdin = std::io::stdin();
        let e = relocate(&prog, &[("counts".into(), stdin.as_fd())], "p").unwrap_err();
        assert!(matches!(e, Error::BadRelocation { slot: 0, .. }), "{e}");
    }

    #[test]
    fn invalid_names_fail_before_the_kernel() {
        let prog = accept_all();
        let e = ProgramLoader::new(&prog)
            .name("bad name")
            .load()
            .unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
        let e = ProgramLoader::new(&prog)
            .license("G\0PL")
            .load()
            .unwrap_err();
        assert!(e.to_string().contains("NUL"), "{e}");
    }

    #[test]
    fn max_log_size_is_clamped() {
        let prog = accept_all();
        assert_eq!(
            ProgramLoader::new(&prog).max_log_size(1).max_log_size,
            LOG_MIN
        );
        assert_eq!(ProgramLoader::new(&prog).max_log_size(0).max_log_size, 0);
        assert_eq!(
            ProgramLoader::new(&prog)
                .max_log_size(usize::MAX)
                .max_log_size,
            LOG_LIMIT
        );
    }

    /// A kernel in a test: answers `BPF_PROG_LOAD` like the real one would
    /// for a program with a given verdict, and records what it was asked.
    struct FakeKernel {
        /// The errno of a refusal before the verifier runs (`EPERM`,
        /// `E2BIG`): no log is written.
        refuse: Option<i32>,
        /// The verifier's verdict: `None` accepts; `Some(errno)` rejects,
        /// writing `log`.
        reject: Option<i32>,
        /// The verifier log of a rejection.
        log: String,
        /// Whether the kernel reports `log_true_size` (Linux 6.4+).
        true_size: bool,
        /// What `BPF_PROG_TEST_RUN` answers: (retval, duration) or an errno.
        test_run: std::result::Result<(u32, u32), i32>,
        /// Per `BPF_PROG_LOAD`: the log buffer's size (`None`: no log).
        calls: RefCell<Vec<Option<usize>>>,
        /// Per `BPF_PROG_LOAD`: the program type, name and log level asked
        /// for.
        seen: RefCell<Vec<(ProgType, Vec<u8>, u32)>>,
    }

    impl FakeKernel {
        fn accepting() -> Self {
            FakeKernel {
                refuse: None,
                reject: None,
                log: String::new(),
                true_size: true,
                test_run: Ok((u32::MAX, 25)),
                calls: RefCell::new(Vec::new()),
                seen: RefCell::new(Vec::new()),
            }
        }

        fn rejecting(errno: i32, log: String) -> Self {
            FakeKernel {
                reject: Some(errno),
                log,
                ..FakeKernel::accepting()
            }
        }

        fn refusing(errno: i32) -> Self {
            FakeKernel {
                refuse: Some(errno),
                ..FakeKernel::accepting()
            }
        }

        fn calls(&self) -> Vec<Option<usize>> {
            self.calls.borrow().clone()
        }
    }

    fn errno(e: i32) -> std::io::Error {
        std::io::Error::from_raw_os_error(e)
    }

    impl Bpf for FakeKernel {
        fn prog_load(&self, attrs: &mut sys::ProgLoadAttrs<'_>) -> std::io::Result<OwnedFd> {
            self.calls
                .borrow_mut()
                .push(attrs.log.as_ref().map(|l| l.buf.len()));
            self.seen.borrow_mut().push((
                attrs.prog_type,
                attrs.name.to_vec(),
                attrs.log.as_ref().map_or(0, |l| l.level),
            ));
            if let Some(e) = self.refuse {
                return Err(errno(e));
            }
            let Some(verdict) = self.reject else {
                return Ok(std::fs::File::open("/dev/null")?.into());
            };
            let Some(log) = &mut attrs.log else {
                return Err(errno(verdict));
            };
            // The log and its NUL; a kernel with a short buffer writes what
            // fits (NUL-terminated) and says ENOSPC.
            let needed = self.log.len() + 1;
            if self.true_size {
                log.true_size = u32::try_from(needed).unwrap();
            }
            let n = self.log.len().min(log.buf.len() - 1);
            log.buf[..n].copy_from_slice(&self.log.as_bytes()[..n]);
            log.buf[n] = 0;
            Err(errno(if needed > log.buf.len() {
                libc::ENOSPC
            } else {
                verdict
            }))
        }

        fn prog_test_run(
            &self,
            _prog: BorrowedFd<'_>,
            data: &[u8],
            _repeat: u32,
        ) -> std::io::Result<sys::TestRunOut> {
            assert!(!data.is_empty());
            match self.test_run {
                Ok((retval, duration_ns)) => Ok(sys::TestRunOut {
                    retval,
                    duration_ns,
                }),
                Err(e) => Err(errno(e)),
            }
        }
    }

    /// `mov64 r0, r5; exit` with source lines 3 and 4.
    fn uninit_read() -> Program {
        Program::new(
            vec![Insn::new(MOV_X, 0, 5, 0, 0), Insn::new(EXIT, 0, 0, 0, 0)],
            vec![],
            vec![
                SourceLine::new(0, 3, "mov64 r0, r5"),
                SourceLine::new(1, 4, "exit"),
            ],
        )
    }

    /// A verifier log of at least `min_len` bytes rejecting
    /// [`uninit_read`] at slot 0.
    fn uninit_log(min_len: usize) -> String {
        let mut log = String::from("func#0 @0\n0: R1=ctx() R10=fp0\n");
        while log.len() < min_len {
            log.push_str("; padding the log as a long program would\n");
        }
        log.push_str("0: (bf) r0 = r5\nR5 !read_ok\n");
        log.push_str("processed 1 insns (limit 1000000) max_states_per_insn 0\n");
        log
    }

    #[test]
    fn success_on_the_first_try_needs_no_log() {
        let sys = FakeKernel::accepting();
        let prog = accept_all();
        let loaded = ProgramLoader::new(&prog)
            .name("fast")
            .prog_type(ProgType::SchedCls)
            .load_with(&sys)
            .unwrap();
        assert_eq!(sys.calls(), [None]);
        assert_eq!(
            *sys.seen.borrow(),
            [(ProgType::SchedCls, b"fast".to_vec(), 0)]
        );
        assert_eq!(loaded.name(), Some("fast"));
        assert_eq!(loaded.prog_type(), ProgType::SchedCls);
        assert_eq!(loaded.len(), 2);
    }

    #[test]
    fn the_program_type_defaults_to_the_programs_own() {
        let sys = FakeKernel::accepting();
        let prog = accept_all().with_prog_type(ProgType::Xdp);
        let loaded = ProgramLoader::new(&prog).load_with(&sys).unwrap();
        assert_eq!(loaded.prog_type(), ProgType::Xdp);
        assert_eq!(sys.seen.borrow()[0].0, ProgType::Xdp);
    }

    #[test]
    fn rejection_retries_with_a_log_grown_to_the_true_size() {
        // 100 KiB of log: more than the first 64 KiB buffer.
        let log = uninit_log(100 * 1024);
        let sys = FakeKernel::rejecting(libc::EACCES, log.clone());
        let prog = uninit_read();
        let e = ProgramLoader::new(&prog)
            .name("uninit")
            .load_with(&sys)
            .unwrap_err();
        assert_eq!(sys.calls(), [None, Some(LOG_START), Some(log.len() + 1)]);
        assert!(
            sys.seen.borrow()[1..].iter().all(|s| s.2 == 1),
            "log level 1"
        );
        let v = e.verifier().unwrap_or_else(|| panic!("{e}"));
        assert_eq!(v.log(), log);
        assert!(!v.is_truncated());
        assert_eq!(v.message(), "R5 !read_ok");
        assert_eq!(v.failing_slot(), Some(0));
        let src = v.failing_source_line().expect("a source line");
        assert_eq!((src.line, &*src.text), (3, "mov64 r0, r5"));
        // The errno is the first attempt's, not the ENOSPC of a retry.
        assert_eq!(e.raw_os_error(), Some(libc::EACCES));
        assert_eq!(e.failed_call(), Some(Syscall::ProgLoad));
        assert_eq!(e.program(), Some("program `uninit` (2 instructions)"));
        let text = e.to_string();
        assert!(text.contains("at line 3: `mov64 r0, r5`"), "{text}");
    }

    #[test]
    fn einval_rejection_fetches_the_log_too() {
        let sys = FakeKernel::rejecting(libc::EINVAL, uninit_log(0));
        let e = ProgramLoader::new(&uninit_read())
            .load_with(&sys)
            .unwrap_err();
        assert_eq!(sys.calls(), [None, Some(LOG_START)]);
        assert_eq!(
            e.verifier().map(VerifierError::message),
            Some("R5 !read_ok")
        );
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
    }

    #[test]
    fn old_kernels_grow_the_log_fourfold_up_to_the_limit() {
        // No log_true_size (before Linux 6.4): 64 KiB, 256 KiB, 1 MiB.
        let log = uninit_log(300 * 1024);
        let sys = FakeKernel {
            true_size: false,
            ..FakeKernel::rejecting(libc::EACCES, log.clone())
        };
        let e = ProgramLoader::new(&uninit_read())
            .load_with(&sys)
            .unwrap_err();
        assert_eq!(
            sys.calls(),
            [
                None,
                Some(LOG_START),
                Some(4 * LOG_START),
                Some(16 * LOG_START)
            ]
        );
        let v = e.verifier().unwrap_or_else(|| panic!("{e}"));
        assert!(!v.is_truncated());
        assert_eq!(v.log(), log);

        // Capped by max_log_size: the log is cut, and says so.
        let sys = FakeKernel {
            true_size: false,
            ..FakeKernel::rejecting(libc::EACCES, log.clone())
        };
        let e = ProgramLoader::new(&uninit_read())
            .max_log_size(200_000)
            .load_with(&sys)
            .unwrap_err();
        assert_eq!(sys.calls(), [None, Some(LOG_START), Some(200_000)]);
        let v = e.verifier().unwrap_or_else(|| panic!("{e}"));
        assert!(v.is_truncated());
        assert_eq!(v.log().len(), 200_000 - 1);
        assert!(e.to_string().contains("(truncated by the kernel)"), "{e}");
        assert_eq!(e.raw_os_error(), Some(libc::EACCES));
    }

    #[test]
    fn the_true_size_is_capped_by_max_log_size() {
        let sys = FakeKernel::rejecting(libc::EACCES, uninit_log(10_000));
        let e = ProgramLoader::new(&uninit_read())
            .max_log_size(1_000)
            .load_with(&sys)
            .unwrap_err();
        assert_eq!(sys.calls(), [None, Some(1_000)]);
        assert!(e.verifier().is_some_and(VerifierError::is_truncated), "{e}");
    }

    #[test]
    fn eperm_is_not_retried_and_has_the_hint() {
        let sys = FakeKernel::refusing(libc::EPERM);
        let e = ProgramLoader::new(&accept_all())
            .name("p")
            .load_with(&sys)
            .unwrap_err();
        assert_eq!(sys.calls(), [None]);
        assert!(e.is_permission_denied());
        assert!(
            matches!(
                &e,
                Error::Syscall { call: Syscall::ProgLoad, program: Some(p), socket: None, .. }
                    if p == "program `p` (2 instructions)"
            ),
            "{e}"
        );
        let msg = e.to_string();
        assert!(
            msg.starts_with("bpf(BPF_PROG_LOAD) failed for program `p` (2 instructions): "),
            "{msg}"
        );
        assert!(msg.contains("needs root or CAP_BPF + CAP_NET_RAW"), "{msg}");
    }

    #[test]
    fn e2big_without_a_log_has_the_hint() {
        let sys = FakeKernel::refusing(libc::E2BIG);
        let e = ProgramLoader::new(&accept_all())
            .load_with(&sys)
            .unwrap_err();
        assert_eq!(sys.calls(), [None, Some(LOG_START)]);
        assert_eq!(e.raw_os_error(), Some(libc::E2BIG));
        assert!(!e.is_permission_denied());
        assert!(e.to_string().contains("1,000,000 instructions"), "{e}");
    }

    #[test]
    fn an_empty_log_is_a_plain_syscall_error() {
        // e.g. a program type the kernel does not know: EINVAL, no log.
        let sys = FakeKernel::rejecting(libc::EINVAL, String::new());
        let e = ProgramLoader::new(&accept_all())
            .load_with(&sys)
            .unwrap_err();
        assert_eq!(sys.calls(), [None, Some(LOG_START)]);
        assert!(
            matches!(
                e,
                Error::Syscall {
                    call: Syscall::ProgLoad,
                    ..
                }
            ),
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("the kernel refused the request itself"),
            "{e}"
        );
    }

    #[test]
    fn max_log_size_zero_skips_the_retry() {
        let sys = FakeKernel::rejecting(libc::EACCES, uninit_log(0));
        let e = ProgramLoader::new(&uninit_read())
            .max_log_size(0)
            .load_with(&sys)
            .unwrap_err();
        assert_eq!(sys.calls(), [None]);
        assert!(matches!(e, Error::Syscall { .. }), "{e}");
        assert_eq!(e.raw_os_error(), Some(libc::EACCES));
    }

    #[test]
    fn test_run_results_and_errors() {
        let sys = FakeKernel::accepting();
        let prog = ProgramLoader::new(&accept_all())
            .name("run")
            .load_with(&sys)
            .unwrap();
        let run = prog.test_run_with(&sys, &[0; 64], 1).unwrap();
        assert_eq!(run.retval, u32::MAX);
        assert_eq!(run.duration, Duration::from_nanos(25));

        let sys = FakeKernel {
            test_run: Err(crate::error::ENOTSUPP),
            ..FakeKernel::accepting()
        };
        let e = prog.test_run_with(&sys, &[0; 64], 1).unwrap_err();
        assert_eq!(e.failed_call(), Some(Syscall::ProgTestRun));
        assert_eq!(e.program(), Some("program `run` (2 instructions)"));
        assert!(
            e.to_string().contains("does not support BPF_PROG_TEST_RUN"),
            "{e}"
        );
    }

    #[test]
    fn kernel_loads_and_runs() {
        if !privileged() {
            return;
        }
        let prog = ProgramLoader::new(&accept_all())
            .name("unit_accept")
            .load()
            .unwrap();
        assert_eq!(prog.name(), Some("unit_accept"));
        let run = prog.test_run(&[0u8; 64], 10).unwrap();
        assert_eq!(run.retval, u32::MAX);
        let e = prog.test_run(&[0u8; 4], 1).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
        assert!(e.to_string().contains("at least 14"), "{e}");
    }

    #[test]
    fn kernel_rejection_carries_the_log() {
        if !privileged() {
            return;
        }
        let prog = Program::new(
            vec![Insn::new(MOV_X, 0, 5, 0, 0), Insn::new(EXIT, 0, 0, 0, 0)],
            vec![],
            vec![
                SourceLine::new(0, 3, "mov64 r0, r5"),
                SourceLine::new(1, 4, "exit"),
            ],
        );
        let e = ProgramLoader::new(&prog).name("uninit").load().unwrap_err();
        let v = e
            .verifier()
            .unwrap_or_else(|| panic!("not a verifier error: {e}"));
        assert_eq!(v.message(), "R5 !read_ok", "{e}");
        assert_eq!(v.failing_slot(), Some(0));
        assert_eq!(v.failing_source_line().map(|s| s.line), Some(3));
        assert!(!v.is_truncated());
        assert_eq!(e.failed_call(), Some(Syscall::ProgLoad));

        // Without the log retry, the same rejection is a plain syscall error.
        let e = ProgramLoader::new(&prog)
            .max_log_size(0)
            .load()
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Syscall {
                    call: Syscall::ProgLoad,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn kernel_log_grows_on_enospc() {
        if !privileged() {
            return;
        }
        // A long straight line followed by an uninitialised read: the log
        // prints every instruction, more than a 128-byte buffer holds.
        let mut insns = vec![Insn::new(MOV_K, 0, 0, 0, 0); 50];
        insns.push(Insn::new(MOV_X, 0, 5, 0, 0));
        insns.push(Insn::new(EXIT, 0, 0, 0, 0));
        let prog = Program::from_insns(insns);
        let e = ProgramLoader::new(&prog)
            .max_log_size(128)
            .load()
            .unwrap_err();
        let v = e.verifier().unwrap_or_else(|| panic!("{e}"));
        assert!(v.is_truncated(), "{e}");
        let e = ProgramLoader::new(&prog).load().unwrap_err();
        let v = e.verifier().unwrap_or_else(|| panic!("{e}"));
        assert!(!v.is_truncated(), "{e}");
        assert_eq!(v.failing_slot(), Some(50));
        assert_eq!(v.io_error().raw_os_error(), Some(libc::EACCES));
    }

    #[test]
    fn kernel_accepts_relocated_map_fd() {
        if !privileged() {
            return;
        }
        let map = sys::test_support::array_map_create(8, 1).unwrap();
        let prog = map_prog(bpf_sys::BPF_PSEUDO_MAP_FD as u8);
        ProgramLoader::new(&prog)
            .map("counts", &map)
            .load()
            .unwrap();
        let prog = map_prog(bpf_sys::BPF_PSEUDO_MAP_VALUE as u8);
        ProgramLoader::new(&prog)
            .map("counts", &map)
            .load()
            .unwrap();
        // An fd that is not a map: the kernel says EBADF or EINVAL, no log.
        let e = ProgramLoader::new(&map_prog(bpf_sys::BPF_PSEUDO_MAP_FD as u8))
            .map("counts", &std::io::stdin())
            .load()
            .unwrap_err();
        assert!(e.raw_os_error().is_some(), "{e}");
    }
}
