//! Generates the bindings to `linux/bpf.h` with bindgen, plus what the
//! assembler and the loader need on top: the helper functions (`bpf_func_id`)
//! by name, the program and map types (`bpf_prog_type`, `bpf_map_type`) as
//! Rust enums, and the
//! constants newer than the header (so older distribution headers still give
//! every opcode of the current ISA).

use std::collections::BTreeMap;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::panic;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bindgen::callbacks::{EnumVariantValue, ParseCallbacks};

/// Overrides the directory searched first for `linux/bpf.h` (e.g. a newer
/// kernel's `usr/include`, made by `make headers_install`).
const INCLUDE_ENV: &str = "BPF_SYS_INCLUDE_DIR";

/// What the parse callbacks record while bindgen walks the header.
#[derive(Debug, Default)]
struct Seen {
    helpers: BTreeMap<u32, String>,
    prog_types: BTreeMap<u32, String>,
    map_types: BTreeMap<u32, String>,
    bpf_h: Option<PathBuf>,
}

#[derive(Debug)]
struct Recorder(Arc<Mutex<Seen>>);

impl ParseCallbacks for Recorder {
    fn enum_variant_name(
        &self,
        enum_name: Option<&str>,
        original_variant_name: &str,
        value: EnumVariantValue,
    ) -> Option<String> {
        let id = match value {
            EnumVariantValue::Boolean(b) => u32::from(b),
            EnumVariantValue::Signed(v) => u32::try_from(v).unwrap_or(u32::MAX),
            EnumVariantValue::Unsigned(v) => u32::try_from(v).unwrap_or(u32::MAX),
        };
        let enum_name = enum_name.unwrap_or_default();
        let Ok(mut seen) = self.0.lock() else {
            return None;
        };
        if enum_name.ends_with("bpf_func_id")
            && let Some(name) = original_variant_name.strip_prefix("BPF_FUNC_")
        {
            seen.helpers.insert(id, name.to_owned());
        } else if enum_name.ends_with("bpf_prog_type")
            && let Some(name) = original_variant_name.strip_prefix("BPF_PROG_TYPE_")
        {
            seen.prog_types.insert(id, name.to_ascii_lowercase());
        } else if enum_name.ends_with("bpf_map_type")
            && let Some(name) = original_variant_name.strip_prefix("BPF_MAP_TYPE_")
        {
            seen.map_types.insert(id, name.to_ascii_lowercase());
        }
        None
    }

    fn include_file(&self, filename: &str) {
        if filename.ends_with("linux/bpf.h")
            && let Ok(mut seen) = self.0.lock()
        {
            seen.bpf_h.get_or_insert_with(|| PathBuf::from(filename));
        }
    }
}

/// Constants of the current uapi `linux/bpf.h` that older headers lack, with
/// the kernel release that introduced them. Emitted only when the header did
/// not define them, so a newer header always wins.
const NEWER_CONSTANTS: &[(&str, &str, u32, &str)] = &[
    (
        "BPF_MEMSX",
        "u32",
        0x80,
        "6.6: sign-extending loads (`ldxs*`)",
    ),
    (
        "BPF_JCOND",
        "u32",
        0xe0,
        "6.9: conditional pseudo jumps (`may_goto`)",
    ),
    (
        "BPF_MAY_GOTO",
        "u32",
        0,
        "6.9: `bpf_cond_pseudo_jmp::BPF_MAY_GOTO`",
    ),
    (
        "BPF_ADDR_SPACE_CAST",
        "u32",
        1,
        "6.9: `mov` offset for `addr_space_cast`",
    ),
    (
        "BPF_LOAD_ACQ",
        "u32",
        0x100,
        "6.15: atomic load-acquire (in imm)",
    ),
    (
        "BPF_STORE_REL",
        "u32",
        0x110,
        "6.15: atomic store-release (in imm)",
    ),
    (
        "BPF_PSEUDO_MAP_IDX",
        "u32",
        5,
        "5.14: `lddw` src for a map by fd_array index",
    ),
    (
        "BPF_PSEUDO_MAP_IDX_VALUE",
        "u32",
        6,
        "5.14: `lddw` src for a map value by index",
    ),
];

fn fail(message: &str) -> ! {
    // One readable message instead of a bindgen backtrace: cargo prints the
    // build script's stderr when it fails.
    eprintln!("\nerror: bpf-sys cannot generate its bindings.\n{message}\n");
    std::process::exit(1);
}

fn main() {
    println!("cargo:rerun-if-env-changed={INCLUDE_ENV}");
    println!("cargo:rerun-if-env-changed=LIBCLANG_PATH");
    println!("cargo:rerun-if-env-changed=BINDGEN_EXTRA_CLANG_ARGS");
    println!("cargo:rerun-if-changed=wrapper.h");

    let include_dir = env::var_os(INCLUDE_ENV).map(PathBuf::from);
    if let Some(dir) = &include_dir
        && !dir.join("linux/bpf.h").is_file()
    {
        fail(&format!(
            "{INCLUDE_ENV}={} has no linux/bpf.h. Point it at a directory holding \
             linux/bpf.h (for example a kernel tree's usr/include after \
             `make headers_install`), or unset it to use the system header.",
            dir.display()
        ));
    }

    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut builder = bindgen::Builder::default()
        .header("wrapper.h")
        .parse_callbacks(Box::new(Recorder(Arc::clone(&seen))))
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .use_core()
        .default_enum_style(bindgen::EnumVariation::Consts)
        .prepend_enum_name(false)
        .derive_default(true)
        .derive_debug(true)
        .layout_tests(true)
        .allowlist_type("bpf_.*")
        .allowlist_type("__sk_buff")
        .allowlist_type("xdp_md")
        .allowlist_var("BPF_.*")
        .allowlist_var("MAX_BPF_.*")
        .allowlist_var("LINUX_VERSION_CODE")
        .allowlist_var("__BPF_FUNC_MAX_ID");
    if let Some(dir) = &include_dir {
        builder = builder.clang_arg(format!("-I{}", dir.display()));
    }

    // bindgen panics when libclang cannot be loaded; turn that into advice.
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let generated = panic::catch_unwind(panic::AssertUnwindSafe(move || builder.generate()));
    panic::set_hook(default_hook);
    let bindings = match generated {
        Err(_) => fail(
            "libclang could not be loaded. Install it (Debian/Ubuntu: \
             `apt-get install libclang-dev`; Fedora: `dnf install clang-devel`) \
             or set LIBCLANG_PATH to the directory holding libclang.so.",
        ),
        Ok(Err(err)) => fail(&format!(
            "clang could not parse linux/bpf.h: {err}\nInstall the kernel uapi headers \
             (Debian/Ubuntu: `apt-get install linux-libc-dev`) or set {INCLUDE_ENV} to \
             a directory holding linux/bpf.h."
        )),
        Ok(Ok(bindings)) => bindings,
    };

    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_else(|| fail("OUT_DIR is not set")));
    let text = bindings.to_string();
    write(&out.join("bindings.rs"), &text);

    let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    if seen.helpers.is_empty() {
        fail("linux/bpf.h defines no `enum bpf_func_id`: is it a uapi bpf.h?");
    }
    if seen.prog_types.is_empty() {
        fail("linux/bpf.h defines no `enum bpf_prog_type`: is it a uapi bpf.h?");
    }
    if seen.map_types.is_empty() {
        fail("linux/bpf.h defines no `enum bpf_map_type`: is it a uapi bpf.h?");
    }
    write(&out.join("helpers.rs"), &helper_table(&seen.helpers));
    write(&out.join("map_type.rs"), &map_type_enum(&seen.map_types));
    write(&out.join("prog_type.rs"), &prog_type_enum(&seen.prog_types));
    write(&out.join("compat.rs"), &compat_constants(&text));

    let header = seen
        .bpf_h
        .clone()
        .unwrap_or_else(|| PathBuf::from("linux/bpf.h"));
    let version = linux_version(&text);
    write(&out.join("header.md"), &header_doc(&header, version));
    println!("cargo:header={}", header.display());
}

fn write(path: &Path, contents: &str) {
    if let Err(err) = fs::write(path, contents) {
        fail(&format!("cannot write {}: {err}", path.display()));
    }
}

fn helper_table(helpers: &BTreeMap<u32, String>) -> String {
    let mut s = String::from(
        "/// Every helper of `enum bpf_func_id` in the header, as (name without the\n\
         /// `bpf_` prefix, id), sorted by id. `unspec` (id 0) is left out.\n\
         pub const HELPERS: &[(&str, u32)] = &[\n",
    );
    for (id, name) in helpers {
        if *id != 0 && !name.starts_with('_') {
            let _ = writeln!(s, "    ({name:?}, {id}),");
        }
    }
    s.push_str("];\n");
    s
}

/// `socket_filter` -> `SocketFilter`, `lirc_mode2` -> `LircMode2`.
fn camel_case(name: &str) -> String {
    name.split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// `enum ProgType`: one variant per `BPF_PROG_TYPE_*` of the header, with its
/// conversions. The header decides which variants exist, hence
/// `#[non_exhaustive]`.
fn prog_type_enum(types: &BTreeMap<u32, String>) -> String {
    let mut variants = String::new();
    let mut all = String::new();
    let mut from_raw = String::new();
    let mut names = String::new();
    let mut from_name = String::new();
    for (id, name) in types {
        let upper = name.to_ascii_uppercase();
        let camel = camel_case(name);
        let _ = writeln!(
            variants,
            "    /// `BPF_PROG_TYPE_{upper}` ({id}), `#![prog_type = {name}]`.\n    \
             {camel} = crate::BPF_PROG_TYPE_{upper},"
        );
        let _ = writeln!(all, "        ProgType::{camel},");
        let _ = writeln!(from_raw, "            {id} => Some(ProgType::{camel}),");
        let _ = writeln!(names, "            ProgType::{camel} => {name:?},");
        let _ = writeln!(
            from_name,
            "            {name:?} => Some(ProgType::{camel}),"
        );
    }
    format!(
        r#"/// A program type: one variant per `BPF_PROG_TYPE_*` of `enum bpf_prog_type`
/// in the header bpf-sys was built from (so the set depends on the header,
/// hence `#[non_exhaustive]`).
///
/// [`name`](Self::name) is the lower-case name without the prefix, as written
/// in `#![prog_type = socket_filter]` and shown by `Display`;
/// [`as_raw`](Self::as_raw) the value passed to `bpf(BPF_PROG_LOAD)`. `Debug`
/// prints the variant's name (`SocketFilter`).
///
/// ```
/// use bpf_sys::ProgType;
///
/// let t = ProgType::SocketFilter;
/// assert_eq!(t.as_raw(), bpf_sys::BPF_PROG_TYPE_SOCKET_FILTER);
/// assert_eq!(ProgType::from_raw(t.as_raw()), Some(t));
/// assert_eq!(t.name(), "socket_filter");
/// assert_eq!(ProgType::from_name("xdp"), Some(ProgType::Xdp));
/// assert_eq!(ProgType::SchedCls.to_string(), "sched_cls");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
#[repr(u32)]
pub enum ProgType {{
{variants}}}

impl ProgType {{
    /// Every program type of the header, in the order of their values.
    pub const ALL: &'static [ProgType] = &[
{all}    ];

    /// The `bpf_prog_type` value, as `bpf(BPF_PROG_LOAD)` takes it.
    pub const fn as_raw(self) -> crate::bpf_prog_type {{
        self as crate::bpf_prog_type
    }}

    /// The program type of a `bpf_prog_type` value, if the header knows it.
    pub const fn from_raw(raw: crate::bpf_prog_type) -> Option<Self> {{
        match raw {{
{from_raw}            _ => None,
        }}
    }}

    /// The lower-case name without the `BPF_PROG_TYPE_` prefix:
    /// `socket_filter`, `sched_cls`, `xdp`, ...
    pub const fn name(self) -> &'static str {{
        match self {{
{names}        }}
    }}

    /// The program type named `name` (as [`name`](Self::name) spells it), if
    /// the header knows it.
    pub fn from_name(name: &str) -> Option<Self> {{
        match name {{
{from_name}            _ => None,
        }}
    }}
}}

impl core::fmt::Display for ProgType {{
    /// The [`name`](Self::name), e.g. `socket_filter`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {{
        f.write_str(self.name())
    }}
}}
"#
    )
}

/// `enum MapType`: one variant per `BPF_MAP_TYPE_*` of the header, with the
/// same conversions as [`prog_type_enum`]'s.
fn map_type_enum(types: &BTreeMap<u32, String>) -> String {
    let mut variants = String::new();
    let mut all = String::new();
    let mut from_raw = String::new();
    let mut names = String::new();
    let mut from_name = String::new();
    for (id, name) in types {
        let upper = name.to_ascii_uppercase();
        let camel = camel_case(name);
        let _ = writeln!(
            variants,
            "    /// `BPF_MAP_TYPE_{upper}` ({id}), `#![map(NAME: {name}, ...)]`.\n    \
             {camel} = crate::BPF_MAP_TYPE_{upper},"
        );
        let _ = writeln!(all, "        MapType::{camel},");
        let _ = writeln!(from_raw, "            {id} => Some(MapType::{camel}),");
        let _ = writeln!(names, "            MapType::{camel} => {name:?},");
        let _ = writeln!(from_name, "            {name:?} => Some(MapType::{camel}),");
    }
    format!(
        r#"/// A map type: one variant per `BPF_MAP_TYPE_*` of `enum bpf_map_type` in
/// the header bpf-sys was built from (so the set depends on the header,
/// hence `#[non_exhaustive]`).
///
/// [`name`](Self::name) is the lower-case name without the prefix, as written
/// in `#![map(counts: array, ...)]` and shown by `Display`;
/// [`as_raw`](Self::as_raw) the value passed to `bpf(BPF_MAP_CREATE)`.
/// `Debug` prints the variant's name (`PercpuArray`).
///
/// ```
/// use bpf_sys::MapType;
///
/// let t = MapType::Hash;
/// assert_eq!(t.as_raw(), bpf_sys::BPF_MAP_TYPE_HASH);
/// assert_eq!(MapType::from_raw(t.as_raw()), Some(t));
/// assert_eq!(MapType::from_name("lru_percpu_hash"), Some(MapType::LruPercpuHash));
/// assert_eq!(MapType::Ringbuf.to_string(), "ringbuf");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
#[repr(u32)]
pub enum MapType {{
{variants}}}

impl MapType {{
    /// Every map type of the header, in the order of their values.
    pub const ALL: &'static [MapType] = &[
{all}    ];

    /// The `bpf_map_type` value, as `bpf(BPF_MAP_CREATE)` takes it.
    pub const fn as_raw(self) -> crate::bpf_map_type {{
        self as crate::bpf_map_type
    }}

    /// The map type of a `bpf_map_type` value, if the header knows it.
    pub const fn from_raw(raw: crate::bpf_map_type) -> Option<Self> {{
        match raw {{
{from_raw}            _ => None,
        }}
    }}

    /// The lower-case name without the `BPF_MAP_TYPE_` prefix: `hash`,
    /// `array`, `percpu_array`, `ringbuf`, ...
    pub const fn name(self) -> &'static str {{
        match self {{
{names}        }}
    }}

    /// The map type named `name` (as [`name`](Self::name) spells it), if the
    /// header knows it.
    pub fn from_name(name: &str) -> Option<Self> {{
        match name {{
{from_name}            _ => None,
        }}
    }}
}}

impl core::fmt::Display for MapType {{
    /// The [`name`](Self::name), e.g. `lru_hash`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {{
        f.write_str(self.name())
    }}
}}
"#
    )
}

fn compat_constants(bindings: &str) -> String {
    let mut s = String::new();
    for (name, ty, value, since) in NEWER_CONSTANTS {
        if !bindings.contains(&format!("pub const {name}:")) {
            let _ = writeln!(
                s,
                "/// Not in the header bpf-sys was built with; uapi value since Linux {since}.\n\
                 pub const {name}: {ty} = {value:#x};"
            );
        }
    }
    s
}

fn linux_version(bindings: &str) -> Option<u32> {
    let rest = bindings
        .split("pub const LINUX_VERSION_CODE: u32 = ")
        .nth(1)?;
    rest.split(';').next()?.trim().parse().ok()
}

fn header_doc(header: &Path, version: Option<u32>) -> String {
    let version = match version {
        Some(v) => format!("{v} (Linux {}.{}.{})", v >> 16, (v >> 8) & 0xff, v & 0xff),
        None => "unknown (no linux/version.h)".to_owned(),
    };
    format!(
        "Generated from `{}`, `LINUX_VERSION_CODE` {version}.\n",
        header.display()
    )
}
