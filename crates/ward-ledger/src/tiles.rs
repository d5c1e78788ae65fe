//! C2SP tlog-tiles layout (<https://c2sp.org/tlog-tiles>): tile paths, which tiles a tree of a
//! given size has, and entry bundles.

use thiserror::Error;

/// Tile height: each tile spans 8 tree levels.
pub const TILE_HEIGHT: u32 = 8;
/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// A tile: `level` (tile level; its hashes are of tree level `8 × level`), `index`, and
/// `width` (1–256; below 256 it is a partial tile).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileId {
    /// Tile level.
    pub level: u8,
    /// Tile index within its level.
    pub index: u64,
    /// Number of hashes or entries in the tile.
    pub width: u64,
}

impl TileId {
    /// Path of the hash tile, e.g. `tile/0/x001/234.p/5`.
    pub fn hash_path(&self) -> String {
        format!(
            "tile/{}/{}{}",
            self.level,
            encode_index(self.index),
            partial_suffix(self.width)
        )
    }

    /// Path of the entry bundle with the same index and width (level 0 only).
    pub fn entries_path(&self) -> String {
        format!(
            "tile/entries/{}{}",
            encode_index(self.index),
            partial_suffix(self.width)
        )
    }

    /// Tree level of the hashes in this tile.
    pub fn tree_level(&self) -> u8 {
        self.level * TILE_HEIGHT as u8
    }
}

fn partial_suffix(width: u64) -> String {
    if width == TILE_WIDTH {
        String::new()
    } else {
        format!(".p/{width}")
    }
}

/// Encodes a tile index as 3-digit path elements, all but the last prefixed by `x`:
/// 1234067 → `x001/x234/067`.
pub fn encode_index(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// Every hash tile of a tree of `size` leaves, level by level, left to right.
pub fn tiles_for_size(size: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    let mut level = 0u8;
    loop {
        let shift = u32::from(level) * TILE_HEIGHT;
        let nodes = if shift >= 64 { 0 } else { size >> shift };
        if nodes == 0 {
            break;
        }
        let full = nodes / TILE_WIDTH;
        for index in 0..full {
            out.push(TileId {
                level,
                index,
                width: TILE_WIDTH,
            });
        }
        if nodes % TILE_WIDTH != 0 {
            out.push(TileId {
                level,
                index: full,
                width: nodes % TILE_WIDTH,
            });
        }
        level += 1;
    }
    out
}

/// Errors decoding an entry bundle.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BundleError {
    /// A length prefix runs past the end of the data.
    #[error("entry bundle truncated at entry {0}")]
    Truncated(usize),
    /// Too many or too few entries.
    #[error("entry bundle has {found} entries, expected {expected}")]
    WrongCount {
        /// Entries found.
        found: usize,
        /// Entries expected.
        expected: usize,
    },
    /// An entry does not fit the 16-bit length prefix.
    #[error("entry of {0} bytes does not fit an entry bundle")]
    TooLarge(usize),
}

/// Encodes entries as a bundle: each a big-endian `uint16` length, then the bytes.
pub fn encode_bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>, BundleError> {
    let mut out = Vec::new();
    for e in entries {
        let len = u16::try_from(e.len()).map_err(|_| BundleError::TooLarge(e.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Decodes a bundle that must hold exactly `expected` entries.
pub fn decode_bundle(data: &[u8], expected: usize) -> Result<Vec<&[u8]>, BundleError> {
    // Never trust `expected` for allocation: a bundle holds at most one entry per 2 bytes.
    let mut out = Vec::with_capacity(expected.min(data.len() / 2 + 1));
    let mut rest = data;
    while !rest.is_empty() {
        if rest.len() < 2 {
            return Err(BundleError::Truncated(out.len()));
        }
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        if rest.len() < 2 + len {
            return Err(BundleError::Truncated(out.len()));
        }
        out.push(&rest[2..2 + len]);
        rest = &rest[2 + len..];
        if out.len() > expected {
            return Err(BundleError::WrongCount {
                found: out.len(),
                expected,
            });
        }
    }
    if out.len() != expected {
        return Err(BundleError::WrongCount {
            found: out.len(),
            expected,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_encoding_matches_spec_examples() {
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(5), "005");
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(encode_index(1000), "x001/000");
    }

    #[test]
    fn paths() {
        let t = TileId {
            level: 1,
            index: 1234067,
            width: 256,
        };
        assert_eq!(t.hash_path(), "tile/1/x001/x234/067");
        let p = TileId {
            level: 0,
            index: 2,
            width: 5,
        };
        assert_eq!(p.hash_path(), "tile/0/002.p/5");
        assert_eq!(p.entries_path(), "tile/entries/002.p/5");
    }

    #[test]
    fn tiles_for_sizes() {
        assert!(tiles_for_size(0).is_empty());
        assert_eq!(
            tiles_for_size(1),
            vec![TileId {
                level: 0,
                index: 0,
                width: 1
            }]
        );
        assert_eq!(
            tiles_for_size(256),
            vec![
                TileId {
                    level: 0,
                    index: 0,
                    width: 256
                },
                TileId {
                    level: 1,
                    index: 0,
                    width: 1
                }
            ]
        );
        let t = tiles_for_size(70_000);
        assert_eq!(t.iter().filter(|t| t.level == 0).count(), 274);
        assert_eq!(t.iter().filter(|t| t.level == 1).count(), 2);
        assert_eq!(t.iter().filter(|t| t.level == 2).count(), 1);
        assert_eq!(t.last().unwrap().width, 1);
    }

    #[test]
    fn bundle_round_trip_and_errors() {
        let entries: Vec<&[u8]> = vec![b"a", b"", b"hello"];
        let b = encode_bundle(entries.iter().copied()).unwrap();
        assert_eq!(decode_bundle(&b, 3).unwrap(), entries);
        assert!(decode_bundle(&b, 2).is_err());
        assert!(decode_bundle(&b, 4).is_err());
        assert_eq!(decode_bundle(&b[..b.len() - 1], 3), Err(BundleError::Truncated(2)));
        assert!(encode_bundle([vec![0u8; 70_000].as_slice()]).is_err());
    }
}
