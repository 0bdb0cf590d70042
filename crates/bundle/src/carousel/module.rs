//! A module on air: its bytes compressed (or not), and how long it occupies the carousel.
//!
//! Compression is raw DEFLATE from miniz_oxide at a fixed level, called directly rather than
//! through flate2, whose backend can change with a feature another crate turns on: the same
//! module must compress to the same bytes in every build with the same lockfile.

use crate::manifest::Compression;

/// The DEFLATE level: the best miniz_oxide has; modules are small, so time is not the limit.
pub const LEVEL: u8 = 9;

/// Encodes a module's raw bytes for air: DEFLATE when that makes it smaller, else stored.
pub fn encode(raw: &[u8]) -> (Vec<u8>, Compression) {
    let packed = miniz_oxide::deflate::compress_to_vec(raw, LEVEL);
    if packed.len() < raw.len() {
        (packed, Compression::Deflate)
    } else {
        (raw.to_vec(), Compression::None)
    }
}

/// Why a module's air bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The DEFLATE stream is corrupt or longer than the module's stated size.
    #[error("the module does not inflate to {expected} bytes")]
    Corrupt {
        /// The manifest's raw size.
        expected: u64,
    },
}

/// Decodes air bytes back to the raw module, refusing anything that inflates past `size`.
pub fn decode(air: &[u8], compression: Compression, size: u64) -> Result<Vec<u8>, DecodeError> {
    let bad = DecodeError::Corrupt { expected: size };
    let raw = match compression {
        Compression::None => air.to_vec(),
        Compression::Deflate => {
            let limit = usize::try_from(size).map_err(|_| bad.clone())?;
            miniz_oxide::inflate::decompress_to_vec_with_limit(air, limit)
                .map_err(|_| bad.clone())?
        }
    };
    if raw.len() as u64 == size {
        Ok(raw)
    } else {
        Err(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_stored_fallback() {
        let text = "{\"screen\":\"home\"}".repeat(200);
        let (air, c) = encode(text.as_bytes());
        assert_eq!(c, Compression::Deflate);
        assert!(air.len() < text.len() / 10);
        assert_eq!(decode(&air, c, text.len() as u64).unwrap(), text.as_bytes());
        let noise: Vec<u8> = (0u32..300)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let (air, c) = encode(&noise);
        assert_eq!(c, Compression::None);
        assert_eq!(air, noise);
        assert!(decode(&[1, 2, 3], Compression::Deflate, 10).is_err());
    }
}
