//! The JSON o2c 0.1 wrote for a command, for its first fingerprint scheme.
//!
//! o2c 0.2 spells enum variants in snake_case (`"on_hold"`) and writes amounts
//! at their currency's scale (`"12.50"`); 0.1 spelled variants as Rust does
//! (`"OnHold"`) and wrote the amount a command carried (the canonical one, for a
//! fingerprint: `"12.5"`). A key stored by 0.1 holds FNV-1a of *that* JSON, so a
//! retry after the upgrade must hash the command as 0.1 wrote it: [`Legacy`]
//! wraps a serializer, spells the variants of [`RENAMED`] enums back, and has
//! [`Money`](crate::money::Money) write its amount as it is ([`writing`]).

use std::cell::Cell;

use serde::ser::{
    self, Serialize, SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant,
    SerializeTuple, SerializeTupleStruct, SerializeTupleVariant, Serializer,
};

/// The enums o2c 0.2 renamed to snake_case: their variants are spelled back.
/// (Enums that were snake_case already, such as `Discount`, keep their names.)
const RENAMED: [&str; 24] = [
    "PaymentMethod",
    "PaymentTerms",
    "RequestedService",
    "ShipmentStatus",
    "AccountKind",
    "InvoicePolicy",
    "InvoiceStatus",
    "OverpaymentPolicy",
    "Rounding",
    "Channel",
    "ServiceLevel",
    "Hold",
    "FulfilmentStatus",
    "PaymentStatus",
    "OrderStatus",
    "OrderAction",
    "BackOrderPolicy",
    "PurchaseOrderStatus",
    "OverReceipt",
    "ReturnReason",
    "Condition",
    "ReturnStatus",
    "AllocationStrategy",
    "LocationKind",
];

thread_local! {
    static WRITING: Cell<bool> = const { Cell::new(false) };
}

/// True while this thread writes a command as 0.1 did: [`Money`] then writes
/// its amount as it is, not at its currency's scale.
///
/// [`Money`]: crate::money::Money
pub(crate) fn writing() -> bool {
    WRITING.with(Cell::get)
}

/// Writes `command` as o2c 0.1's JSON into `out`.
///
/// # Errors
/// serde_json's, for a command that cannot be written.
pub(crate) fn to_writer<W: std::io::Write, T: Serialize + ?Sized>(
    out: W,
    command: &T,
) -> serde_json::Result<()> {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            WRITING.with(|w| w.set(self.0));
        }
    }
    let _reset = Reset(WRITING.with(|w| w.replace(true)));
    let mut json = serde_json::Serializer::new(out);
    command.serialize(Legacy(&mut json))
}

/// A variant's name as Rust spells it: `on_hold` → `OnHold`, `b2b` → `B2b`.
fn rust_name(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect::<String>()
            })
        })
        .collect()
}

fn renamed(name: &str) -> bool {
    RENAMED.contains(&name)
}

/// A serializer that spells renamed variants back and passes the rest through.
struct Legacy<S>(S);

/// A value to serialize through [`Legacy`].
struct Wrap<'a, T: ?Sized>(&'a T);

impl<T: Serialize + ?Sized> Serialize for Wrap<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(Legacy(serializer))
    }
}

/// The fields of a renamed struct or tuple variant, gathered as JSON values in
/// order, to write under the variant's old name.
enum Gathered {
    Fields(Vec<(&'static str, serde_json::Value)>),
    Items(Vec<serde_json::Value>),
}

impl Serialize for Gathered {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Gathered::Fields(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (key, value) in fields {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
            Gathered::Items(items) => items.serialize(serializer),
        }
    }
}

fn gather<T: Serialize + ?Sized, E: ser::Error>(value: &T) -> Result<serde_json::Value, E> {
    serde_json::to_value(Wrap(value)).map_err(E::custom)
}

/// A renamed variant with fields: `{"OldName": <fields>}` when it ends.
struct Variant<M> {
    map: M,
    gathered: Gathered,
}

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {$(
        fn $method(self, $($arg: $ty),*) -> Result<S::Ok, S::Error> {
            self.0.$method($($arg),*)
        }
    )*};
}

impl<S: Serializer> Serializer for Legacy<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Legacy<S::SerializeSeq>;
    type SerializeTuple = Legacy<S::SerializeTuple>;
    type SerializeTupleStruct = Legacy<S::SerializeTupleStruct>;
    type SerializeTupleVariant = Either<Legacy<S::SerializeTupleVariant>, Variant<S::SerializeMap>>;
    type SerializeMap = Legacy<S::SerializeMap>;
    type SerializeStruct = Legacy<S::SerializeStruct>;
    type SerializeStructVariant =
        Either<Legacy<S::SerializeStructVariant>, Variant<S::SerializeMap>>;

    forward!(
        serialize_bool(v: bool),
        serialize_i8(v: i8),
        serialize_i16(v: i16),
        serialize_i32(v: i32),
        serialize_i64(v: i64),
        serialize_i128(v: i128),
        serialize_u8(v: u8),
        serialize_u16(v: u16),
        serialize_u32(v: u32),
        serialize_u64(v: u64),
        serialize_u128(v: u128),
        serialize_f32(v: f32),
        serialize_f64(v: f64),
        serialize_char(v: char),
        serialize_str(v: &str),
        serialize_bytes(v: &[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(name: &'static str),
    );

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.0.serialize_some(&Wrap(value))
    }

    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        if renamed(name) {
            // What serde_json writes for a unit variant: its name as a string.
            return self.0.serialize_str(&rust_name(variant));
        }
        self.0.serialize_unit_variant(name, index, variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_newtype_struct(name, &Wrap(value))
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        if renamed(name) {
            let mut map = self.0.serialize_map(Some(1))?;
            map.serialize_entry(&rust_name(variant), &Wrap(value))?;
            return map.end();
        }
        self.0
            .serialize_newtype_variant(name, index, variant, &Wrap(value))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        self.0.serialize_seq(len).map(Legacy)
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.0.serialize_tuple(len).map(Legacy)
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.0.serialize_tuple_struct(name, len).map(Legacy)
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        if renamed(name) {
            let mut map = self.0.serialize_map(Some(1))?;
            map.serialize_key(&rust_name(variant))?;
            return Ok(Either::Renamed(Variant {
                map,
                gathered: Gathered::Items(Vec::with_capacity(len)),
            }));
        }
        self.0
            .serialize_tuple_variant(name, index, variant, len)
            .map(|v| Either::Kept(Legacy(v)))
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        self.0.serialize_map(len).map(Legacy)
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        self.0.serialize_struct(name, len).map(Legacy)
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        if renamed(name) {
            let mut map = self.0.serialize_map(Some(1))?;
            map.serialize_key(&rust_name(variant))?;
            return Ok(Either::Renamed(Variant {
                map,
                gathered: Gathered::Fields(Vec::with_capacity(len)),
            }));
        }
        self.0
            .serialize_struct_variant(name, index, variant, len)
            .map(|v| Either::Kept(Legacy(v)))
    }
}

/// A variant compound kept as it is, or a renamed one being gathered.
enum Either<K, R> {
    Kept(K),
    Renamed(R),
}

impl<S: SerializeSeq> SerializeSeq for Legacy<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        self.0.serialize_element(&Wrap(value))
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

impl<S: SerializeTuple> SerializeTuple for Legacy<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        self.0.serialize_element(&Wrap(value))
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

impl<S: SerializeTupleStruct> SerializeTupleStruct for Legacy<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        self.0.serialize_field(&Wrap(value))
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

impl<S: SerializeMap> SerializeMap for Legacy<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), S::Error> {
        self.0.serialize_key(&Wrap(key))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        self.0.serialize_value(&Wrap(value))
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

impl<S: SerializeStruct> SerializeStruct for Legacy<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), S::Error> {
        self.0.serialize_field(key, &Wrap(value))
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
        self.0.skip_field(key)
    }
    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

impl<K: SerializeTupleVariant, M: SerializeMap<Ok = K::Ok, Error = K::Error>> SerializeTupleVariant
    for Either<Legacy<K>, Variant<M>>
{
    type Ok = K::Ok;
    type Error = K::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), K::Error> {
        match self {
            Either::Kept(kept) => kept.0.serialize_field(&Wrap(value)),
            Either::Renamed(Variant {
                gathered: Gathered::Items(items),
                ..
            }) => {
                items.push(gather(value)?);
                Ok(())
            }
            Either::Renamed(_) => Err(ser::Error::custom("a tuple variant gathered as fields")),
        }
    }
    fn end(self) -> Result<K::Ok, K::Error> {
        match self {
            Either::Kept(kept) => kept.0.end(),
            Either::Renamed(mut v) => {
                v.map.serialize_value(&v.gathered)?;
                v.map.end()
            }
        }
    }
}

impl<K: SerializeStructVariant, M: SerializeMap<Ok = K::Ok, Error = K::Error>>
    SerializeStructVariant for Either<Legacy<K>, Variant<M>>
{
    type Ok = K::Ok;
    type Error = K::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), K::Error> {
        match self {
            Either::Kept(kept) => kept.0.serialize_field(key, &Wrap(value)),
            Either::Renamed(Variant {
                gathered: Gathered::Fields(fields),
                ..
            }) => {
                fields.push((key, gather(value)?));
                Ok(())
            }
            Either::Renamed(_) => Err(ser::Error::custom("a struct variant gathered as items")),
        }
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), K::Error> {
        match self {
            Either::Kept(kept) => kept.0.skip_field(key),
            Either::Renamed(_) => Ok(()),
        }
    }
    fn end(self) -> Result<K::Ok, K::Error> {
        match self {
            Either::Kept(kept) => kept.0.end(),
            Either::Renamed(mut v) => {
                v.map.serialize_value(&v.gathered)?;
                v.map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::rust_name;

    #[test]
    fn snake_case_goes_back_to_the_rust_name() {
        for (snake, rust) in [
            ("on_hold", "OnHold"),
            ("b2b", "B2b"),
            ("net", "Net"),
            ("half_even", "HalfEven"),
            ("ship_available", "ShipAvailable"),
        ] {
            assert_eq!(rust_name(snake), rust);
        }
    }
}
