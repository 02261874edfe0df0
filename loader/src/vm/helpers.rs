//! The helpers the interpreter implements, with the kernel's argument
//! checks and return values: the map helpers, `skb_load_bytes`, the ring
//! buffer, `trace_printk`, `ktime_get_ns`, `get_prandom_u32`,
//! `get_smp_processor_id`, `tail_call`. Any other helper runs a closure
//! given with [`Vm::helper`](super::Vm::helper), or is an error naming it.

use bpf_sys as k;

use super::exec::Failed;
use super::exec::{self, Machine};
use super::mem::{self, Fault, Kind, Region};
use super::{VmError, VmErrorKind};

/// A call of a user-supplied helper: its arguments and the program's
/// memory, checked like the program's own accesses.
pub struct HelperCall<'m> {
    machine: &'m mut dyn Memory,
    /// r1 to r5.
    pub args: [u64; 5],
}

/// What a helper closure may do with the program's memory.
trait Memory {
    fn bytes(&mut self, addr: u64, len: usize, write: bool) -> Result<&mut [u8], Fault>;
}

impl Memory for Machine<'_, '_> {
    fn bytes(&mut self, addr: u64, len: usize, write: bool) -> Result<&mut [u8], Fault> {
        self.slice(addr, len, write)
    }
}

impl HelperCall<'_> {
    /// Reads `len` bytes the program passed a pointer to.
    ///
    /// # Errors
    ///
    /// The address is not in memory the program may read.
    pub fn read(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, String> {
        self.machine
            .bytes(addr, len, false)
            .map(|b| b.to_vec())
            .map_err(|f| format!("{f:?}"))
    }

    /// Writes `bytes` where the program passed a pointer to.
    ///
    /// # Errors
    ///
    /// The address is not in memory the program may write.
    pub fn write(&mut self, addr: u64, bytes: &[u8]) -> Result<(), String> {
        self.machine
            .bytes(addr, bytes.len(), true)
            .map(|b| b.copy_from_slice(bytes))
            .map_err(|f| format!("{f:?}"))
    }
}

const EFAULT: u64 = (-libc::EFAULT as i64) as u64;
const EINVAL: u64 = (-libc::EINVAL as i64) as u64;
const EAGAIN: u64 = (-libc::EAGAIN as i64) as u64;

fn err(m: &Machine<'_, '_>, pc: usize, msg: String) -> Failed {
    Box::new(VmError {
        kind: VmErrorKind::Helper(msg),
        slot: Some(pc),
        source_line: m.code.prog.source_of(pc).cloned(),
    })
}

/// The bytes of a pointer argument, or the error the verifier would give.
fn arg_bytes(
    m: &mut Machine<'_, '_>,
    pc: usize,
    name: &str,
    arg: usize,
    addr: u64,
    len: usize,
) -> Result<Vec<u8>, Failed> {
    match m.slice(addr, len, false) {
        Ok(b) => Ok(b.to_vec()),
        Err(f) => Err(err(
            m,
            pc,
            format!("`{name}`: argument {arg} must point at {len} readable bytes ({f:?})"),
        )),
    }
}

fn map_arg(m: &Machine<'_, '_>, pc: usize, name: &str, ptr: u64) -> Result<usize, Failed> {
    m.map_of(ptr).ok_or_else(|| {
        err(
            m,
            pc,
            format!("`{name}`: r1 must be a map (`lddw r1, map_fd(NAME)`)"),
        )
    })
}

#[inline(never)]
pub(crate) fn call(
    m: &mut Machine<'_, '_>,
    pc: usize,
    id: u32,
    a: [u64; 5],
) -> Result<u64, Failed> {
    let name = k::helper_name(id).unwrap_or("?");
    if let Some(mut f) = m.vm.closures.remove(&id) {
        let mut call = HelperCall {
            machine: m,
            args: a,
        };
        let r = f(&mut call);
        m.vm.closures.insert(id, f);
        return r.map_err(|e| err(m, pc, format!("`{name}`: {e}")));
    }
    match id {
        k::BPF_FUNC_map_lookup_elem => {
            let map = map_arg(m, pc, name, a[0])?;
            let ks = m.maps[map].key_size();
            let key = arg_bytes(m, pc, name, 2, a[1], ks)?;
            Ok(match m.maps[map].find(&key) {
                Some(slot) if m.maps[map].value_mut(slot).is_some() => m.value_region(map, slot),
                _ => 0,
            })
        }
        k::BPF_FUNC_map_update_elem => {
            let map = map_arg(m, pc, name, a[0])?;
            let (ks, vs) = (m.maps[map].key_size(), m.maps[map].value_size());
            let key = arg_bytes(m, pc, name, 2, a[1], ks)?;
            let value = arg_bytes(m, pc, name, 3, a[2], vs)?;
            Ok(match m.maps[map].update(&key, &value, a[3]) {
                Ok(()) => 0,
                Err(e) => e.errno() as u64,
            })
        }
        k::BPF_FUNC_map_delete_elem => {
            let map = map_arg(m, pc, name, a[0])?;
            let ks = m.maps[map].key_size();
            let key = arg_bytes(m, pc, name, 2, a[1], ks)?;
            Ok(match m.maps[map].delete(&key) {
                Ok(()) => 0,
                Err(e) => e.errno() as u64,
            })
        }
        k::BPF_FUNC_skb_load_bytes => {
            // (skb, offset, to, len): the bytes from the data start.
            let (off, to, len) = (a[1] as u32, a[2], a[3] as u32 as usize);
            if a[0] != mem::base(exec::CTX) {
                return Err(err(m, pc, format!("`{name}`: r1 must be the context")));
            }
            if len == 0 {
                return Err(err(
                    m,
                    pc,
                    format!("`{name}`: the length (r4) must not be 0"),
                ));
            }
            let data = m.skb.data();
            let src = (off <= 0xffff)
                .then(|| data.get(off as usize..off as usize + len))
                .flatten();
            let out = match m.slice(to, len, true) {
                Ok(b) => b,
                Err(f) => {
                    return Err(err(
                        m,
                        pc,
                        format!("`{name}`: r3 must point at {len} writable bytes ({f:?})"),
                    ));
                }
            };
            match src {
                Some(s) => {
                    out.copy_from_slice(s);
                    Ok(0)
                }
                None => {
                    out.fill(0);
                    Ok(EFAULT)
                }
            }
        }
        k::BPF_FUNC_ringbuf_output => {
            let map = map_arg(m, pc, name, a[0])?;
            let data = arg_bytes(m, pc, name, 2, a[1], a[2] as usize)?;
            let ring = &mut m.maps[map];
            match ring.reserve(data.len()) {
                Some(id) => {
                    if let Some(r) = ring.record_mut(id) {
                        r.copy_from_slice(&data);
                    }
                    ring.finish_record(id, true);
                    Ok(0)
                }
                None => Ok(EAGAIN),
            }
        }
        k::BPF_FUNC_ringbuf_reserve => {
            let map = map_arg(m, pc, name, a[0])?;
            if a[2] != 0 {
                return Ok(0);
            }
            match m.maps[map].reserve(a[1] as usize) {
                Some(id) => {
                    m.regions.push(Region {
                        kind: Kind::Record { map, id },
                        bytes: Vec::new(),
                    });
                    Ok(mem::base(m.regions.len() - 1))
                }
                None => Ok(0),
            }
        }
        k::BPF_FUNC_ringbuf_submit | k::BPF_FUNC_ringbuf_discard => {
            let submit = id == k::BPF_FUNC_ringbuf_submit;
            let record = mem::split(a[0]).and_then(|(i, off)| match m.regions.get(i)?.kind {
                Kind::Record { map, id } if off == 0 => Some((map, id)),
                _ => None,
            });
            let Some((map, rid)) = record else {
                return Err(err(
                    m,
                    pc,
                    format!("`{name}`: r1 must be a record from `ringbuf_reserve`"),
                ));
            };
            if !m.maps[map].finish_record(rid, submit) {
                return Err(err(
                    m,
                    pc,
                    format!("`{name}`: the record was already submitted or discarded"),
                ));
            }
            Ok(0)
        }
        k::BPF_FUNC_trace_printk => {
            let fmt = arg_bytes(m, pc, name, 1, a[0], a[1] as usize)?;
            let text = printk(&fmt, &a[2..5]);
            let n = text.len() as u64;
            m.vm.env.trace.push(text);
            Ok(n)
        }
        k::BPF_FUNC_ktime_get_ns => Ok(m.vm.env.ktime_ns),
        k::BPF_FUNC_get_prandom_u32 => {
            // xorshift64*: deterministic, settable with `set_prandom_seed`.
            let mut x = m.vm.env.prandom;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            m.vm.env.prandom = x;
            Ok(u64::from(
                (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32,
            ))
        }
        k::BPF_FUNC_get_smp_processor_id => Ok(u64::from(m.vm.env.cpu)),
        k::BPF_FUNC_tail_call => {
            let map = map_arg(m, pc, name, a[1])?;
            if m.maps[map].map_type() != k::MapType::ProgArray {
                return Err(err(m, pc, format!("`{name}`: r2 must be a program array")));
            }
            // A failed tail call falls through to the next instruction.
            if let Some(code) = exec::tail_target(m, map, a[2] & 0xffff_ffff)
                && m.count_tail_call()
            {
                m.tail = Some(code);
            }
            Ok(0)
        }
        _ => {
            let _ = EINVAL;
            Err(Box::new(VmError {
                kind: VmErrorKind::UnknownHelper(name.to_owned()),
                slot: Some(pc),
                source_line: m.code.prog.source_of(pc).cloned(),
            }))
        }
    }
}

/// `bpf_trace_printk`'s formatting of up to three arguments: `%d %i %u %x
/// %lld %llu %llx %ld %lu %lx %p %%` and `%c`.
fn printk(fmt: &[u8], args: &[u64]) -> String {
    let fmt = fmt.split(|&b| b == 0).next().unwrap_or(&[]);
    let fmt = String::from_utf8_lossy(fmt);
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut long = 0;
        while chars.peek() == Some(&'l') {
            long += 1;
            chars.next();
        }
        let Some(conv) = chars.next() else { break };
        if conv == '%' {
            out.push('%');
            continue;
        }
        let v = args.next().copied().unwrap_or(0);
        let v32 = v as u32;
        let s = match (conv, long) {
            ('d' | 'i', 0) => (v32 as i32).to_string(),
            ('d' | 'i', _) => (v as i64).to_string(),
            ('u', 0) => v32.to_string(),
            ('u', _) => v.to_string(),
            ('x', 0) => format!("{v32:x}"),
            ('x', _) => format!("{v:x}"),
            ('p', _) => format!("{v:#x}"),
            ('c', _) => char::from(v as u8).to_string(),
            (other, _) => format!("%{other}"),
        };
        out.push_str(&s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::printk;

    #[test]
    fn printk_formats() {
        assert_eq!(
            printk(b"x=%d y=%llx %u%%\0junk", &[u64::MAX, 255, 7]),
            "x=-1 y=ff 7%"
        );
    }
}
