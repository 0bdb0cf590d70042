//! Blocks: how a module is cut for the air and what each cut costs.
//!
//! A module is carried in DownloadDataBlock (DDB) messages of at most [`BLOCK_PAYLOAD`] bytes,
//! each in one DSM-CC section, each section in 188-byte MPEG-2 transport stream packets. The
//! overheads counted here:
//!
//! - per section: 8 bytes of section header, 12 of `dsmccDownloadDataHeader`, 6 of DDB header
//!   (moduleId, moduleVersion, reserved, blockNumber), 4 of CRC-32: [`SECTION_OVERHEAD`] = 30,
//!   so a full block makes a 4,096-byte section, the largest DSM-CC allows;
//! - per packet: 4 bytes of TS header; a section starts in a fresh packet with a 1-byte
//!   `pointer_field`, and the last packet's tail is stuffing (sections are not packed together,
//!   the conservative choice).
//!
//! A full block therefore takes 23 packets, 4,324 bytes on air (6.3% over its payload).

/// The most payload bytes one DDB carries (4,096-byte section less its 30 bytes of headers).
pub const BLOCK_PAYLOAD: u64 = 4066;
/// Section header, download data header, DDB header and CRC-32 of one block.
pub const SECTION_OVERHEAD: u64 = 30;
/// A transport stream packet.
pub const TS_PACKET: u64 = 188;
/// A transport stream packet's payload.
pub const TS_PAYLOAD: u64 = 184;

/// Transport stream bytes for one section of `section_len` bytes starting in a fresh packet.
pub fn section_air_bytes(section_len: u64) -> u64 {
    (section_len + 1).div_ceil(TS_PAYLOAD) * TS_PACKET
}

/// How many blocks a module of `size` bytes needs (an empty module needs none).
pub fn blocks(size: u64) -> u64 {
    size.div_ceil(BLOCK_PAYLOAD)
}

/// Transport stream bytes that carry a module of `size` bytes once.
pub fn module_air_bytes(size: u64) -> u64 {
    let full = size / BLOCK_PAYLOAD;
    let rest = size % BLOCK_PAYLOAD;
    let mut bytes = full * section_air_bytes(BLOCK_PAYLOAD + SECTION_OVERHEAD);
    if rest > 0 {
        bytes += section_air_bytes(rest + SECTION_OVERHEAD);
    }
    bytes
}

/// Transport stream bytes of one DownloadInfoIndication describing `modules` modules: section
/// and download headers (20), DII fields (20), per module id, size, version, info length and
/// a 24-byte BIOP module info with the compressed-module descriptor (32), private data length
/// (2), CRC-32 (4). Long DIIs are counted as one section; real ones split at 4,096 bytes at a
/// cost of a few bytes more.
pub fn dii_air_bytes(modules: u64) -> u64 {
    section_air_bytes(20 + 20 + 32 * modules + 2 + 4)
}

/// Transport stream bytes of one DownloadServerInitiate (the carousel's entry point): one
/// packet.
pub const DSI_AIR_BYTES: u64 = TS_PACKET;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_block_fills_23_packets() {
        assert_eq!(module_air_bytes(BLOCK_PAYLOAD), 23 * 188);
        assert_eq!(module_air_bytes(0), 0);
        assert_eq!(module_air_bytes(1), 188);
        assert_eq!(module_air_bytes(BLOCK_PAYLOAD + 1), 23 * 188 + 188);
        assert_eq!(blocks(65536), 17);
    }
}
