//! How keys and values become bytes, and how a key's bytes pick its key group.
//!
//! Keys and values are encoded with [postcard] (compact serde binary: varint integers,
//! length-prefixed strings, no field names). A key's group is computed from those bytes,
//! not from Rust's `Hash`, so it is the same in every process, on every platform and with
//! every Rust version: `key_group = fold(fnv1a_64(encoded key)) % key_groups`, where
//! `fold(h) = h ^ (h >> 32)` mixes the high bits into the low ones that the modulo keeps.

use postcard::ser_flavors::Flavor;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::sdk::{Error, Result};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a, 64 bits: tiny, fully specified and byte-order independent.
pub(super) fn fnv1a_64(bytes: &[u8]) -> u64 {
    let mut h = FNV_OFFSET;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
    }
    h
}

/// The key group of an encoded key.
pub(super) fn group_of_bytes(encoded_key: &[u8], key_groups: u16) -> u16 {
    group_of_hash(fnv1a_64(encoded_key), key_groups)
}

fn group_of_hash(h: u64, key_groups: u16) -> u16 {
    // The remainder is below `key_groups`, so it fits in a u16.
    ((h ^ (h >> 32)) % u64::from(key_groups.max(1))) as u16
}

/// The key group of a key, hashing its encoding as it is produced (no allocation).
///
/// A key that fails to encode is hashed over the bytes produced before the failure: the
/// group stays deterministic, and the next checkpoint reports the encoding error.
pub(super) fn group_of<K: Serialize + ?Sized>(key: &K, key_groups: u16) -> u16 {
    let mut sink = Sink::default();
    let _ = postcard::serialize_with_flavor(key, SinkFlavor(&mut sink));
    group_of_hash(sink.hash, key_groups)
}

/// The encoded size of a key and its key group, in one pass over its encoding.
pub(super) fn len_and_group<K: Serialize + ?Sized>(key: &K, key_groups: u16) -> (usize, u16) {
    let mut sink = Sink::default();
    let _ = postcard::serialize_with_flavor(key, SinkFlavor(&mut sink));
    (sink.len, group_of_hash(sink.hash, key_groups))
}

/// The encoded size of a value, counted without allocating.
pub(super) fn encoded_len<T: Serialize + ?Sized>(value: &T) -> usize {
    let mut sink = Sink::default();
    let _ = postcard::serialize_with_flavor(value, SinkFlavor(&mut sink));
    sink.len
}

/// Appends the encoding of `value` to `out`.
pub(super) fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<()> {
    postcard::serialize_with_flavor(value, VecFlavor(out))
        .map_err(|e| Error::msg(format!("cannot encode state: {e}")))
}

/// Decodes a key or a value; trailing bytes are an error, as they mean a different type.
pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let (value, rest) = postcard::take_from_bytes(bytes)?;
    if !rest.is_empty() {
        return Err(Error::msg(format!(
            "{} bytes left over after decoding (the stored type differs)",
            rest.len()
        )));
    }
    Ok(value)
}

/// Running FNV-1a hash and length of the bytes seen.
struct Sink {
    hash: u64,
    len: usize,
}

impl Default for Sink {
    fn default() -> Self {
        Self {
            hash: FNV_OFFSET,
            len: 0,
        }
    }
}

/// Borrows the sink so its state survives a failed serialization (which drops the flavor).
struct SinkFlavor<'a>(&'a mut Sink);

impl Flavor for SinkFlavor<'_> {
    type Output = ();

    fn try_push(&mut self, b: u8) -> postcard::Result<()> {
        self.0.hash = (self.0.hash ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        self.0.len += 1;
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// Appends to a borrowed buffer, so one scratch buffer serves a whole checkpoint.
struct VecFlavor<'a>(&'a mut Vec<u8>);

impl Flavor for VecFlavor<'_> {
    type Output = ();

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }

    fn try_push(&mut self, b: u8) -> postcard::Result<()> {
        self.0.push(b);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}
