//! zstd, behind this one module: the content of a text snapshot as it is stored.
//!
//! The original length is stored beside the compressed bytes, so that decompression
//! allocates exactly that much and refuses anything longer: a damaged or hostile baseline
//! cannot make a diff inflate without bound ([`READ_MAX`]).

/// zstd's level for snapshots: config files are small, and a higher level costs little on
/// them while keeping the baseline small.
const LEVEL: i32 = 9;

/// The largest original length a stored snapshot may claim, whatever limit wrote it: the
/// most a diff ever decompresses.
pub(crate) const READ_MAX: u32 = 1 << 20;

/// A file's content, zstd-compressed, with its original length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compressed {
    raw_len: u32,
    data: Vec<u8>,
}

impl Compressed {
    /// Compress `content` (at most [`READ_MAX`] bytes).
    pub(crate) fn new(content: &[u8]) -> Result<Compressed, String> {
        let raw_len = u32::try_from(content.len())
            .ok()
            .filter(|&n| n <= READ_MAX)
            .ok_or_else(|| format!("{} bytes is too large for a snapshot", content.len()))?;
        let data = zstd::bulk::compress(content, LEVEL).map_err(|e| format!("zstd: {e}"))?;
        Ok(Compressed { raw_len, data })
    }

    /// As stored: the original length and the compressed bytes, unchecked until
    /// [`Compressed::content`].
    pub(crate) fn from_parts(raw_len: u32, data: Vec<u8>) -> Result<Compressed, String> {
        if raw_len > READ_MAX {
            return Err(format!(
                "snapshot of {raw_len} bytes, more than the {READ_MAX} a snapshot may hold"
            ));
        }
        Ok(Compressed { raw_len, data })
    }

    /// The original length and the compressed bytes.
    pub(crate) fn parts(&self) -> (u32, &[u8]) {
        (self.raw_len, &self.data)
    }

    /// The bytes it adds to a baseline.
    pub(crate) fn stored_len(&self) -> u64 {
        self.data.len() as u64 + 4
    }

    /// The original content; an error if the bytes do not decompress to exactly the stored
    /// length.
    pub fn content(&self) -> Result<Vec<u8>, String> {
        let raw_len = self.raw_len as usize;
        // zstd refuses a capacity of 0, even for an empty frame.
        let out = zstd::bulk::decompress(&self.data, raw_len.max(1))
            .map_err(|e| format!("snapshot does not decompress: {e}"))?;
        if out.len() != raw_len {
            return Err(format!(
                "snapshot decompresses to {} bytes, not the {raw_len} recorded",
                out.len()
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bounds() {
        for content in [
            &b""[..],
            b"root:x:0:0:root:/root:/bin/bash\n",
            &[7u8; 100_000],
        ] {
            let c = Compressed::new(content).unwrap();
            assert_eq!(c.content().unwrap(), content);
            let (len, data) = c.parts();
            let again = Compressed::from_parts(len, data.to_vec()).unwrap();
            assert_eq!(again, c);
        }
        // A stored length that lies is refused, shorter or longer.
        let c = Compressed::new(&[1u8; 1000]).unwrap();
        let (_, data) = c.parts();
        let short = Compressed::from_parts(10, data.to_vec()).unwrap();
        assert!(short.content().is_err());
        let long = Compressed::from_parts(2000, data.to_vec()).unwrap();
        assert!(long.content().unwrap_err().contains("not the 2000"));
        assert!(Compressed::from_parts(READ_MAX + 1, Vec::new()).is_err());
        let junk = Compressed::from_parts(5, b"not zstd".to_vec()).unwrap();
        assert!(junk.content().is_err());
    }
}
