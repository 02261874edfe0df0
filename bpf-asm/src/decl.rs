//! Map declarations: `#![map(NAME: TYPE, key = K, value = V, max_entries =
//! N, flags = F | G)]` attributes to [`MapSpec`]s, and the checks of
//! `map_fd(NAME)` / `map_value(NAME, off)` against them.

use bpf_sys::MapType;

use crate::diag::Diagnostics;
use crate::error::{did_you_mean, nearest};
use crate::mapspec::MapSpec;
use crate::parse::{Attr, AttrArg};

/// The key and value types a declaration may name, with their sizes.
const TYPES: &[(&str, u32)] = &[
    ("u8", 1),
    ("i8", 1),
    ("u16", 2),
    ("i16", 2),
    ("u32", 4),
    ("i32", 4),
    ("u64", 8),
    ("i64", 8),
    ("u128", 16),
    ("i128", 16),
];

/// The usage line errors end with.
const USAGE: &str = "`#![map(NAME: TYPE, key = u32, value = u64, max_entries = N)]`";

/// Parses the `#![map(...)]` attribute `a` into `maps`.
pub(crate) fn declare<S: Copy>(
    a: &Attr<'_, S>,
    maps: &mut Vec<MapSpec>,
    diag: &mut Diagnostics<S>,
) {
    let Some(args) = &a.args else {
        diag.push(
            a.span,
            format!("a map declaration takes arguments: {USAGE}"),
        );
        return;
    };
    let Some((first, rest)) = args.split_first() else {
        diag.push(
            a.span,
            format!("a map declaration needs a name and a type: {USAGE}"),
        );
        return;
    };
    let mark = diag.checkpoint();
    let map_type = match (first.sep, first.value.as_slice()) {
        (Some(':'), [(t, span)]) => match MapType::from_name(t) {
            Some(t) => Some(t),
            None => {
                let near = nearest(t, MapType::ALL.iter().map(|t| t.name()), 3);
                diag.push(
                    *span,
                    format!(
                        "unknown map type `{t}`: expected a `bpf_map_type` name without the \
                         `BPF_MAP_TYPE_` prefix, in lower case (array, hash, lru_hash, \
                         percpu_array, percpu_hash, lru_percpu_hash, ringbuf, prog_array, ...){}",
                        did_you_mean(&near)
                    ),
                );
                None
            }
        },
        _ => {
            diag.push(
                first.span,
                format!("a map declaration starts with `NAME: TYPE`: {USAGE}"),
            );
            None
        }
    };
    let name = first.name;
    if maps.iter().any(|m| m.name == name) {
        diag.push(first.span, format!("map `{name}` is declared twice"));
    }
    let (mut key, mut value, mut entries, mut flags) = (None, None, None, 0u32);
    for arg in rest {
        match arg.name {
            "key" => key = size(arg, diag),
            "value" => value = size(arg, diag),
            "max_entries" => entries = number(arg, diag),
            "flags" => flags = flag_bits(arg, diag),
            other => {
                let near = nearest(other, ["key", "value", "max_entries", "flags"], 3);
                diag.push(
                    arg.span,
                    format!(
                        "unknown map field `{other}`: expected `key`, `value`, `max_entries` or \
                         `flags`{}",
                        did_you_mean(&near)
                    ),
                );
            }
        }
    }
    let Some(map_type) = map_type else { return };
    // Defaults the type implies: arrays are indexed by u32, program arrays
    // hold fds, ring buffers have neither keys nor values.
    let (key, value) = match map_type {
        MapType::Ringbuf => (key.unwrap_or(0), value.unwrap_or(0)),
        MapType::ProgArray => (key.unwrap_or(4), value.unwrap_or(4)),
        MapType::Array | MapType::PercpuArray => (key.unwrap_or(4), value.unwrap_or(0)),
        _ => (key.unwrap_or(0), value.unwrap_or(0)),
    };
    let missing = |what: &str| format!("map `{name}` needs `{what} = ...`: {USAGE}");
    if entries.is_none() {
        diag.push(a.span, missing("max_entries"));
    }
    let keyed = !matches!(map_type, MapType::Ringbuf);
    if keyed && key == 0 && !rest.iter().any(|a| a.name == "key") {
        diag.push(a.span, missing("key"));
    }
    if keyed && value == 0 && !rest.iter().any(|a| a.name == "value") {
        diag.push(a.span, missing("value"));
    }
    let spec = MapSpec {
        name: name.to_owned().into(),
        map_type,
        key_size: key,
        value_size: value,
        max_entries: entries.unwrap_or(0),
        flags,
    };
    if diag.clean_since(mark)
        && let Err(reason) = spec.check(None)
    {
        diag.push(first.span, format!("map `{name}`: {reason}"));
    }
    maps.push(spec);
}

/// `key = u32` or `key = 12` (bytes).
fn size<S: Copy>(arg: &AttrArg<'_, S>, diag: &mut Diagnostics<S>) -> Option<u32> {
    let [(v, span)] = arg.value.as_slice() else {
        diag.push(
            arg.span,
            format!("`{} = ...` takes one type or byte count", arg.name),
        );
        return None;
    };
    if let Some(&(_, n)) = TYPES.iter().find(|(t, _)| t == v) {
        return Some(n);
    }
    if v.starts_with(|c: char| c.is_ascii_digit()) {
        return number(arg, diag);
    }
    let near = nearest(v, TYPES.iter().map(|t| t.0), 3);
    diag.push(
        *span,
        format!(
            "unknown type `{v}`: expected an integer type (u8 .. u128, i8 .. i128) or a size in \
             bytes (e.g. `key = 12` for a 12-byte struct){}",
            did_you_mean(&near)
        ),
    );
    None
}

/// A `u32` literal argument.
fn number<S: Copy>(arg: &AttrArg<'_, S>, diag: &mut Diagnostics<S>) -> Option<u32> {
    let [(v, span)] = arg.value.as_slice() else {
        diag.push(arg.span, format!("`{} = ...` takes one number", arg.name));
        return None;
    };
    let digits = v.replace('_', "");
    let parsed = if let Some(hex) = digits.strip_prefix("0x") {
        u32::from_str_radix(hex, 16)
    } else {
        digits.parse()
    };
    match parsed {
        Ok(n) => Some(n),
        Err(_) => {
            diag.push(
                *span,
                format!("`{}` expects a 32-bit unsigned number, not `{v}`", arg.name),
            );
            None
        }
    }
}

/// `flags = no_prealloc | rdonly_prog`.
fn flag_bits<S: Copy>(arg: &AttrArg<'_, S>, diag: &mut Diagnostics<S>) -> u32 {
    let mut bits = 0;
    for &(f, span) in &arg.value {
        match MapSpec::flag_by_name(f) {
            Some(b) => bits |= b,
            None => {
                let all = MapSpec::flag_spellings();
                let near = nearest(f, all.iter().map(String::as_str), 3);
                diag.push(
                    span,
                    format!(
                        "unknown map flag `{f}`: expected {} (the `BPF_F_*` names, in lower \
                         case without the prefix){}",
                        all.join(", "),
                        did_you_mean(&near)
                    ),
                );
            }
        }
    }
    bits
}

/// The declared map `name`, or an error at `span` naming the nearest
/// declared ones. Only called when the program declares maps.
pub(crate) fn lookup<'m, S: Copy>(
    maps: &'m [MapSpec],
    name: &str,
    span: S,
    diag: &mut Diagnostics<S>,
) -> Option<&'m MapSpec> {
    if let Some(m) = maps.iter().find(|m| m.name == name) {
        return Some(m);
    }
    let near = nearest(name, maps.iter().map(|m| &*m.name), 3);
    diag.push(
        span,
        format!(
            "undeclared map `{name}`: a program that declares maps with `#![map(...)]` must \
             declare every map it names{}",
            did_you_mean(&near)
        ),
    );
    None
}

/// Checks `map_value(NAME, off)` against the declaration: the kernel gives
/// value addresses only for array maps of one entry, at an offset inside
/// the value.
pub(crate) fn check_map_value<S: Copy>(
    spec: &MapSpec,
    name_span: S,
    off: Option<(i64, S)>,
    diag: &mut Diagnostics<S>,
) {
    let name = &spec.name;
    if spec.map_type != MapType::Array {
        diag.push(
            name_span,
            format!(
                "`map_value` needs an array map: the kernel gives value addresses only for \
                 arrays; `{name}` is a {} map (look its values up with `call map_lookup_elem`)",
                spec.map_type
            ),
        );
        return;
    }
    if spec.max_entries != 1 {
        diag.push(
            name_span,
            format!(
                "`map_value` needs an array of one entry (`max_entries = 1`): `{name}` has {} \
                 (look up other entries with `call map_lookup_elem`)",
                spec.max_entries
            ),
        );
        return;
    }
    if let Some((off, span)) = off
        && !(0..i64::from(spec.value_size)).contains(&off)
    {
        diag.push(
            span,
            format!(
                "offset {off} is outside the value of map `{name}` ({} bytes): expected 0 to {}",
                spec.value_size,
                spec.value_size.saturating_sub(1)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use bpf_sys::MapType;

    use crate::MapSpec;

    fn errors(src: &str) -> String {
        crate::assemble(src).unwrap_err().to_string()
    }

    const LOOKUP: &str = "
        mov r2, r10
        add r2, -4
        stw [r10 - 4], 0
        lddw r1, map_fd(counts)
        call map_lookup_elem
        mov r0, 0
        exit";

    #[test]
    fn declarations_become_specs() {
        let src = format!(
            "#![map(counts: array, key = u32, value = u64, max_entries = 256)]\n\
             #![map(events: ringbuf, max_entries = 4096)]\n\
             #![map(flows: lru_hash, key = 12, value = u64, max_entries = 0x100, flags = no_common_lru)]\n{LOOKUP}"
        );
        let p = crate::assemble(&src).unwrap();
        assert_eq!(
            p.maps(),
            [
                MapSpec::new("counts", MapType::Array, 4, 8, 256, 0),
                MapSpec::new("events", MapType::Ringbuf, 0, 0, 4096, 0),
                MapSpec::new(
                    "flows",
                    MapType::LruHash,
                    12,
                    8,
                    256,
                    bpf_sys::BPF_F_NO_COMMON_LRU
                ),
            ]
        );
        assert_eq!(p.map_spec("flows").map(|m| m.key_size), Some(12));
    }

    #[test]
    fn undeclared_names_suggest_the_nearest() {
        let src = format!(
            "#![map(counts: array, key = u32, value = u64, max_entries = 2)]\n{}",
            LOOKUP.replace("map_fd(counts)", "map_fd(coutns)")
        );
        let e = errors(&src);
        assert!(
            e.contains("undeclared map `coutns`") && e.contains("did you mean `counts`?"),
            "{e}"
        );
        // Without declarations, any name is left to the loader.
        assert!(crate::assemble(LOOKUP).is_ok());
    }

    #[test]
    fn map_value_needs_a_one_entry_array_and_an_offset_inside() {
        let prog = |decl: &str, off: i32| {
            format!("#![map({decl})]\nlddw r1, map_value(m, {off})\nmov r0, 0\nexit")
        };
        let e = errors(&prog("m: hash, key = u32, value = u64, max_entries = 1", 0));
        assert!(e.contains("`map_value` needs an array map"), "{e}");
        let e = errors(&prog("m: array, value = u64, max_entries = 4", 0));
        assert!(e.contains("array of one entry"), "{e}");
        let e = errors(&prog("m: array, value = u64, max_entries = 1", 8));
        assert!(
            e.contains("offset 8 is outside the value of map `m` (8 bytes)"),
            "{e}"
        );
        assert!(crate::assemble(&prog("m: array, value = u64, max_entries = 1", 7)).is_ok());
    }

    #[test]
    fn bad_declarations() {
        let e =
            errors("#![map(m: hsah, key = u32, value = u64, max_entries = 1)]\nmov r0, 0\nexit");
        assert!(
            e.contains("unknown map type `hsah`") && e.contains("did you mean `hash`?"),
            "{e}"
        );
        let e = errors("#![map(m: hash, key = u32, value = u64)]\nmov r0, 0\nexit");
        assert!(e.contains("needs `max_entries = ...`"), "{e}");
        let e = errors("#![map(m: hash, key = u32, max_entries = 4)]\nmov r0, 0\nexit");
        assert!(e.contains("needs `value = ...`"), "{e}");
        let e = errors("#![map(m: ringbuf, max_entries = 5000)]\nmov r0, 0\nexit");
        assert!(e.contains("power of two"), "{e}");
        let e =
            errors("#![map(m: array, key = u64, value = u8, max_entries = 1)]\nmov r0, 0\nexit");
        assert!(e.contains("take 4-byte keys"), "{e}");
        let e = errors("#![map(m: hash, key = u23, value = u8, max_entries = 1)]\nmov r0, 0\nexit");
        assert!(e.contains("did you mean `u32`"), "{e}");
        let e = errors(
            "#![map(m: hash, key = u32, value = u8, max_entries = 1, flags = no_prealoc)]\nmov r0, 0\nexit",
        );
        assert!(
            e.contains("did you mean `NO_PREALLOC`") || e.contains("no_prealoc"),
            "{e}"
        );
        let e = errors(
            "#![map(m: array, value = u8, max_entries = 1)]\n#![map(m: array, value = u8, max_entries = 1)]\nmov r0, 0\nexit",
        );
        assert!(e.contains("declared twice"), "{e}");
        let e = errors("#![map(m: hash, kye = u32, value = u8, max_entries = 1)]\nmov r0, 0\nexit");
        assert!(e.contains("did you mean `key`?"), "{e}");
    }

    #[test]
    fn the_checks_know_the_key_size() {
        // An 8-byte key at r10 - 4 reaches past the frame pointer.
        let src =
            format!("#![map(counts: hash, key = u64, value = u64, max_entries = 2)]\n{LOOKUP}");
        let e = errors(&src);
        assert!(e.contains("the key of map `counts` is 8 bytes"), "{e}");
        // A 4-byte key there is fine.
        let src =
            format!("#![map(counts: hash, key = u32, value = u64, max_entries = 2)]\n{LOOKUP}");
        assert!(crate::assemble(&src).is_ok());
        // Unprivileged: the key bytes must be written.
        let src = format!(
            "#![unprivileged]\n#![map(counts: hash, key = u64, value = u64, max_entries = 2)]\n{}",
            LOOKUP
                .replace("add r2, -4", "add r2, -16")
                .replace("stw [r10 - 4], 0", "stw [r10 - 16], 0")
        );
        let e = errors(&src);
        assert!(e.contains("reads stack [r10 - 12]"), "{e}");
    }
}
