//! Capture files: pcap and pcapng, as tcpdump, tshark and Wireshark read
//! them, with nanosecond timestamps and the packets' original lengths.
//!
//! The formats are written by the `pcap-file` crate; this module picks the
//! header fields a live capture needs (link type, snap length, timestamp
//! resolution, interface name) so that every file it writes is one those
//! tools read back with the right times and lengths.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::{DataLink, Endianness, PcapError, TsResolution};

use crate::error::{Error, Result};
use crate::ring::RingPacket;

/// The snap length written when none is given: tcpdump's default
/// (`MAXIMUM_SNAPLEN`), more than any `lo` frame.
const DEFAULT_SNAPLEN: u32 = 262_144;

/// The format of a capture file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CaptureFormat {
    /// Classic pcap, nanosecond variant (magic `0xa1b23c4d`), as
    /// `tcpdump -w` writes with `--time-stamp-precision=nano`.
    Pcap,
    /// pcapng: a section header, one interface description (link type,
    /// snap length, name, `if_tsresol` = 9 for nanoseconds), and one
    /// enhanced packet block per packet.
    PcapNg,
}

impl CaptureFormat {
    /// The format a file name asks for: `.pcapng` (or `.ntar`) is pcapng,
    /// `.pcap` (or `.cap`) is pcap, any other extension none.
    pub fn from_path(path: impl AsRef<Path>) -> Option<Self> {
        let ext = path.as_ref().extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "pcapng" | "ntar" => Some(CaptureFormat::PcapNg),
            "pcap" | "cap" => Some(CaptureFormat::Pcap),
            _ => None,
        }
    }
}

enum Inner<W: Write> {
    Pcap(PcapWriter<W>),
    PcapNg(PcapNgWriter<W>),
}

/// Writes captured packets to a pcap or pcapng file, with link type
/// Ethernet (`LINKTYPE_ETHERNET`, what an `AF_PACKET` socket on `lo` or an
/// Ethernet interface delivers), nanosecond timestamps, and each packet's
/// original length beside the bytes captured.
///
/// ```no_run
/// use std::time::Duration;
/// use bpf_loader::{CaptureFormat, CaptureWriter, PacketRing};
///
/// let mut ring = PacketRing::bind("lo")?;
/// let mut file = CaptureWriter::create("lo.pcapng", CaptureFormat::PcapNg, None, Some("lo"))?;
/// if let Some(block) = ring.next_block(Some(Duration::from_secs(1)))? {
///     for packet in &block {
///         file.write_ring_packet(&packet)?;
///     }
/// }
/// file.finish()?;
/// // tcpdump -r lo.pcapng
/// # Ok::<(), bpf_loader::Error>(())
/// ```
pub struct CaptureWriter<W: Write = BufWriter<File>> {
    inner: Inner<W>,
    file: String,
    snaplen: u32,
    packets: u64,
}

impl<W: Write> std::fmt::Debug for CaptureWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureWriter")
            .field("file", &self.file)
            .field("snaplen", &self.snaplen)
            .field("packets", &self.packets)
            .finish_non_exhaustive()
    }
}

fn pcap_io(e: PcapError) -> io::Error {
    match e {
        PcapError::IoError(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}

impl CaptureWriter<BufWriter<File>> {
    /// Creates (or truncates) the file at `path` and writes the header.
    /// `snaplen` is the longest packet the file declares (default 262144):
    /// longer packets are cut to it, keeping their original length.
    /// `interface` names the capture interface in a pcapng file.
    ///
    /// # Errors
    ///
    /// [`Error::CaptureFile`] if the file cannot be created or written.
    pub fn create(
        path: impl AsRef<Path>,
        format: CaptureFormat,
        snaplen: Option<u32>,
        interface: Option<&str>,
    ) -> Result<Self> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = File::create(path).map_err(|source| Error::CaptureFile {
            file: name.clone(),
            source,
        })?;
        let mut writer = CaptureWriter::new(BufWriter::new(file), format, snaplen, interface)?;
        writer.file = name;
        Ok(writer)
    }
}

impl<W: Write> CaptureWriter<W> {
    /// Writes the header of a `format` capture to `writer`; see
    /// [`create`](CaptureWriter::create).
    ///
    /// # Errors
    ///
    /// [`Error::CaptureFile`] (naming `<writer>`) if writing fails.
    pub fn new(
        writer: W,
        format: CaptureFormat,
        snaplen: Option<u32>,
        interface: Option<&str>,
    ) -> Result<Self> {
        let snaplen = snaplen.unwrap_or(DEFAULT_SNAPLEN).max(1);
        let fail = |source| Error::CaptureFile {
            file: "<writer>".into(),
            source,
        };
        let inner = match format {
            CaptureFormat::Pcap => {
                let header = PcapHeader {
                    snaplen,
                    datalink: DataLink::ETHERNET,
                    ts_resolution: TsResolution::NanoSecond,
                    endianness: Endianness::native(),
                    ..PcapHeader::default()
                };
                Inner::Pcap(PcapWriter::with_header(writer, header).map_err(|e| fail(pcap_io(e)))?)
            }
            CaptureFormat::PcapNg => {
                let mut w = PcapNgWriter::new(writer).map_err(|e| fail(pcap_io(e)))?;
                let mut options = vec![InterfaceDescriptionOption::IfTsResol(9)];
                if let Some(name) = interface {
                    options.push(InterfaceDescriptionOption::IfName(Cow::Owned(
                        name.to_owned(),
                    )));
                }
                // pcap-file writes an enhanced packet block's timestamp as
                // nanoseconds whatever the interface says; `if_tsresol` = 9
                // tells readers so.
                w.write_pcapng_block(InterfaceDescriptionBlock {
                    linktype: DataLink::ETHERNET,
                    snaplen,
                    options,
                })
                .map_err(|e| fail(pcap_io(e)))?;
                Inner::PcapNg(w)
            }
        };
        Ok(CaptureWriter {
            inner,
            file: "<writer>".into(),
            snaplen,
            packets: 0,
        })
    }

    /// The snap length declared in the header.
    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    /// How many packets were written.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Writes one packet: its arrival time (since the Unix epoch), its
    /// original length, and the bytes captured (cut to the snap length).
    ///
    /// # Errors
    ///
    /// [`Error::CaptureFile`] if writing fails.
    pub fn write(&mut self, timestamp: Duration, original_len: usize, data: &[u8]) -> Result<()> {
        let data = &data[..data.len().min(self.snaplen as usize)];
        // A packet's original length is at least what was captured.
        let orig_len = u32::try_from(original_len.max(data.len())).unwrap_or(u32::MAX);
        let written = match &mut self.inner {
            Inner::Pcap(w) => w
                .write_packet(&PcapPacket::new(timestamp, orig_len, data))
                .map(drop),
            Inner::PcapNg(w) => w
                .write_pcapng_block(EnhancedPacketBlock {
                    interface_id: 0,
                    timestamp,
                    original_len: orig_len,
                    data: Cow::Borrowed(data),
                    options: vec![],
                })
                .map(drop),
        };
        written.map_err(|e| Error::CaptureFile {
            file: self.file.clone(),
            source: pcap_io(e),
        })?;
        self.packets += 1;
        Ok(())
    }

    /// Writes a packet received on a [`PacketRing`](crate::PacketRing):
    /// [`write`](Self::write) with its timestamp, length and data.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    pub fn write_ring_packet(&mut self, packet: &RingPacket<'_>) -> Result<()> {
        self.write(packet.timestamp(), packet.len(), packet.data())
    }

    /// Flushes and returns the underlying writer (for a file, closing it
    /// when dropped). Dropping a `CaptureWriter` without calling this also
    /// flushes, but loses the error.
    ///
    /// # Errors
    ///
    /// [`Error::CaptureFile`] if the flush fails.
    pub fn finish(self) -> Result<W> {
        let file = self.file;
        let mut w = match self.inner {
            Inner::Pcap(w) => w.into_writer(),
            Inner::PcapNg(w) => w.into_inner(),
        };
        w.flush()
            .map_err(|source| Error::CaptureFile { file, source })?;
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::pcap::PcapReader;
    use pcap_file::pcapng::{Block, PcapNgReader};

    #[test]
    fn formats_from_file_names() {
        assert_eq!(
            CaptureFormat::from_path("a.pcap"),
            Some(CaptureFormat::Pcap)
        );
        assert_eq!(
            CaptureFormat::from_path("x/a.PCAPNG"),
            Some(CaptureFormat::PcapNg)
        );
        assert_eq!(CaptureFormat::from_path("a.txt"), None);
        assert_eq!(CaptureFormat::from_path("pcap"), None);
    }

    const FRAME: [u8; 20] = [7; 20];

    #[test]
    fn pcap_round_trip_keeps_nanoseconds_and_lengths() {
        let mut w = CaptureWriter::new(Vec::new(), CaptureFormat::Pcap, Some(16), None).unwrap();
        let ts = Duration::new(1_700_000_000, 123_456_789);
        w.write(ts, 1000, &FRAME).unwrap();
        w.write(ts, 10, &FRAME[..10]).unwrap();
        assert_eq!(w.packets(), 2);
        let bytes = w.finish().unwrap();
        assert_eq!(bytes[..4], 0xa1b2_3c4du32.to_ne_bytes());
        let mut r = PcapReader::new(&bytes[..]).unwrap();
        assert_eq!(r.header().snaplen, 16);
        assert_eq!(r.header().datalink, DataLink::ETHERNET);
        // The raw reader: pcap-file's checked one refuses orig_len > snaplen,
        // which the format (and tcpdump) allow.
        let p = r.next_raw_packet().unwrap().unwrap();
        assert_eq!((p.ts_sec, p.ts_frac), (1_700_000_000, 123_456_789));
        assert_eq!((p.orig_len, p.incl_len, p.data.len()), (1000, 16, 16));
        let p = r.next_raw_packet().unwrap().unwrap();
        assert_eq!((p.orig_len, p.incl_len), (10, 10));
        assert!(r.next_raw_packet().is_none());
    }

    #[test]
    fn pcapng_declares_nanoseconds_and_the_interface() {
        let mut w =
            CaptureWriter::new(Vec::new(), CaptureFormat::PcapNg, None, Some("lo")).unwrap();
        let ts = Duration::new(1_700_000_000, 987_654_321);
        w.write(ts, 60, &FRAME).unwrap();
        let bytes = w.finish().unwrap();
        let mut r = PcapNgReader::new(&bytes[..]).unwrap();
        let Block::InterfaceDescription(idb) = r.next_block().unwrap().unwrap() else {
            panic!("no interface description first");
        };
        assert_eq!(idb.linktype, DataLink::ETHERNET);
        assert!(
            idb.options
                .contains(&InterfaceDescriptionOption::IfTsResol(9))
        );
        assert!(
            idb.options
                .contains(&InterfaceDescriptionOption::IfName(Cow::Borrowed("lo")))
        );
        let Block::EnhancedPacket(epb) = r.next_block().unwrap().unwrap() else {
            panic!("no packet");
        };
        assert_eq!(
            (epb.timestamp, epb.original_len, epb.data.len()),
            (ts, 60, 20)
        );
    }
}
