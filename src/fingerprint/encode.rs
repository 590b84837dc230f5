//! The second fingerprint scheme's byte form: a compact, self-delimiting encoding
//! of any `Serialize` value, hashed a word at a time.
//!
//! Frozen: stored idempotency entries carry fingerprints taken this way, so a change
//! to the encoding or the hash would refuse genuine retries of keys used before it.
//! Every value starts with a tag; text carries its length, containers an end mark,
//! and struct fields and enum variants their names (which serde renames keep
//! stable), so two different commands never encode alike.

use std::fmt;

use serde::ser::{self, Serialize};

/// Why a value could not be encoded (a `Serialize` impl that failed on purpose).
#[derive(Debug)]
pub(super) struct EncodeError(String);

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EncodeError {}

impl ser::Error for EncodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        EncodeError(msg.to_string())
    }
}

/// The tags. Never renumber one: the fingerprints of stored keys rest on them.
mod tag {
    pub(super) const BOOL: u8 = 1;
    pub(super) const INT: u8 = 2;
    pub(super) const INT128: u8 = 3;
    pub(super) const UINT: u8 = 4;
    pub(super) const UINT128: u8 = 5;
    pub(super) const FLOAT: u8 = 6;
    pub(super) const CHAR: u8 = 7;
    pub(super) const STR: u8 = 8;
    pub(super) const BYTES: u8 = 9;
    pub(super) const NONE: u8 = 10;
    pub(super) const SOME: u8 = 11;
    pub(super) const UNIT: u8 = 12;
    pub(super) const VARIANT: u8 = 13;
    pub(super) const SEQ: u8 = 14;
    pub(super) const MAP: u8 = 15;
    pub(super) const STRUCT: u8 = 16;
    pub(super) const END: u8 = 17;
}

/// Encodes `value` and hashes the bytes.
pub(super) fn hash<T: Serialize + ?Sized>(value: &T) -> Result<u64, EncodeError> {
    let mut encoder = Encoder(Vec::with_capacity(1024));
    value.serialize(&mut encoder)?;
    Ok(hash_bytes(&encoder.0))
}

/// A 64-bit hash of `bytes`, eight at a time (little-endian words, the tail padded
/// with zeros and the length mixed in), finished with a full avalanche: fixed
/// forever, the same on every platform.
pub(super) fn hash_bytes(bytes: &[u8]) -> u64 {
    const SEED: u64 = 0x243f_6a88_85a3_08d3;
    const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = SEED;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut le = [0u8; 8];
        le.copy_from_slice(word);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(le)).wrapping_mul(MULTIPLIER);
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        let mut le = [0u8; 8];
        for (slot, byte) in le.iter_mut().zip(tail) {
            *slot = *byte;
        }
        h = (h.rotate_left(23) ^ u64::from_le_bytes(le)).wrapping_mul(MULTIPLIER);
    }
    h ^= bytes.len() as u64;
    // The 64-bit finaliser of MurmurHash3: every input bit reaches every output bit.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

struct Encoder(Vec<u8>);

// Inlined: a checkout's command encodes some eighty names and strings, each a
// few bytes, where a call costs more than the copy.
impl Encoder {
    #[inline]
    fn tag(&mut self, tag: u8) {
        self.0.push(tag);
    }

    fn text(&mut self, tag: u8, bytes: &[u8]) {
        self.0.push(tag);
        self.0
            .extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        self.0.extend_from_slice(bytes);
    }

    fn name(&mut self, name: &str) {
        self.text(tag::STR, name.as_bytes());
    }
}

impl ser::Serializer for &mut Encoder {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn serialize_bool(self, v: bool) -> Result<(), EncodeError> {
        self.tag(tag::BOOL);
        self.0.push(u8::from(v));
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), EncodeError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), EncodeError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<(), EncodeError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<(), EncodeError> {
        self.tag(tag::INT);
        self.0.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), EncodeError> {
        self.tag(tag::INT128);
        self.0.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), EncodeError> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), EncodeError> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), EncodeError> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), EncodeError> {
        self.tag(tag::UINT);
        self.0.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), EncodeError> {
        self.tag(tag::UINT128);
        self.0.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), EncodeError> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), EncodeError> {
        self.tag(tag::FLOAT);
        self.0.extend_from_slice(&v.to_bits().to_le_bytes());
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), EncodeError> {
        self.tag(tag::CHAR);
        self.0.extend_from_slice(&u32::from(v).to_le_bytes());
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), EncodeError> {
        self.text(tag::STR, v.as_bytes());
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), EncodeError> {
        self.text(tag::BYTES, v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), EncodeError> {
        self.tag(tag::NONE);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), EncodeError> {
        self.tag(tag::SOME);
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), EncodeError> {
        self.tag(tag::UNIT);
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), EncodeError> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), EncodeError> {
        self.tag(tag::VARIANT);
        self.name(variant);
        self.tag(tag::UNIT);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        self.tag(tag::VARIANT);
        self.name(variant);
        value.serialize(self)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self, EncodeError> {
        self.tag(tag::SEQ);
        Ok(self)
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self, EncodeError> {
        self.tag(tag::SEQ);
        Ok(self)
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self, EncodeError> {
        self.tag(tag::SEQ);
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self, EncodeError> {
        self.tag(tag::VARIANT);
        self.name(variant);
        self.tag(tag::SEQ);
        Ok(self)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self, EncodeError> {
        self.tag(tag::MAP);
        Ok(self)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self, EncodeError> {
        self.tag(tag::STRUCT);
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self, EncodeError> {
        self.tag(tag::VARIANT);
        self.name(variant);
        self.tag(tag::STRUCT);
        Ok(self)
    }
}

/// A sequence's, tuple's or map's elements one after another, then the end mark.
macro_rules! elements {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for &mut Encoder {
            type Ok = ();
            type Error = EncodeError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
                value.serialize(&mut **self)
            }
            fn end(self) -> Result<(), EncodeError> {
                self.tag(tag::END);
                Ok(())
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for &mut Encoder {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), EncodeError> {
        key.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.tag(tag::END);
        Ok(())
    }
}

/// A struct's fields, each by name, then the end mark: a field a struct leaves out
/// (`skip_serializing_if`) cannot be mistaken for another.
macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for &mut Encoder {
            type Ok = ();
            type Error = EncodeError;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), EncodeError> {
                self.name(key);
                value.serialize(&mut **self)
            }
            fn end(self) -> Result<(), EncodeError> {
                self.tag(tag::END);
                Ok(())
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[derive(Serialize)]
    #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
    struct Line {
        sku: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<&'static str>,
        quantity: u32,
    }

    #[derive(Serialize)]
    #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
    enum Delivery {
        Pickup,
        Ship { country: &'static str },
    }

    #[test]
    fn the_hash_is_frozen() {
        // Stored keys' fingerprints rest on these values: they may never change.
        assert_eq!(hash_bytes(b""), FROZEN_EMPTY);
        assert_eq!(hash_bytes(b"o2c"), FROZEN_O2C);
        assert_eq!(hash(&("a", 1u32, Some(true))).unwrap(), FROZEN_TUPLE);
    }

    const FROZEN_EMPTY: u64 = 0x7acd_bb98_b134_4213;
    const FROZEN_O2C: u64 = 0x0dd7_45ae_4abd_150d;
    const FROZEN_TUPLE: u64 = 0x6557_9b58_065b_9809;

    #[test]
    fn every_word_and_every_tail_byte_counts() {
        let base = hash_bytes(b"0123456789abcdef0");
        for at in 0..17 {
            let mut changed = *b"0123456789abcdef0";
            changed[at] ^= 1;
            assert_ne!(hash_bytes(&changed), base, "byte {at}");
        }
        // Trailing zeros are not padding: the length tells them apart.
        assert_ne!(hash_bytes(b"ab"), hash_bytes(b"ab\0"));
    }

    #[test]
    fn different_shapes_never_encode_alike() {
        let h = |v: &dyn Fn(&mut Encoder) -> Result<(), EncodeError>| {
            let mut e = Encoder(Vec::new());
            v(&mut e).unwrap();
            e.0
        };
        // Text carries its length and containers an end mark.
        assert_ne!(hash(&("ab", "c")).unwrap(), hash(&("a", "bc")).unwrap());
        assert_ne!(
            hash(&vec![vec![1u8], vec![]]).unwrap(),
            hash(&vec![vec![], vec![1u8]]).unwrap()
        );
        assert_ne!(hash(&Some(0u8)).unwrap(), hash(&0u8).unwrap());
        assert_ne!(hash(&None::<u8>).unwrap(), hash(&()).unwrap());
        assert_ne!(hash(&1u64).unwrap(), hash(&1i64).unwrap());
        // A field left out is not mistaken for the next one.
        let with_note = Line {
            sku: "TEE",
            note: Some("gift"),
            quantity: 1,
        };
        let without = Line {
            sku: "TEE",
            note: None,
            quantity: 1,
        };
        assert_ne!(hash(&with_note).unwrap(), hash(&without).unwrap());
        // Variants by name, with their content.
        assert_ne!(
            hash(&Delivery::Pickup).unwrap(),
            hash(&Delivery::Ship { country: "GB" }).unwrap()
        );
        assert_ne!(
            hash(&Delivery::Ship { country: "GB" }).unwrap(),
            hash(&Delivery::Ship { country: "US" }).unwrap()
        );
        // Widths do not matter, signs do.
        let narrow = h(&|e| 7u8.serialize(e));
        let wide = h(&|e| 7u64.serialize(e));
        assert_eq!(narrow, wide);
    }
}
