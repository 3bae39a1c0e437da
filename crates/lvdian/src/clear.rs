//! `lvdian clear FILE.json`: clear one call auction, or one coupled inter-provincial session
//! (省间, `"method": "coupled"`), offline, in the format of formats.md.
//!
//! The file is deserialised in one pass straight into the engine's order type: each order's
//! fields are read as they come (strings borrowed from the file), its decimals parsed once, its
//! period and province turned into indexes; no JSON tree is built for the orders. A file is
//! checked whole before anything is cleared, and the output is written as it is serialised only
//! once clearing has succeeded, so a bad file never half-writes the output.
//!
//! Errors are the ones of a check of the whole file in this order: JSON syntax anywhere; the
//! file not an object; an unknown top-level field; `method`; `orders` (the first bad or repeated
//! order in file order); for `coupled`, an order without a province; then `corridors`.
//! The parser therefore reads to the end of the file after a bad order (without keeping more
//! orders), so that a syntax error further on still comes first.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};

use domain::{Kwh, LossRate, Price, Side, UnitError};
use exchange::auction::{self, AuctionOrder, Method};
use exchange::coupling::{self, Corridor, CoupledOrder};
use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// What is wrong with a clear file, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// Where: `orders[2] (id "b3")`, or the top-level field.
    pub location: String,
    /// What.
    pub reason: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.reason)
    }
}

impl std::error::Error for InputError {}

fn top(field: &str, reason: impl Into<String>) -> InputError {
    InputError {
        location: format!("field `{field}`"),
        reason: reason.into(),
    }
}

/// Parses, clears and renders a clear file; returns the output JSON text. With
/// `congestion_rent`, each coupled flow also carries `congestion_rent_yuan` (an addition to
/// formats.md's output, so only on request).
// For the tests and the fuzz targets; the binary streams its output (`parse`, `clear`, `write_json`).
#[cfg_attr(not(test), allow(dead_code))]
pub fn run(text: &str, congestion_rent: bool) -> Result<String, InputError> {
    clear_to_string(&parse(text)?, congestion_rent)
}

/// Clears a file as read and forms its output in memory.
fn clear_to_string(file: &ClearFile<'_>, congestion_rent: bool) -> Result<String, InputError> {
    let cleared = file.clear(congestion_rent)?;
    let mut out = Vec::new();
    cleared
        .write_json(&mut out)
        .expect("writing into memory cannot fail");
    Ok(String::from_utf8(out).expect("the output is formed from the file's UTF-8 text"))
}

/// A clear file as read: its method, orders and corridors, and the first error found in it
/// other than a repeated order id, which [`ClearFile::clear`] looks for while it clears.
pub struct ClearFile<'a> {
    method: Method,
    book: Book<'a>,
    corridors: Vec<FileCorridor>,
    /// The first bad order, else (coupled) the first order without a province, else the first
    /// bad corridor.
    pending: Option<InputError>,
}

/// Reads a clear file and checks all but the uniqueness of its order ids (see the module's
/// documentation for the order of the checks).
pub fn parse(text: &str) -> Result<ClearFile<'_>, InputError> {
    parse_with(text, true)
}

fn parse_with(text: &str, two_threads: bool) -> Result<ClearFile<'_>, InputError> {
    let halves = if two_threads { read_halves(text) } else { None };
    let file = match halves {
        Some(file) => file,
        None => read_whole(text)?,
    };
    file.check()
}

/// Reads the file on one thread.
fn read_whole(text: &str) -> Result<RawFile<'_>, InputError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    FileVisitor
        .deserialize(&mut deserializer)
        .and_then(|file| deserializer.end().map(|()| file))
        .map_err(|e| InputError {
            location: format!("line {} column {}", e.line(), e.column()),
            reason: format!("not valid JSON: {e}"),
        })
}

/// The top-level fields as read, before they are checked.
struct RawFile<'a> {
    /// The file was not a JSON object.
    not_object: bool,
    /// The first top-level field that is not one of the format.
    unknown: Option<String>,
    method: Option<FieldValue<'a>>,
    /// `None` when missing or not an array.
    orders: Option<Book<'a>>,
    /// Whether the file has `orders`, array or not.
    orders_seen: bool,
    corridors: Option<Value>,
}

impl<'a> RawFile<'a> {
    fn empty(not_object: bool) -> RawFile<'a> {
        RawFile {
            not_object,
            unknown: None,
            method: None,
            orders: None,
            orders_seen: false,
            corridors: None,
        }
    }

    fn check(self) -> Result<ClearFile<'a>, InputError> {
        if self.not_object {
            return Err(top(
                "(file)",
                "the file must be a JSON object with `method` and `orders`",
            ));
        }
        if let Some(unknown) = self.unknown {
            return Err(top(
                &unknown,
                "unknown field (expected `method`, `orders`, `corridors`)",
            ));
        }
        let Some(FieldValue::Text(method_name)) = self.method else {
            return Err(top(
                "method",
                "missing, or not a string: use \"uniform\", \"high_low\" or \"coupled\"",
            ));
        };
        let method = match &*method_name {
            "uniform" => Method::Uniform,
            "high_low" => Method::HighLow,
            "coupled" => Method::Coupled,
            other => {
                return Err(top(
                    "method",
                    format!(
                        "unknown method `{other}`: use \"uniform\", \"high_low\" or \"coupled\""
                    ),
                ));
            }
        };
        let mut book = self
            .orders
            .ok_or_else(|| top("orders", "missing, or not an array of orders"))?;
        let mut pending = book.bad.take();
        let mut corridors = Vec::new();
        if method == Method::Coupled && pending.is_none() {
            if let Some(position) = book.provinces.iter().position(Option::is_none) {
                pending = Some(InputError {
                    location: order_location(position, Some(&book.ids[position])),
                    reason: "field `province`: missing (every order of a coupled file names its \
                             province)"
                        .into(),
                });
            } else {
                match parse_corridors(self.corridors.as_ref()) {
                    Ok(list) => corridors = list,
                    Err(e) => pending = Some(e),
                }
            }
        }
        Ok(ClearFile {
            method,
            book,
            pending,
            corridors,
        })
    }
}

/// Defines the visitor methods of every JSON value that is not the one wanted, each giving
/// `$value` (arrays and objects are read through to their end first).
macro_rules! anything_else {
    ($self:ident => $value:expr) => {
        fn visit_bool<E: de::Error>($self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: de::Error>($self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: de::Error>($self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: de::Error>($self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_str<E: de::Error>($self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E: de::Error>($self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

/// Reads the whole file into its top-level fields.
struct FileVisitor;

impl<'de> DeserializeSeed<'de> for FileVisitor {
    type Value = RawFile<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawFile<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FileVisitor {
    type Value = RawFile<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a clear file")
    }

    anything_else!(self => RawFile::empty(true));

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawFile<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(RawFile::empty(true))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFile<'de>, A::Error> {
        let mut file = RawFile::empty(false);
        // A field given twice counts once, with its last value.
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match &*key.0 {
                "method" => file.method = Some(map.next_value()?),
                "orders" => {
                    file.orders = map.next_value_seed(OrdersVisitor)?;
                    file.orders_seen = true;
                }
                "corridors" => file.corridors = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    file.unknown.get_or_insert_with(|| key.0.into_owned());
                }
            }
        }
        Ok(file)
    }
}

/// Files from this size on are read on two threads when they can be ([`read_halves`]).
const SPLIT_FROM: usize = 1 << 20;

/// JSON's blanks.
fn skip_blanks(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

/// Past blanks, then `literal`: where it ends.
fn eat(bytes: &[u8], at: usize, literal: &[u8]) -> Option<usize> {
    let at = skip_blanks(bytes, at);
    bytes[at..]
        .starts_with(literal)
        .then_some(at + literal.len())
}

/// Reads a large file of the usual shape — `{"method": "…", "orders": [` (or `orders` first),
/// the orders, `]`, then anything — on two threads: the orders array is cut after the first
/// order that ends past the middle of the file, and each half is read by itself. The cut is
/// proven by the first half, which must end exactly there.
///
/// `None` whenever the file is not a clean read of that shape: a cut inside a string, another
/// layout, any error. The file is then read on one thread, which names errors exactly; this
/// path never reports one.
fn read_halves(text: &str) -> Option<RawFile<'_>> {
    let bytes = text.as_bytes();
    if bytes.len() < SPLIT_FROM {
        return None;
    }
    let mut at = eat(bytes, 0, b"{")?;
    let mut method = None;
    if let Some(after) = eat(bytes, at, b"\"method\"") {
        let start = eat(bytes, eat(bytes, after, b":")?, b"\"")?;
        let end = start
            + bytes[start..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\')?;
        if bytes[end] != b'"' {
            return None;
        }
        method = Some(FieldValue::Text(Cow::Borrowed(&text[start..end])));
        at = eat(bytes, end + 1, b",")?;
    }
    let first = eat(
        bytes,
        eat(bytes, eat(bytes, at, b"\"orders\"")?, b":")?,
        b"[",
    )?;
    // The cut: a `}` past the middle followed by `,` and `{`.
    let mut close = bytes.len() / 2;
    let open = loop {
        close += bytes[close..].iter().position(|&b| b == b'}')?;
        if let Some(open) = eat(bytes, close + 1, b",").and_then(|at| eat(bytes, at, b"{")) {
            break open - 1;
        }
        close += 1;
    };
    let (first_half, second_half) = std::thread::scope(|scope| {
        let second = scope.spawn(|| read_run(text, open, None));
        let first = read_run(text, first, Some(close + 1));
        (first, second.join().ok().flatten())
    });
    let (mut book, _) = first_half?;
    let (second, end) = second_half?;
    book.append(second);
    // After the orders: the end of the file, or more fields.
    let rest = skip_blanks(bytes, end);
    let mut file = match bytes.get(rest) {
        Some(b'}') if skip_blanks(bytes, rest + 1) == bytes.len() => RawFile::empty(false),
        Some(b',') => {
            let tail = format!("{{{}", &text[rest + 1..]);
            let tail = read_whole(&tail).ok()?;
            if tail.orders_seen {
                return None;
            }
            RawFile {
                unknown: tail.unknown,
                // A field given twice counts with its last value.
                method: tail.method.map(FieldValue::into_owned),
                corridors: tail.corridors,
                ..RawFile::empty(false)
            }
        }
        _ => return None,
    };
    file.method = file.method.or(method);
    file.orders = Some(book);
    file.orders_seen = true;
    Some(file)
}

/// Reads orders from `at` on: up to `stop` (the end of an order) if given, else up to the
/// array's `]`; returns them and where they end. `None` if they are anything but valid orders
/// ending exactly there.
fn read_run(text: &str, mut at: usize, stop: Option<usize>) -> Option<(Book<'_>, usize)> {
    let bytes = text.as_bytes();
    let mut book = Book::default();
    let expected = (stop.unwrap_or(bytes.len()) - at) / 64;
    book.ids.reserve(expected);
    book.orders.reserve(expected);
    book.provinces.reserve(expected);
    for position in 0.. {
        at = skip_blanks(bytes, at);
        if bytes.get(at) != Some(&b'{') {
            return None;
        }
        let mut orders = serde_json::Deserializer::from_str(&text[at..]).into_iter::<OrderFields>();
        let order = orders.next()?.ok()?;
        at += orders.byte_offset();
        book.add(position, order).ok()?;
        if let Some(stop) = stop
            && at >= stop
        {
            return (at == stop).then_some((book, at));
        }
        let next = skip_blanks(bytes, at);
        match bytes.get(next) {
            Some(b',') => at = next + 1,
            Some(b']') if stop.is_none() => return Some((book, next + 1)),
            _ => return None,
        }
    }
    None
}

/// Names in the order they were first seen, each with its index in that order.
#[derive(Default)]
struct Names<'a> {
    index: FxHashMap<Cow<'a, str>, u32>,
    names: Vec<Cow<'a, str>>,
}

impl<'a> Names<'a> {
    fn index_of(&mut self, name: Cow<'a, str>) -> u32 {
        if let Some(&index) = self.index.get(&*name) {
            return index;
        }
        // At most one name per order, and an order takes more than 8 bytes of the file.
        let index = u32::try_from(self.names.len()).expect("fewer names than 2^32");
        self.names.push(name.clone());
        self.index.insert(name, index);
        index
    }

    /// The names sorted, and for each index of first sight the rank of its name.
    fn ranks(&self) -> (Vec<&str>, Vec<u32>) {
        let mut sorted: Vec<u32> = (0..).take(self.names.len()).collect();
        sorted.sort_unstable_by(|&a, &b| self.names[a as usize].cmp(&self.names[b as usize]));
        let mut rank = vec![0; sorted.len()];
        for (r, &index) in (0..).zip(&sorted) {
            rank[index as usize] = r;
        }
        let names = sorted.iter().map(|&i| &*self.names[i as usize]).collect();
        (names, rank)
    }
}

/// The orders of the file, checked one by one as they are read.
#[derive(Default)]
struct Book<'a> {
    ids: Vec<Cow<'a, str>>,
    /// Each order's period is its label's index in `periods` (of first sight).
    orders: Vec<AuctionOrder>,
    /// Each order's province, as its index in `province_names`.
    provinces: Vec<Option<u32>>,
    periods: Names<'a>,
    province_names: Names<'a>,
    /// The first bad order. The orders after it are read through, not kept.
    bad: Option<InputError>,
}

impl Book<'_> {
    /// The first order whose id an order before it has. Only orders before the first bad one
    /// are kept, so a repeat comes before any other error.
    fn first_repeat(&self) -> Option<InputError> {
        let mut seen: FxHashMap<&str, usize> = FxHashMap::default();
        seen.reserve(self.ids.len());
        for (position, id) in self.ids.iter().enumerate() {
            if let Some(first) = seen.insert(id, position) {
                return Some(InputError {
                    location: order_location(position, Some(id)),
                    reason: format!("field `id`: duplicate id, already used by orders[{first}]"),
                });
            }
        }
        None
    }
}

impl<'a> Book<'a> {
    /// Adds the orders of `later`, which come after this book's in the file.
    fn append(&mut self, later: Book<'a>) {
        let periods: Vec<u32> = (later.periods.names.into_iter())
            .map(|name| self.periods.index_of(name))
            .collect();
        let provinces: Vec<u32> = (later.province_names.names.into_iter())
            .map(|name| self.province_names.index_of(name))
            .collect();
        self.ids.extend(later.ids);
        self.orders
            .extend(later.orders.into_iter().map(|o| AuctionOrder {
                period: periods[o.period as usize],
                ..o
            }));
        self.provinces
            .extend((later.provinces.into_iter()).map(|p| p.map(|p| provinces[p as usize])));
    }
}

/// Reads the `orders` array; `None` when it is not an array.
struct OrdersVisitor;

impl<'de> DeserializeSeed<'de> for OrdersVisitor {
    type Value = Option<Book<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OrdersVisitor {
    type Value = Option<Book<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of orders")
    }

    anything_else!(self => None);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut book = Book::default();
        if let Some(size) = seq.size_hint() {
            book.ids.reserve(size);
            book.orders.reserve(size);
        }
        for position in 0.. {
            if book.bad.is_some() {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    break;
                }
            } else {
                let Some(order) = seq.next_element::<OrderFields>()? else {
                    break;
                };
                if let Err(e) = book.add(position, order) {
                    book.bad = Some(e);
                }
            }
        }
        Ok(Some(book))
    }
}

/// An object's key, borrowed from the file unless it has escapes (`Cow<str>` itself would
/// always copy).
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }
}

/// The JSON value of an order's field: a string (borrowed from the file unless it has escapes),
/// or any other value, kept to be named in the error.
enum FieldValue<'a> {
    Text(Cow<'a, str>),
    Other(Value),
}

impl FieldValue<'_> {
    fn into_owned(self) -> FieldValue<'static> {
        match self {
            FieldValue::Text(text) => FieldValue::Text(Cow::Owned(text.into_owned())),
            FieldValue::Other(value) => FieldValue::Other(value),
        }
    }
}

impl<'de> Deserialize<'de> for FieldValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldValueVisitor)
    }
}

struct FieldValueVisitor;

impl<'de> Visitor<'de> for FieldValueVisitor {
    type Value = FieldValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(FieldValue::Text(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(FieldValue::Text(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(FieldValue::Text(Cow::Owned(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(FieldValue::Other(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(FieldValue::Other(Value::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(FieldValue::Other(Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(FieldValue::Other(Value::from(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(FieldValue::Other(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(FieldValue::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(FieldValue::Other)
    }
}

/// The fields of an order, in the order they are checked.
const ORDER_FIELDS: [&str; 7] = [
    "id",
    "participant",
    "side",
    "period",
    "mwh",
    "price",
    "province",
];
const ID: usize = 0;
const PROVINCE: usize = 6;

/// An order as read: its fields by slot of [`ORDER_FIELDS`] (a field given twice counts once,
/// with its last value) and its first unknown field; `None` when it is not a JSON object.
struct OrderFields<'a>(Option<([Option<FieldValue<'a>>; 7], Option<String>)>);

impl<'de> Deserialize<'de> for OrderFields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OrderVisitor)
    }
}

struct OrderVisitor;

impl<'de> Visitor<'de> for OrderVisitor {
    type Value = OrderFields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an order")
    }

    anything_else!(self => OrderFields(None));

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(OrderFields(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields: [Option<FieldValue<'de>>; 7] = Default::default();
        let mut unknown: Option<String> = None;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match ORDER_FIELDS.iter().position(|f| *f == key.0) {
                Some(slot) => fields[slot] = Some(map.next_value()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                    unknown.get_or_insert_with(|| key.0.into_owned());
                }
            }
        }
        Ok(OrderFields(Some((fields, unknown))))
    }
}

impl<'a> Book<'a> {
    /// Checks one order (at `position` in the file) and keeps it.
    fn add(&mut self, position: usize, order: OrderFields<'a>) -> Result<(), InputError> {
        let Some((mut fields, unknown)) = order.0 else {
            return Err(InputError {
                location: order_location(position, None),
                reason: "field `(order)`: an order must be a JSON object".into(),
            });
        };
        let id = match &fields[ID] {
            Some(FieldValue::Text(id)) => Some(&**id),
            _ => None,
        };
        let error = |field: &str, reason: String| InputError {
            location: order_location(position, id),
            reason: format!("field `{field}`: {reason}"),
        };
        if let Some(unknown) = unknown {
            return Err(error(&unknown, "unknown field".into()));
        }
        let text = |slot: usize| -> Result<&str, InputError> {
            let field = ORDER_FIELDS[slot];
            match &fields[slot] {
                None => Err(error(field, "missing".into())),
                Some(FieldValue::Text(s)) if s.is_empty() => Err(error(field, "is empty".into())),
                Some(FieldValue::Text(s)) => Ok(s),
                Some(FieldValue::Other(Value::Number(n))) if field == "mwh" || field == "price" => {
                    Err(error(
                        field,
                        format!("must be a decimal string such as \"{n}\", not a JSON number"),
                    ))
                }
                Some(FieldValue::Other(other)) => {
                    Err(error(field, format!("must be a string, not {other}")))
                }
            }
        };
        let unit = |field: &str, e: UnitError| error(field, e.to_string());
        text(ID)?;
        text(1)?;
        let side_text = text(2)?;
        let side = Side::parse(side_text)
            .ok_or_else(|| error("side", format!("`{side_text}` is not \"buy\" or \"sell\"")))?;
        text(3)?;
        let volume = Kwh::parse_mwh(text(4)?).map_err(|e| unit("mwh", e))?;
        if volume == Kwh::ZERO {
            return Err(error("mwh", "must be positive".into()));
        }
        let price = Price::parse_yuan_per_mwh(text(5)?).map_err(|e| unit("price", e))?;
        if fields[PROVINCE].is_some() {
            text(PROVINCE)?;
        }
        // Every field read is a string now.
        let mut take = |slot: usize| match fields[slot].take() {
            Some(FieldValue::Text(text)) => Some(text),
            _ => None,
        };
        let id = take(ID).unwrap_or_default();
        let period = self.periods.index_of(take(3).unwrap_or_default());
        let province = take(PROVINCE).map(|name| self.province_names.index_of(name));
        self.ids.push(id);
        self.provinces.push(province);
        self.orders.push(AuctionOrder {
            period,
            side,
            volume,
            price,
        });
        Ok(())
    }
}

fn order_location(position: usize, id: Option<&str>) -> String {
    match id {
        Some(id) => format!("orders[{position}] (id {id:?})"),
        None => format!("orders[{position}]"),
    }
}

/// One corridor of a coupled file, checked; capacities are resolved per period later.
struct FileCorridor {
    from: String,
    to: String,
    capacity: Kwh,
    capacity_by_period: BTreeMap<String, Kwh>,
    loss: i64,
    tariff: Price,
}

const CORRIDOR_FIELDS: [&str; 6] = [
    "from",
    "to",
    "capacity_mwh",
    "capacity_by_period",
    "loss",
    "tariff",
];

fn parse_corridors(corridors: Option<&Value>) -> Result<Vec<FileCorridor>, InputError> {
    let list = match corridors {
        None => return Ok(Vec::new()),
        Some(value) => value
            .as_array()
            .ok_or_else(|| top("corridors", "not an array of corridors"))?,
    };
    list.iter()
        .enumerate()
        .map(|(position, raw)| parse_corridor(position, raw))
        .collect()
}

fn parse_corridor(position: usize, raw: &Value) -> Result<FileCorridor, InputError> {
    let error = |field: &str, reason: String| InputError {
        location: format!("corridors[{position}]"),
        reason: format!("field `{field}`: {reason}"),
    };
    let object = raw
        .as_object()
        .ok_or_else(|| error("(corridor)", "a corridor must be a JSON object".into()))?;
    if let Some(unknown) = object
        .keys()
        .find(|k| !CORRIDOR_FIELDS.contains(&k.as_str()))
    {
        return Err(error(unknown, "unknown field".into()));
    }
    let string = |field: &str, value: Option<&Value>| -> Result<String, InputError> {
        match value {
            None => Err(error(field, "missing".into())),
            Some(Value::String(s)) if s.is_empty() => Err(error(field, "is empty".into())),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(n)) => Err(error(
                field,
                format!("must be a decimal string such as \"{n}\", not a JSON number"),
            )),
            Some(other) => Err(error(field, format!("must be a string, not {other}"))),
        }
    };
    let text = |field: &str| string(field, object.get(field));
    let from = text("from")?;
    let to = text("to")?;
    if from == to {
        return Err(error(
            "to",
            format!("`{to}` is also the corridor's `from` province"),
        ));
    }
    let capacity =
        Kwh::parse_mwh(&text("capacity_mwh")?).map_err(|e| error("capacity_mwh", e.to_string()))?;
    let mut capacity_by_period = BTreeMap::new();
    match object.get("capacity_by_period") {
        None => {}
        Some(Value::Object(map)) => {
            for (label, value) in map {
                let field = format!("capacity_by_period.{label}");
                let mwh = string(&field, Some(value))?;
                let kwh = Kwh::parse_mwh(&mwh).map_err(|e| error(&field, e.to_string()))?;
                capacity_by_period.insert(label.clone(), kwh);
            }
        }
        Some(other) => {
            return Err(error(
                "capacity_by_period",
                format!("must be an object of period label to MWh, not {other}"),
            ));
        }
    }
    let loss = LossRate::parse(&text("loss")?)
        .map_err(|e| error("loss", e.to_string()))?
        .ten_thousandths();
    let tariff =
        Price::parse_yuan_per_mwh(&text("tariff")?).map_err(|e| error("tariff", e.to_string()))?;
    if tariff < Price::ZERO {
        return Err(error("tariff", format!("`{tariff}` is negative")));
    }
    Ok(FileCorridor {
        from,
        to,
        capacity,
        capacity_by_period,
        loss,
        tariff,
    })
}

/// The result of clearing a file, borrowing its names.
pub struct Cleared<'f> {
    method: Method,
    ids: &'f [Cow<'f, str>],
    /// Period labels, sorted: the output's periods.
    labels: Vec<&'f str>,
    periods: Periods<'f>,
    congestion_rent: bool,
}

enum Periods<'f> {
    Auction(Vec<auction::PeriodClearing>),
    Coupled {
        provinces: Vec<&'f str>,
        /// Corridors sorted by (from, to), the order of the output's `flows`.
        corridors: Vec<&'f FileCorridor>,
        results: Vec<coupling::CoupledPeriod>,
    },
}

impl ClearFile<'_> {
    /// Clears the file's orders. With `congestion_rent`, each coupled flow of the output also
    /// carries `congestion_rent_yuan` (an addition to formats.md's output, so only on request).
    ///
    /// Order ids are checked for repeats on a second thread while the orders clear; a repeat
    /// is reported before any other error of the file, as a check in file order would.
    pub fn clear(&self, congestion_rent: bool) -> Result<Cleared<'_>, InputError> {
        std::thread::scope(|scope| {
            let repeat = scope.spawn(|| self.book.first_repeat());
            let cleared = match &self.pending {
                Some(error) => Err(error.clone()),
                None => self.clear_checked(congestion_rent),
            };
            let repeat = repeat
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            repeat.map_or(cleared, Err)
        })
    }

    fn clear_checked(&self, congestion_rent: bool) -> Result<Cleared<'_>, InputError> {
        let book = &self.book;
        let (labels, period_rank) = book.periods.ranks();
        let periods = if self.method == Method::Coupled {
            self.clear_coupled(&period_rank, &labels)?
        } else {
            let orders: Vec<AuctionOrder> = book
                .orders
                .iter()
                .map(|o| AuctionOrder {
                    period: period_rank[o.period as usize],
                    ..*o
                })
                .collect();
            Periods::Auction(auction::clear(&orders, labels.len(), self.method))
        };
        Ok(Cleared {
            method: self.method,
            ids: &book.ids,
            labels,
            periods,
            congestion_rent,
        })
    }

    fn clear_coupled<'f>(
        &'f self,
        period_rank: &[u32],
        labels: &[&str],
    ) -> Result<Periods<'f>, InputError> {
        let book = &self.book;
        // Every province named by an order or a corridor, sorted.
        let mut provinces: Vec<&str> = (book.province_names.names.iter().map(|n| &**n))
            .chain(self.corridors.iter().flat_map(|c| [&*c.from, &*c.to]))
            .collect();
        provinces.sort_unstable();
        provinces.dedup();
        let rank_of = |name: &str| {
            let rank = provinces
                .binary_search(&name)
                .expect("every name is listed");
            u32::try_from(rank).expect("fewer provinces than orders and corridors")
        };
        let province_rank: Vec<u32> = (book.province_names.names.iter())
            .map(|n| rank_of(n))
            .collect();
        let orders: Vec<CoupledOrder> = book
            .orders
            .iter()
            .zip(&book.provinces)
            .map(|(o, province)| CoupledOrder {
                period: period_rank[o.period as usize],
                province: province.map_or(0, |p| province_rank[p as usize]),
                side: o.side,
                volume: o.volume,
                price: o.price,
            })
            .collect();
        let mut corridors: Vec<&FileCorridor> = self.corridors.iter().collect();
        corridors.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
        let lines: Vec<Corridor> = corridors
            .iter()
            .map(|c| Corridor {
                from: rank_of(&c.from),
                to: rank_of(&c.to),
                capacity: labels
                    .iter()
                    .map(|label| *c.capacity_by_period.get(*label).unwrap_or(&c.capacity))
                    .collect(),
                loss: c.loss,
                tariff: c.tariff,
            })
            .collect();
        let results =
            coupling::clear(&orders, provinces.len(), &lines, labels.len()).map_err(|e| {
                InputError {
                    location: "(file)".into(),
                    reason: e.to_string(),
                }
            })?;
        Ok(Periods::Coupled {
            provinces,
            corridors,
            results,
        })
    }
}

/// The output JSON, formed in memory and written out a megabyte at a time.
struct JsonOut<'w> {
    buf: Vec<u8>,
    out: &'w mut dyn Write,
}

impl JsonOut<'_> {
    /// Bytes kept before they are written out.
    const CHUNK: usize = 1 << 20;

    fn raw(&mut self, text: &str) {
        self.buf.extend_from_slice(text.as_bytes());
    }

    /// A JSON string: as is when nothing in it needs escaping (the ids and labels of real
    /// files), else escaped by serde_json.
    fn string(&mut self, s: &str) {
        if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            self.buf.push(b'"');
            self.buf.extend_from_slice(s.as_bytes());
            self.buf.push(b'"');
        } else {
            serde_json::to_writer(&mut self.buf, s).expect("writing into memory cannot fail");
        }
    }

    /// A scaled integer as a decimal string, the way `domain` displays it: kWh as MWh with
    /// `scale` 3, fen/MWh as yuan/MWh and fen as yuan with `scale` 2.
    fn decimal(&mut self, value: i64, scale: usize) {
        let mut digits = [0u8; 24];
        let mut rest = value.unsigned_abs();
        let mut at = digits.len();
        // At least one digit before the point.
        while rest > 0 || digits.len() - at <= scale {
            at -= 1;
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        let point = digits.len() - scale;
        self.buf.push(b'"');
        if value < 0 {
            self.buf.push(b'-');
        }
        self.buf.extend_from_slice(&digits[at..point]);
        self.buf.push(b'.');
        self.buf.extend_from_slice(&digits[point..]);
        self.buf.push(b'"');
    }

    fn optional_decimal(&mut self, value: Option<i64>, scale: usize) {
        match value {
            Some(value) => self.decimal(value, scale),
            None => self.raw("null"),
        }
    }

    /// A JSON array of objects at `indent`, the way serde_json's pretty printer writes it
    /// (`[]` when empty); `fields` writes an item's fields with their indentation.
    fn array<T>(
        &mut self,
        indent: &str,
        items: impl IntoIterator<Item = T>,
        mut fields: impl FnMut(&mut Self, T) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut items = items.into_iter().peekable();
        if items.peek().is_none() {
            self.raw("[]");
            return Ok(());
        }
        self.raw("[");
        for (i, item) in items.enumerate() {
            self.item(indent, i == 0, item, &mut fields)?;
        }
        self.raw("\n");
        self.raw(indent);
        self.raw("]");
        Ok(())
    }

    /// One item of an array of objects at `indent`, after a comma unless `first`.
    fn item<T>(
        &mut self,
        indent: &str,
        first: bool,
        item: T,
        fields: impl FnOnce(&mut Self, T) -> io::Result<()>,
    ) -> io::Result<()> {
        if !first {
            self.raw(",");
        }
        self.raw("\n");
        self.raw(indent);
        self.raw("  {\n");
        fields(self, item)?;
        self.raw("\n");
        self.raw(indent);
        self.raw("  }");
        if self.buf.len() >= Self::CHUNK {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// A period's fills, each naming its order.
    fn fills(&mut self, ids: &[Cow<str>], fills: &[auction::Fill]) -> io::Result<()> {
        self.array("      ", fills, |out, f| {
            out.raw("          \"order\": ");
            out.string(&ids[f.order]);
            out.raw(",\n          \"mwh\": ");
            out.decimal(f.volume.0, 3);
            out.raw(",\n          \"price\": ");
            out.decimal(f.price.0, 2);
            Ok(())
        })
    }
}

impl Cleared<'_> {
    /// Writes the output JSON: exactly what serde_json's pretty printer makes of formats.md's
    /// output (keys in the documented order, two-space indents), then a newline. Formed by hand
    /// because the printer escapes every key and number and formats through `fmt`, which took a
    /// quarter of the time of `lvdian clear` on 10^6 orders; the periods are formed in two parts
    /// on two threads, then written.
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        let method = match self.method {
            Method::Uniform => "uniform",
            Method::HighLow => "high_low",
            Method::Coupled => "coupled",
        };
        write!(out, "{{\n  \"method\": \"{method}\",\n  \"periods\": ")?;
        let periods = self.labels.len();
        if periods == 0 {
            out.write_all(b"[]")?;
        } else {
            // The periods in two parts of about equal fills, formed on two threads.
            let fills: Vec<usize> = (0..periods).map(|p| self.fill_count(p)).collect();
            let half = fills.iter().sum::<usize>() / 2;
            let mut cut = 0;
            let mut before = 0;
            while cut < periods && before + fills[cut] <= half {
                before += fills[cut];
                cut += 1;
            }
            let (first, second) = std::thread::scope(|scope| {
                let second = scope.spawn(|| self.periods_text(cut..periods));
                let first = self.periods_text(0..cut);
                let second = second
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (first, second)
            });
            out.write_all(b"[")?;
            out.write_all(&first?)?;
            out.write_all(&second?)?;
            out.write_all(b"\n  ]")?;
        }
        out.write_all(b"\n}\n")
    }

    fn fill_count(&self, period: usize) -> usize {
        match &self.periods {
            Periods::Auction(results) => results[period].fills.len(),
            Periods::Coupled { results, .. } => results[period].fills.len(),
        }
    }

    /// The items of `periods` of the output's `periods` array, with their separators.
    fn periods_text(&self, periods: std::ops::Range<usize>) -> io::Result<Vec<u8>> {
        let mut text = Vec::new();
        let mut json = JsonOut {
            buf: Vec::with_capacity(JsonOut::CHUNK + 4096),
            out: &mut text,
        };
        for p in periods {
            json.item("  ", p == 0, p, |json, p| self.period_fields(json, p))?;
        }
        let rest = std::mem::take(&mut json.buf);
        text.extend_from_slice(&rest);
        Ok(text)
    }

    /// One period's fields.
    fn period_fields(&self, json: &mut JsonOut, p: usize) -> io::Result<()> {
        let label = self.labels[p];
        json.raw("      \"period\": ");
        json.string(label);
        json.raw(",\n      \"volume_mwh\": ");
        match &self.periods {
            Periods::Auction(results) => {
                let r = &results[p];
                json.decimal(r.volume.0, 3);
                json.raw(",\n      \"price\": ");
                json.optional_decimal(r.price.map(|p| p.0), 2);
                json.raw(",\n      \"fills\": ");
                json.fills(self.ids, &r.fills)
            }
            Periods::Coupled {
                provinces,
                corridors,
                results,
            } => {
                let r = &results[p];
                json.decimal(r.volume.0, 3);
                json.raw(",\n      \"price\": null,\n      \"provinces\": ");
                json.array(
                    "      ",
                    provinces.iter().zip(&r.provinces),
                    |json, (name, p)| {
                        json.raw("          \"province\": ");
                        json.string(name);
                        json.raw(",\n          \"price\": ");
                        json.optional_decimal(p.price.map(|p| p.0), 2);
                        json.raw(",\n          \"buy_mwh\": ");
                        json.decimal(p.bought.0, 3);
                        json.raw(",\n          \"sell_mwh\": ");
                        json.decimal(p.sold.0, 3);
                        Ok(())
                    },
                )?;
                json.raw(",\n      \"flows\": ");
                json.array("      ", corridors.iter().zip(&r.flows), |json, (c, f)| {
                    json.raw("          \"from\": ");
                    json.string(&c.from);
                    json.raw(",\n          \"to\": ");
                    json.string(&c.to);
                    json.raw(",\n          \"sent_mwh\": ");
                    json.decimal(f.sent.0, 3);
                    json.raw(",\n          \"delivered_mwh\": ");
                    json.decimal(f.delivered.0, 3);
                    if self.congestion_rent {
                        json.raw(",\n          \"congestion_rent_yuan\": ");
                        json.optional_decimal(f.congestion_rent.map(|r| r.0), 2);
                    }
                    Ok(())
                })?;
                json.raw(",\n      \"fills\": ");
                json.fills(self.ids, &r.fills)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn error_of(text: &str) -> String {
        run(text, false).unwrap_err().to_string()
    }

    fn file(orders: &str) -> String {
        format!(r#"{{"method": "uniform", "orders": [{orders}]}}"#)
    }

    const GOOD: &str = r#"{"id": "b1", "participant": "U1", "side": "buy", "period": "h01", "mwh": "10.000", "price": "420.50"}"#;

    /// The good order with one field replaced.
    fn with(field: &str, value: Value) -> String {
        let mut order: Value = serde_json::from_str(GOOD).unwrap();
        order[field] = value;
        file(&order.to_string())
    }

    #[test]
    fn names_the_order_and_field() {
        let at = r#"orders[0] (id "b1"): field "#;
        let cases = [
            ("mwh", json!("-1.000"), "`mwh`: `-1.000` is negative"),
            (
                "mwh",
                json!("1.0001"),
                "`mwh`: `1.0001` has more than 3 decimals",
            ),
            (
                "mwh",
                json!(10.5),
                r#"`mwh`: must be a decimal string such as "10.5", not a JSON number"#,
            ),
            ("mwh", json!("0.000"), "`mwh`: must be positive"),
            ("mwh", json!("1e3"), "`mwh`: `1e3` is not a decimal number"),
            (
                "price",
                json!("420.505"),
                "`price`: `420.505` has more than 2 decimals",
            ),
            (
                "side",
                json!("bid"),
                r#"`side`: `bid` is not "buy" or "sell""#,
            ),
            ("period", json!(""), "`period`: is empty"),
            (
                "participant",
                json!(null),
                "`participant`: must be a string, not null",
            ),
            ("colour", json!("green"), "`colour`: unknown field"),
        ];
        for (field, value, expected) in cases {
            assert_eq!(
                error_of(&with(field, value)),
                format!("{at}{expected}"),
                "{field}"
            );
        }
    }

    #[test]
    fn refuses_duplicates_missing_fields_and_bad_json() {
        assert_eq!(
            error_of(&file(&format!("{GOOD}, {GOOD}"))),
            r#"orders[1] (id "b1"): field `id`: duplicate id, already used by orders[0]"#
        );
        assert_eq!(
            error_of(&file(r#"{"id": "b1", "side": "buy"}"#)),
            r#"orders[0] (id "b1"): field `participant`: missing"#
        );
        assert_eq!(
            error_of(&file(r#"{"id": 7}"#)),
            "orders[0]: field `id`: must be a string, not 7"
        );
        assert_eq!(
            error_of(r#"{"method": "pay_as_bid", "orders": []}"#),
            r#"field `method`: unknown method `pay_as_bid`: use "uniform", "high_low" or "coupled""#
        );
        assert!(
            error_of("{\"method\": \"uniform\",\n \"orders\": [}")
                .starts_with("line 2 column 13: not valid JSON")
        );
    }

    /// A large file: `n` orders over 4 periods, each order on its own line; `order` may change
    /// any of them.
    fn large(method: &str, n: usize, order: impl Fn(usize, &mut Value)) -> String {
        let orders: Vec<String> = (0..n)
            .map(|i| {
                let side = if i % 3 == 0 { "sell" } else { "buy" };
                let province = ["ZJ", "QH", "GS"][i % 3];
                let mut o = json!({
                    "id": format!("o{i}"),
                    "participant": format!("P{}", i % 17),
                    "side": side,
                    "period": format!("h{}", i % 4),
                    "mwh": format!("{}.{:03}", i % 40, i % 999 + 1),
                    "price": format!("{}.{:02}", 200 + i % 300, i % 100),
                    "province": province,
                });
                order(i, &mut o);
                o.to_string()
            })
            .collect();
        let corridors = r#"[{"from": "QH", "to": "ZJ", "capacity_mwh": "100.000", "loss": "0.035", "tariff": "60.00"}]"#;
        format!(
            "{{\"method\": \"{method}\", \"orders\": [\n{}\n], \"corridors\": {corridors}}}\n",
            orders.join(",\n")
        )
    }

    fn on_threads(text: &str, two_threads: bool) -> Result<String, InputError> {
        clear_to_string(&parse_with(text, two_threads)?, true)
    }

    #[test]
    fn two_threads_read_a_large_file_as_one_does() {
        let n = 12_000;
        let keep = |_: usize, _: &mut Value| {};
        let cases: Vec<(&str, String)> = vec![
            ("uniform", large("uniform", n, keep)),
            ("high_low", large("high_low", n, keep)),
            ("coupled", large("coupled", n, keep)),
            (
                "braces and escapes in strings around the middle",
                large("uniform", n, |i, o| {
                    if (n / 2 - 200..n / 2 + 200).contains(&i) {
                        o["participant"] = json!("x\"}, {\"y\n");
                    }
                }),
            ),
            (
                "a repeat across the halves",
                large("uniform", n, |i, o| {
                    if i == n - 3 {
                        o["id"] = json!("o5");
                    }
                }),
            ),
            (
                "a bad order late",
                large("uniform", n, |i, o| {
                    if i == n - 30 {
                        o["price"] = json!(1.5);
                    }
                }),
            ),
            (
                "a missing province",
                large("coupled", n, |i, o| {
                    if i == n - 2 {
                        o.as_object_mut().unwrap().remove("province");
                    }
                }),
            ),
        ];
        for (what, text) in &cases {
            assert!(text.len() >= SPLIT_FROM, "{what}: {} bytes", text.len());
            assert_eq!(on_threads(text, true), on_threads(text, false), "{what}");
        }
        // The cut is taken for a clean file and refused for the others.
        assert!(read_halves(&cases[0].1).is_some());
        assert!(read_halves(&cases[3].1).is_some());
        assert!(read_halves(&cases[5].1).is_none());
        // Layouts the halves leave to one thread.
        let text = &cases[0].1;
        let moved = text.replacen("{\"method\": \"uniform\", ", "{", 1);
        let moved = format!(
            "{}, \"method\": \"uniform\"}}\n",
            moved.trim_end().trim_end_matches('}')
        );
        let twice = format!(
            "{}, \"orders\": []}}\n",
            text.trim_end().trim_end_matches('}')
        );
        let truncated = &text[..text.len() - 40];
        for (what, text) in [("method last", &moved), ("orders twice", &twice)] {
            assert_eq!(on_threads(text, true), on_threads(text, false), "{what}");
        }
        assert_eq!(on_threads(truncated, true), on_threads(truncated, false));
        assert!(on_threads(truncated, true).is_err());
    }

    /// The output written by hand is what serde_json's pretty printer makes of it.
    #[test]
    fn output_is_serde_json_pretty() {
        for text in [
            file(GOOD),
            file(""),
            large("high_low", 300, |i, o| {
                if i == 7 {
                    o["id"] = json!("q\"\\\u{1}中");
                }
            }),
            large("coupled", 300, |_, _| {}),
        ] {
            let output = run(&text, true).unwrap();
            let value: Value = serde_json::from_str(&output).unwrap();
            assert_eq!(output, serde_json::to_string_pretty(&value).unwrap() + "\n");
        }
    }

    proptest::proptest! {
        /// Decimals are written as `domain` displays them.
        #[test]
        fn decimals_are_written_as_domain_displays_them(value: i64) {
            let mut buf = Vec::new();
            let mut sink = std::io::sink();
            let mut json = JsonOut { buf: Vec::new(), out: &mut sink };
            json.decimal(value, 3);
            json.decimal(value, 2);
            buf.extend_from_slice(&json.buf);
            let expected = format!("\"{}\"\"{}\"", Kwh(value).mwh(), Price(value));
            proptest::prop_assert_eq!(String::from_utf8(buf).unwrap(), expected);
        }
    }
}
