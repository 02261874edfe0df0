//! The ring buffer consumer (`BPF_MAP_TYPE_RINGBUF`, Linux 5.8).

use std::fmt;
use std::ops::Deref;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use super::{Map, MapBuilder};
use crate::MapType;
use crate::error::{Error, Result, Syscall};
use crate::sys::{self, RingMmap};

const BUSY: u32 = bpf_sys::BPF_RINGBUF_BUSY_BIT;
const DISCARD: u32 = bpf_sys::BPF_RINGBUF_DISCARD_BIT;
const HDR: u64 = bpf_sys::BPF_RINGBUF_HDR_SZ as u64;

/// The consumer side of a ring buffer map: programs write records with
/// `call ringbuf_output` (or `ringbuf_reserve` / `ringbuf_submit`), user
/// space reads them here in the order they were committed.
///
/// The consumer and producer pages and the data area are mapped once, when
/// the handle is made; waiting uses `epoll` with a timeout. A record is a
/// borrowed slice ([`RingBufRecord`]): the space it occupies goes back to
/// the producer when the record is dropped, and the borrow checker stops a
/// record from outliving that (or from being held while the next is read).
/// Records the producer discarded are skipped.
///
/// The kernel counts no drops for user space: when a program's
/// `ringbuf_reserve` fails (the buffer is full) it must count the loss
/// itself, in a map (the `events` example does); [`RingBuf::pending`] shows
/// how full the buffer is.
///
/// ```no_run
/// use std::time::Duration;
/// use bpf_loader::RingBuf;
///
/// let mut events = RingBuf::create("events", 64 * 1024)?;
/// // ... load a program that writes to it (`.map("events", &events)`) ...
/// while let Some(record) = events.next_timeout(Some(Duration::from_secs(1)))? {
///     println!("{} bytes: {:02x?}", record.len(), &record[..]);
/// }
/// # Ok::<(), bpf_loader::Error>(())
/// ```
pub struct RingBuf {
    // `mmap` is dropped (unmapped) before `map` closes the fd.
    mmap: RingMmap,
    epoll: OwnedFd,
    map: Map,
}

impl fmt::Debug for RingBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingBuf")
            .field("map", &self.map.describe())
            .field("pending", &self.pending())
            .finish()
    }
}

impl TryFrom<Map> for RingBuf {
    type Error = Error;

    /// Maps the ring buffer's pages and registers it with a new epoll
    /// instance.
    fn try_from(map: Map) -> Result<Self> {
        map.check_types(&[MapType::Ringbuf], 0, 0, "RingBuf")?;
        let size = map.max_entries() as usize;
        let mmap = RingMmap::new(map.as_fd(), size)
            .map_err(|e| Error::map_call(Syscall::Mmap, map.describe(), e))?;
        let epoll = sys::epoll_for(map.as_fd())
            .map_err(|e| Error::map_call(Syscall::Epoll, map.describe(), e))?;
        Ok(RingBuf { mmap, epoll, map })
    }
}

impl RingBuf {
    /// Creates a ring buffer of `size` bytes (a power-of-two multiple of
    /// the page size) and maps it.
    ///
    /// # Errors
    ///
    /// As [`MapBuilder::create`]; [`Error::MapSyscall`] if the mapping
    /// fails.
    pub fn create(name: &str, size: u32) -> Result<Self> {
        MapBuilder::new(MapType::Ringbuf)
            .name(name)
            .max_entries(size)
            .create()?
            .try_into()
    }

    /// The untyped handle.
    pub fn map(&self) -> &Map {
        &self.map
    }

    /// The data area's size in bytes.
    pub fn size(&self) -> usize {
        self.mmap.size()
    }

    /// Bytes written by the producer and not consumed yet (records and
    /// their 8-byte headers).
    pub fn pending(&self) -> usize {
        let p = self.mmap.producer_pos();
        let c = self.mmap.consumer_pos();
        usize::try_from(p.saturating_sub(c)).unwrap_or(usize::MAX)
    }

    /// The next committed record, without waiting; `None` when there is
    /// none yet (or the next is still being written). Discarded records are
    /// skipped.
    #[allow(clippy::should_implement_trait)] // a lending iterator, not `Iterator`
    pub fn next(&mut self) -> Option<RingBufRecord<'_>> {
        let (pos, len) = self.head()?;
        Some(RingBufRecord {
            mmap: &mut self.mmap,
            pos,
            len,
        })
    }

    /// The position and length of the next committed record, having
    /// skipped discarded ones.
    fn head(&mut self) -> Option<(u64, usize)> {
        let producer = self.mmap.producer_pos();
        let mut pos = self.mmap.consumer_pos();
        while pos < producer {
            let (len, discarded) = self.header(pos)?;
            if !discarded {
                return Some((pos, len));
            }
            pos = advance(pos, len);
            self.mmap.set_consumer_pos(pos);
        }
        None
    }

    /// The header of the record at `pos`: its length and whether it was
    /// discarded; `None` while the producer is still writing it.
    fn header(&self, pos: u64) -> Option<(usize, bool)> {
        let h = self.mmap.header(pos);
        if h & BUSY != 0 {
            return None;
        }
        Some(((h & !(BUSY | DISCARD)) as usize, h & DISCARD != 0))
    }

    /// Waits until a record may be ready, at most `timeout` (`None`: for
    /// ever); `Ok(false)` on timeout.
    ///
    /// # Errors
    ///
    /// [`Error::MapSyscall`] with [`Syscall::Epoll`].
    pub fn wait(&self, timeout: Option<Duration>) -> Result<bool> {
        if self.pending() > 0 {
            return Ok(true);
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let ms = match deadline {
                None => -1,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    i32::try_from(left.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX)
                }
            };
            match sys::epoll_wait(self.epoll.as_fd(), ms) {
                Ok(ready) => return Ok(ready || self.pending() > 0),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Ok(false);
                    }
                }
                Err(e) => return Err(Error::map_call(Syscall::Epoll, self.map.describe(), e)),
            }
        }
    }

    /// The next record, waiting at most `timeout` for one; `Ok(None)` on
    /// timeout.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
    pub fn next_timeout(&mut self, timeout: Option<Duration>) -> Result<Option<RingBufRecord<'_>>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if self.head().is_some() {
                return Ok(self.next());
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) || !self.wait(left)? {
                // One last look: a record may have landed right at the end.
                return Ok(self.next());
            }
            if self.pending() > 0 && self.head().is_none() {
                // A record is being written: give the producer a moment.
                std::thread::yield_now();
            }
        }
    }

    /// Calls `f` on every committed record available now, in order, then
    /// gives their space back to the producer at once; returns how many
    /// there were. Faster than [`next`](Self::next) for bursts.
    pub fn drain(&mut self, mut f: impl FnMut(&[u8])) -> usize {
        let producer = self.mmap.producer_pos();
        let mut pos = self.mmap.consumer_pos();
        let mut n = 0;
        while pos < producer {
            let Some((len, discarded)) = self.header(pos) else {
                break;
            };
            if !discarded {
                f(self.mmap.record(pos, len));
                n += 1;
            }
            pos = advance(pos, len);
        }
        self.mmap.set_consumer_pos(pos);
        n
    }
}

/// The position after a record of `len` bytes at `pos`: header plus data,
/// rounded up to 8.
fn advance(pos: u64, len: usize) -> u64 {
    pos + (HDR + len as u64).next_multiple_of(8)
}

impl AsFd for RingBuf {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.map.as_fd()
    }
}

/// One record of a [`RingBuf`], borrowed from it: its bytes (`Deref` to
/// `[u8]`). Dropping it gives its space back to the producer.
pub struct RingBufRecord<'a> {
    mmap: &'a mut RingMmap,
    pos: u64,
    len: usize,
}

impl Deref for RingBufRecord<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.mmap.record(self.pos, self.len)
    }
}

impl fmt::Debug for RingBufRecord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingBufRecord")
            .field("pos", &self.pos)
            .field("bytes", &&**self)
            .finish()
    }
}

impl Drop for RingBufRecord<'_> {
    fn drop(&mut self) {
        self.mmap.set_consumer_pos(advance(self.pos, self.len));
    }
}
