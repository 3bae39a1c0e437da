//! Meter data in Parquet (`lvdian meters import M.parquet`, `lvdian settle --meters M.parquet`):
//! the columns of `meters.csv` as a typed file, validated by the same `settlement::MeterParser`
//! rules through its typed entry point [`MeterParser::push_row`].
//!
//! Accepted schema, columns in any order and no others:
//! - `meter`, `participant`: UTF-8 strings (`BYTE_ARRAY` annotated `STRING`/`UTF8`);
//! - `start`: a UTF-8 string `YYYY-MM-DDTHH:MM`, or a `TIMESTAMP` in milli-, micro- or
//!   nanoseconds holding local (Asia/Shanghai) wall time, not adjusted to UTC — what DuckDB
//!   writes for a `TIMESTAMP` column;
//! - `kwh`: `INT32` or `INT64` (signed or unsigned).
//!
//! A null is a bad value of its column (an empty name, `start`/`kwh` shown as `NULL`). Row
//! errors say `line N` with N = the row's 1-based index in the file + 1: the line the row would
//! have in `meters.csv` with its header, so the same data gives the same messages in both
//! formats. Only the low-level column API of the `parquet` crate is used (no Arrow); pages in
//! every codec writers choose are read (uncompressed, snappy, gzip, lz4, lz4_raw, zstd, brotli:
//! Polars writes zstd by default, DuckDB and Spark snappy), decompressed by the crate.
//!
//! Row groups are shared out among threads in contiguous runs, each parsed by its own
//! `MeterParser` and merged with `settlement::merge_parts`; a bad file is read again on one
//! thread so that its errors come in file order, as for CSV.
//!
//! The string columns are decoded by hand a batch at a time ([`FastStr`]): a run of one
//! dictionary index is a fill, and rows whose names are the same dictionary entries as the row
//! before go to the parser as one run of a meter (`MeterParser::push_rows_minute`), which looks
//! the meter up once. DuckDB and Polars write names in dictionary pages, and a month sorted by
//! meter is thousands of rows per run.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, anyhow, bail};
use parquet::basic::{ConvertedType, Encoding, LogicalType, TimeUnit, Type as PhysicalType};
use parquet::column::page::{Page, PageReader};
use parquet::column::reader::ColumnReaderImpl;
use parquet::data_type::{ByteArray, ByteArrayType, DataType, Int32Type, Int64Type};
use parquet::file::reader::{FileReader, RowGroupReader, SerializedFileReader};
use parquet::schema::types::ColumnDescriptor;
use settlement::{MeterData, MeterErrors, MeterParser, YearMonth};

/// Rows decoded at a time per column.
const BATCH: usize = 8192;

/// At most this many threads read the file.
const MAX_THREADS: usize = 8;

/// Whether the path names a Parquet file (by its extension, `.parquet` in any case).
pub fn is_parquet(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// How the `start` column is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StartKind {
    Text,
    /// A local timestamp in units of which there are this many per minute.
    Timestamp {
        per_minute: i64,
    },
}

/// How the `kwh` column is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KwhKind {
    Int32 { unsigned: bool },
    Int64 { unsigned: bool },
}

/// The file's layout: which leaf column holds which field, and how.
#[derive(Debug, Clone, Copy)]
struct Layout {
    meter: usize,
    participant: usize,
    start: usize,
    kwh: usize,
    start_kind: StartKind,
    kwh_kind: KwhKind,
}

fn is_utf8(c: &ColumnDescriptor) -> bool {
    c.physical_type() == PhysicalType::BYTE_ARRAY
        && (matches!(c.logical_type_ref(), Some(LogicalType::String))
            || c.converted_type() == ConvertedType::UTF8)
}

/// What the column is, for error messages.
fn describe(c: &ColumnDescriptor) -> String {
    match c.logical_type_ref() {
        Some(logical) => format!("{} ({logical:?})", c.physical_type()),
        None if c.converted_type() != ConvertedType::NONE => {
            format!("{} ({})", c.physical_type(), c.converted_type())
        }
        None => c.physical_type().to_string(),
    }
}

/// Checks the schema and finds the four columns.
fn layout(reader: &SerializedFileReader<File>) -> anyhow::Result<Layout> {
    let schema = reader.metadata().file_metadata().schema_descr();
    let mut found = [None; 4];
    const NAMES: [&str; 4] = ["meter", "participant", "start", "kwh"];
    for (i, column) in schema.columns().iter().enumerate() {
        let path = column.path().string();
        let Some(k) = NAMES.iter().position(|n| *n == path) else {
            bail!(
                "unexpected column `{path}`: the columns must be exactly {}",
                NAMES.join(", ")
            );
        };
        if column.max_rep_level() != 0 {
            bail!("column `{path}` is repeated (a list); it must be a plain column");
        }
        found[k] = Some(i);
    }
    let mut index = [0; 4];
    for (k, name) in NAMES.iter().enumerate() {
        index[k] = found[k].ok_or_else(|| anyhow!("column `{name}` is missing"))?;
    }
    let [meter, participant, start, kwh] = index;
    for (name, i) in [("meter", meter), ("participant", participant)] {
        let c = schema.column(i);
        if !is_utf8(&c) {
            bail!(
                "column `{name}` is {}, expected a UTF-8 string",
                describe(&c)
            );
        }
    }
    let c = schema.column(start);
    let start_kind = if is_utf8(&c) {
        StartKind::Text
    } else {
        let unit = match (c.physical_type(), c.logical_type_ref(), c.converted_type()) {
            (PhysicalType::INT64, Some(LogicalType::Timestamp(t)), _) => {
                if t.is_adjusted_to_u_t_c {
                    bail!(
                        "column `start` is a TIMESTAMP adjusted to UTC (with time zone); \
                         expected local time: a TIMESTAMP without time zone or a string \
                         YYYY-MM-DDTHH:MM"
                    );
                }
                Some(t.unit)
            }
            (PhysicalType::INT64, None, ConvertedType::TIMESTAMP_MILLIS) => Some(TimeUnit::MILLIS),
            (PhysicalType::INT64, None, ConvertedType::TIMESTAMP_MICROS) => Some(TimeUnit::MICROS),
            _ => None,
        };
        let per_minute = match unit {
            Some(TimeUnit::MILLIS) => 60_000,
            Some(TimeUnit::MICROS) => 60_000_000,
            Some(TimeUnit::NANOS) => 60_000_000_000,
            None => bail!(
                "column `start` is {}, expected a string YYYY-MM-DDTHH:MM or a TIMESTAMP",
                describe(&c)
            ),
        };
        StartKind::Timestamp { per_minute }
    };
    let c = schema.column(kwh);
    let unsigned = match (c.logical_type_ref(), c.converted_type()) {
        (Some(LogicalType::Integer(int)), _) => Some(!int.is_signed),
        (None, ConvertedType::NONE | ConvertedType::INT_8 | ConvertedType::INT_16)
        | (None, ConvertedType::INT_32 | ConvertedType::INT_64) => Some(false),
        (None, ConvertedType::UINT_8 | ConvertedType::UINT_16)
        | (None, ConvertedType::UINT_32 | ConvertedType::UINT_64) => Some(true),
        _ => None,
    };
    let kwh_kind = match (c.physical_type(), unsigned) {
        (PhysicalType::INT32, Some(unsigned)) => KwhKind::Int32 { unsigned },
        (PhysicalType::INT64, Some(unsigned)) => KwhKind::Int64 { unsigned },
        _ => bail!(
            "column `kwh` is {}, expected an integer (INT32 or INT64)",
            describe(&c)
        ),
    };
    Ok(Layout {
        meter,
        participant,
        start,
        kwh,
        start_kind,
        kwh_kind,
    })
}

/// Reads and validates a month of meter data from a Parquet file.
///
/// Errors: the file cannot be read or is not Parquet, the schema is not the one above (naming
/// the column), or [`MeterErrors`] as for `meters.csv`, prefixed by the path.
pub fn read_meters(path: &Path, month: YearMonth) -> anyhow::Result<MeterData> {
    // The `parquet` crate panics on some corrupt pages (fuzzing found a DELTA_BYTE_ARRAY length
    // running past its page: `fuzz/regressions/meter_parquet/`). A corrupt file is refused like
    // any other bad input, with the path, instead of taking the process down.
    std::panic::catch_unwind(|| read_meters_unguarded(path, month)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("a panic");
        Err(anyhow!(
            "cannot read {}: the Parquet decoder failed on corrupt data ({why})",
            path.display()
        ))
    })
}

fn read_meters_unguarded(path: &Path, month: YearMonth) -> anyhow::Result<MeterData> {
    let open = || -> anyhow::Result<SerializedFileReader<File>> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        SerializedFileReader::new(file)
            .with_context(|| format!("cannot read {} as Parquet", path.display()))
    };
    let reader = open()?;
    let layout = layout(&reader).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let groups = reader.num_row_groups();
    // The 0-based index of each row group's first row.
    let mut first_rows = Vec::with_capacity(groups + 1);
    let mut rows = 0u64;
    for g in 0..groups {
        first_rows.push(rows);
        rows += reader.metadata().row_group(g).num_rows() as u64;
    }
    first_rows.push(rows);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get().min(MAX_THREADS))
        .min(groups);
    let read_error = |e: anyhow::Error| anyhow!("cannot read {}: {e:#}", path.display());
    let result = if threads > 1 {
        // Contiguous runs of row groups of about equal rows.
        let cut = |k: usize| {
            let target = rows * k as u64 / threads as u64;
            first_rows.partition_point(|&r| r < target).min(groups)
        };
        let first_rows = &first_rows;
        let parts = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|k| {
                    let (from, to) = (cut(k), if k + 1 == threads { groups } else { cut(k + 1) });
                    scope.spawn(move || -> anyhow::Result<MeterParser> {
                        let reader = open()?;
                        let mut parser = MeterParser::rows(month);
                        for (g, &first) in first_rows.iter().enumerate().take(to).skip(from) {
                            let group = reader.get_row_group(g)?;
                            read_group(&*group, layout, first, &mut parser)?;
                        }
                        Ok(parser)
                    })
                })
                .collect();
            // Every thread joined first: a thread left unjoined when another's panic goes on
            // would make the scope panic again, with its own message instead of the crate's.
            let joined: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
            joined
                .into_iter()
                // A thread's panic goes on with its own message, for `read_meters` to report.
                .map(|joined| joined.unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect::<anyhow::Result<Vec<MeterParser>>>()
        })
        .map_err(read_error)?;
        settlement::merge_parts(parts)
    } else {
        None
    };
    let result: Result<MeterData, MeterErrors> = match result {
        Some(result) => result,
        None => {
            let mut parser = MeterParser::rows(month);
            for (g, &first) in first_rows.iter().take(groups).enumerate() {
                let group = reader.get_row_group(g).map_err(|e| read_error(e.into()))?;
                read_group(&*group, layout, first, &mut parser).map_err(read_error)?;
            }
            parser.finish()
        }
    };
    result.map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// One column of a row group, decoded a batch at a time.
struct Column<T: DataType> {
    reader: ColumnReaderImpl<T>,
    nullable: bool,
    values: Vec<T::T>,
    defs: Vec<i16>,
    /// The next value in `values` (nulls take none).
    next: usize,
}

impl<T: DataType> Column<T> {
    fn new(group: &dyn RowGroupReader, i: usize) -> anyhow::Result<Column<T>> {
        let chunk = group.metadata().column(i);
        let nullable = chunk.column_descr().max_def_level() > 0;
        let pages = CheckedPages {
            pages: group.get_column_page_reader(i)?,
            nullable,
        };
        let reader = ColumnReaderImpl::<T>::new(chunk.column_descr_ptr(), Box::new(pages));
        Ok(Column {
            reader,
            nullable,
            values: Vec::with_capacity(BATCH),
            defs: Vec::with_capacity(BATCH),
            next: 0,
        })
    }

    /// Decodes up to `n` rows; returns how many.
    fn batch(&mut self, n: usize) -> anyhow::Result<usize> {
        self.values.clear();
        self.defs.clear();
        self.next = 0;
        let defs = self.nullable.then_some(&mut self.defs);
        let (rows, _, _) = self.reader.read_records(n, defs, None, &mut self.values)?;
        Ok(rows)
    }

    /// The batch's values by row, `None` for a null, through `f`.
    fn by_row<U>(&self, out: &mut Vec<Option<U>>, f: impl Fn(&T::T) -> U) {
        out.clear();
        if self.nullable {
            let mut values = self.values.iter();
            out.extend(
                self.defs
                    .iter()
                    .map(|&d| if d == 0 { None } else { values.next().map(&f) }),
            );
        } else {
            out.extend(self.values.iter().map(|v| Some(f(v))));
        }
    }

    /// The value of row `r` of the batch, `None` for a null.
    #[inline]
    fn get(&mut self, r: usize) -> Option<&T::T> {
        if self.nullable && self.defs[r] == 0 {
            return None;
        }
        let v = &self.values[self.next];
        self.next += 1;
        Some(v)
    }
}

/// A column's pages on their way to the crate's decoders, DELTA byte-array pages checked first.
///
/// The `parquet` crate (60.1) sizes a buffer for a DELTA_LENGTH_BYTE_ARRAY or DELTA_BYTE_ARRAY
/// page by the value count its length streams claim, before decoding: a corrupt page claiming
/// 2^55 values made it ask for petabytes, and a failed allocation aborts the process (found by
/// the `meter_parquet` fuzz target). A stream never holds more values than its page, so each is
/// checked against the page's count here and a page that claims more is refused as corrupt.
struct CheckedPages {
    pages: Box<dyn PageReader>,
    nullable: bool,
}

impl Iterator for CheckedPages {
    type Item = parquet::errors::Result<Page>;

    fn next(&mut self) -> Option<Self::Item> {
        self.get_next_page().transpose()
    }
}

impl PageReader for CheckedPages {
    fn get_next_page(&mut self) -> parquet::errors::Result<Option<Page>> {
        let page = self.pages.get_next_page()?;
        if let Some(page) = &page {
            check_delta_page(page, self.nullable).map_err(|e| {
                parquet::errors::ParquetError::General(format!("corrupt page: {e}"))
            })?;
        }
        Ok(page)
    }

    fn peek_next_page(
        &mut self,
    ) -> parquet::errors::Result<Option<parquet::column::page::PageMetadata>> {
        self.pages.peek_next_page()
    }

    fn skip_next_page(&mut self) -> parquet::errors::Result<()> {
        self.pages.skip_next_page()
    }
}

/// Checks a data page's DELTA byte-array streams against its value count (see [`CheckedPages`]).
fn check_delta_page(page: &Page, nullable: bool) -> Result<(), String> {
    let encoding = page.encoding();
    if !page.is_data_page()
        || !matches!(
            encoding,
            Encoding::DELTA_LENGTH_BYTE_ARRAY | Encoding::DELTA_BYTE_ARRAY
        )
    {
        return Ok(());
    }
    let layout = data_layout(page, nullable)
        .map_err(|e| e.to_string())?
        .expect("a data page");
    let values = page
        .buffer()
        .get(layout.values_at..)
        .ok_or("the levels run past the page")?;
    let limit = layout.num_values as u64;
    if encoding == Encoding::DELTA_BYTE_ARRAY {
        // Prefix lengths, then the suffixes as DELTA_LENGTH_BYTE_ARRAY.
        let end = delta_stream_end(values, limit)?;
        delta_stream_end(&values[end..], limit).map(drop)
    } else {
        delta_stream_end(values, limit).map(drop)
    }
}

/// Where a data page's parts are.
struct DataLayout {
    /// Its value count (levels, nulls included).
    num_values: usize,
    /// The encoding of its values.
    encoding: Encoding,
    /// Its definition levels (RLE), from and to, when the column is nullable.
    defs: Option<(usize, usize)>,
    /// Where its values start.
    values_at: usize,
}

/// The layout of a data page of a column without repetition levels, `None` for a dictionary
/// page. Version 1 pages hold the definition levels (RLE, after a 4-byte length) before the
/// values; version 2 pages say how long their levels are.
fn data_layout(page: &Page, nullable: bool) -> anyhow::Result<Option<DataLayout>> {
    Ok(Some(match page {
        Page::DictionaryPage { .. } => return Ok(None),
        Page::DataPage {
            buf,
            num_values,
            encoding,
            def_level_encoding,
            ..
        } => {
            let defs = if nullable {
                if *def_level_encoding != Encoding::RLE {
                    bail!("definition levels in encoding {def_level_encoding} are not supported");
                }
                let len = u32::from_le_bytes(
                    buf.get(..4)
                        .ok_or_else(|| anyhow!("truncated page"))?
                        .try_into()
                        .expect("4 bytes"),
                ) as usize;
                Some((4, 4 + len))
            } else {
                None
            };
            DataLayout {
                num_values: *num_values as usize,
                encoding: *encoding,
                values_at: defs.map_or(0, |(_, to)| to),
                defs,
            }
        }
        Page::DataPageV2 {
            num_values,
            encoding,
            def_levels_byte_len,
            rep_levels_byte_len,
            ..
        } => {
            let from = *rep_levels_byte_len as usize;
            let to = from + *def_levels_byte_len as usize;
            DataLayout {
                num_values: *num_values as usize,
                encoding: *encoding,
                defs: nullable.then_some((from, to)),
                values_at: to,
            }
        }
    }))
}

/// Where a DELTA_BINARY_PACKED stream at the start of `data` ends, having checked that it holds
/// at most `limit` values. Its loops are bounded by that count.
fn delta_stream_end(data: &[u8], limit: u64) -> Result<usize, String> {
    let mut pos = 0;
    let block_size = uleb(data, &mut pos, "block size")?;
    let miniblocks = uleb(data, &mut pos, "miniblock count")?;
    let total = uleb(data, &mut pos, "value count")?;
    uleb(data, &mut pos, "first value")?;
    if total > limit {
        return Err(format!(
            "a DELTA stream claims {total} values in a page of {limit}"
        ));
    }
    if block_size == 0 || miniblocks == 0 || block_size % miniblocks != 0 || block_size > 1 << 20 {
        return Err(format!(
            "a DELTA block of {block_size} values in {miniblocks} miniblocks"
        ));
    }
    let per_miniblock = block_size / miniblocks;
    // Each block: its least delta, one bit width per miniblock, then the miniblocks that hold
    // values (those after the last value are absent).
    let mut left = total.saturating_sub(1);
    while left > 0 {
        uleb(data, &mut pos, "least delta")?;
        let widths = data
            .get(pos..pos + miniblocks as usize)
            .ok_or("the bit widths are cut short")?
            .to_vec();
        pos += widths.len();
        for width in widths {
            if left == 0 {
                break;
            }
            if width > 64 {
                return Err(format!("a bit width of {width}"));
            }
            pos += (per_miniblock * u64::from(width)).div_ceil(8) as usize;
            left = left.saturating_sub(per_miniblock);
        }
        if pos > data.len() {
            return Err("a miniblock runs past the page".to_owned());
        }
    }
    Ok(pos)
}

/// An unsigned LEB128 number at `data[*pos..]`, moving `pos` past it.
fn uleb(data: &[u8], pos: &mut usize, what: &str) -> Result<u64, String> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *data
            .get(*pos)
            .ok_or_else(|| format!("the {what} is cut short"))?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(format!("the {what} is too long"))
}

/// A row's id in a string column, for telling rows of the same value apart cheaply: a
/// dictionary entry's id is its index, so equal ids of two rows mean equal bytes. A value read
/// some other way has an id with this bit set, equal to no other row's, and a null is
/// [`NULL_ID`].
const UNIQUE: u32 = 1 << 31;
const NULL_ID: u32 = u32::MAX;

/// Whether two rows' ids prove their values are the same bytes.
#[inline]
fn same_value(a: u32, b: u32) -> bool {
    a == b && a < UNIQUE
}

/// A UTF-8 column: [`FastStr`] for the encodings it knows (those DuckDB and most writers use),
/// else the crate's generic reader.
enum StrColumn {
    Fast(FastStr),
    Generic(Column<ByteArrayType>),
}

impl StrColumn {
    fn new(group: &dyn RowGroupReader, i: usize) -> anyhow::Result<StrColumn> {
        let chunk = group.metadata().column(i);
        #[allow(deprecated)] // BIT_PACKED: listed for (absent) repetition levels by some writers
        let known = chunk.encodings().all(|e| {
            matches!(
                e,
                Encoding::PLAIN
                    | Encoding::PLAIN_DICTIONARY
                    | Encoding::RLE_DICTIONARY
                    | Encoding::RLE
                    | Encoding::BIT_PACKED
            )
        });
        let max_def = chunk.column_descr().max_def_level();
        Ok(if known && max_def <= 1 {
            StrColumn::Fast(FastStr {
                pages: group.get_column_page_reader(i)?,
                nullable: max_def == 1,
                dict: None,
                entries: Vec::new(),
                page: None,
                left: 0,
                defs: Hybrid::default(),
                values: Values::Plain { pos: 0 },
                ids: Vec::with_capacity(BATCH),
                levels: Vec::new(),
                plain: Vec::new(),
                plain_entries: Vec::new(),
            })
        } else {
            StrColumn::Generic(Column::new(group, i)?)
        })
    }

    /// Decodes the next `n` rows; returns how many there were.
    fn batch(&mut self, n: usize) -> anyhow::Result<usize> {
        match self {
            StrColumn::Fast(c) => c.batch(n).map(|()| n),
            StrColumn::Generic(c) => c.batch(n),
        }
    }

    /// The id of row `r` of the batch. Only a dictionary's values can be the same as another
    /// row's, so only rows of a [`FastStr`] may be skipped by [`get`](Self::get).
    #[inline]
    fn id(&self, r: usize) -> u32 {
        match self {
            StrColumn::Fast(c) => c.ids[r],
            StrColumn::Generic(_) => UNIQUE,
        }
    }

    /// The bytes of row `r` of the batch, `None` for a null. Rows are asked for in order, each
    /// once, except that rows of the same value as the row before may be skipped.
    #[inline]
    fn get(&mut self, r: usize) -> Option<&[u8]> {
        match self {
            StrColumn::Fast(c) => c.get(r),
            StrColumn::Generic(c) => c.get(r).map(ByteArray::data),
        }
    }
}

/// A byte-array column decoded straight from the page buffers, a batch of rows at a time:
/// PLAIN and dictionary pages, definition levels in RLE. Runs of one dictionary entry (a
/// meter's rows, in a file sorted by meter) are filled in bulk. The crate's value decoder hands
/// out a reference-counted buffer per value, which costs more than all the validation.
struct FastStr {
    pages: Box<dyn PageReader>,
    nullable: bool,
    /// The dictionary page and where its entries are in it.
    dict: Option<Page>,
    entries: Vec<(u32, u32)>,
    /// The data page being read, and how many of its values (levels) are left.
    page: Option<Page>,
    left: usize,
    defs: Hybrid,
    values: Values,
    /// The batch: each row's id (see [`UNIQUE`]).
    ids: Vec<u32>,
    /// The definition levels of the batch's rows in one page.
    levels: Vec<u32>,
    /// The bytes of the batch's PLAIN values, and where each is in them.
    plain: Vec<u8>,
    plain_entries: Vec<(usize, usize)>,
}

/// Where a data page's values are.
enum Values {
    Plain { pos: usize },
    Dict(Hybrid),
}

impl FastStr {
    fn batch(&mut self, n: usize) -> anyhow::Result<()> {
        self.ids.clear();
        self.plain.clear();
        self.plain_entries.clear();
        while self.ids.len() < n {
            while self.left == 0 {
                self.load_page()?;
            }
            let take = self.left.min(n - self.ids.len());
            self.left -= take;
            let from = self.ids.len();
            let buf: &[u8] = self.page.as_ref().expect("a page is loaded").buffer();
            let present = if self.nullable {
                self.levels.clear();
                self.defs.read(buf, take, &mut self.levels)?;
                self.levels.iter().filter(|&&level| level != 0).count()
            } else {
                take
            };
            match &mut self.values {
                Values::Dict(indexes) => {
                    indexes.read(buf, present, &mut self.ids)?;
                    if let Some(&i) = self.ids[from..].iter().max()
                        && i as usize >= self.entries.len()
                    {
                        bail!("dictionary index {i} out of range");
                    }
                }
                Values::Plain { pos } => {
                    for _ in 0..present {
                        let (at, len) = plain_entry(buf, *pos)?;
                        *pos = at + len;
                        self.ids.push(UNIQUE | self.plain_entries.len() as u32);
                        self.plain_entries.push((self.plain.len(), len));
                        self.plain.extend_from_slice(&buf[at..at + len]);
                    }
                }
            }
            if present < take {
                // Spread the values over their rows, nulls between; from the back, so that each
                // value moves (never left) before its place is taken.
                self.ids.resize(from + take, NULL_ID);
                let mut value = from + present;
                for (i, &level) in self.levels.iter().enumerate().rev() {
                    self.ids[from + i] = if level == 0 {
                        NULL_ID
                    } else {
                        value -= 1;
                        self.ids[value]
                    };
                }
            }
        }
        Ok(())
    }

    #[inline]
    fn get(&self, r: usize) -> Option<&[u8]> {
        let id = self.ids[r];
        if id == NULL_ID {
            None
        } else if id >= UNIQUE {
            let (at, len) = self.plain_entries[(id - UNIQUE) as usize];
            Some(&self.plain[at..at + len])
        } else {
            let (at, len) = self.entries[id as usize];
            let dict: &[u8] = self
                .dict
                .as_ref()
                .expect("entries need a dictionary")
                .buffer();
            Some(&dict[at as usize..(at + len) as usize])
        }
    }

    fn load_page(&mut self) -> anyhow::Result<()> {
        let page = self
            .pages
            .get_next_page()?
            .ok_or_else(|| anyhow!("a column ends before its row group's last row"))?;
        let (values_at, encoding) = match &page {
            Page::DictionaryPage {
                buf,
                num_values,
                encoding,
                ..
            } => {
                if !matches!(encoding, Encoding::PLAIN | Encoding::PLAIN_DICTIONARY) {
                    bail!("dictionary page in encoding {encoding} is not supported");
                }
                // One dictionary per column chunk, before its data: ids stay valid within it.
                if self.dict.is_some() {
                    bail!("a second dictionary page in a column chunk");
                }
                let count = *num_values as usize;
                if count >= UNIQUE as usize {
                    bail!("a dictionary of {count} entries");
                }
                self.entries.clear();
                let mut pos = 0;
                for _ in 0..count {
                    let (at, len) = plain_entry(buf, pos)?;
                    self.entries.push((at as u32, len as u32));
                    pos = at + len;
                }
                self.dict = Some(page);
                return Ok(());
            }
            data => {
                let layout = data_layout(data, self.nullable)?.expect("a data page");
                self.left = layout.num_values;
                if let Some((from, to)) = layout.defs {
                    self.defs = Hybrid::new(from, to, 1, data.buffer().len())?;
                }
                (layout.values_at, layout.encoding)
            }
        };
        let buf: &[u8] = page.buffer();
        self.values = match encoding {
            Encoding::PLAIN => Values::Plain { pos: values_at },
            Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY => {
                if self.dict.is_none() {
                    bail!("a dictionary-encoded page without a dictionary");
                }
                let width = *buf
                    .get(values_at)
                    .ok_or_else(|| anyhow!("truncated page"))?;
                Values::Dict(Hybrid::new(
                    values_at + 1,
                    buf.len(),
                    u32::from(width),
                    buf.len(),
                )?)
            }
            other => bail!("values in encoding {other} are not supported"),
        };
        self.page = Some(page);
        Ok(())
    }
}

/// A PLAIN byte array at `pos`: where its bytes start and how many.
#[inline]
fn plain_entry(buf: &[u8], pos: usize) -> anyhow::Result<(usize, usize)> {
    let head = buf
        .get(pos..pos + 4)
        .ok_or_else(|| anyhow!("truncated PLAIN value"))?;
    let len = u32::from_le_bytes(head.try_into().expect("4 bytes")) as usize;
    if pos + 4 + len > buf.len() {
        bail!("truncated PLAIN value");
    }
    Ok((pos + 4, len))
}

/// A reader of Parquet's RLE / bit-packing hybrid (definition levels, dictionary indexes) in
/// bytes `pos..end` of a page.
#[derive(Default)]
struct Hybrid {
    pos: usize,
    end: usize,
    width: u32,
    rle_left: usize,
    rle_value: u32,
    packed_left: usize,
    /// The bit where the next bit-packed value starts.
    bit: usize,
}

impl Hybrid {
    fn new(pos: usize, end: usize, width: u32, len: usize) -> anyhow::Result<Hybrid> {
        if end > len || pos > end || width > 32 {
            bail!("bad run of levels or indexes");
        }
        Ok(Hybrid {
            pos,
            end,
            width,
            ..Hybrid::default()
        })
    }

    /// Appends the next `n` values to `out`: a run of one value as a fill, bit-packed values
    /// one by one.
    fn read(&mut self, buf: &[u8], mut n: usize, out: &mut Vec<u32>) -> anyhow::Result<()> {
        out.reserve(n);
        while n > 0 {
            if self.rle_left > 0 {
                let k = n.min(self.rle_left);
                out.extend(std::iter::repeat_n(self.rle_value, k));
                self.rle_left -= k;
                n -= k;
            } else if self.packed_left > 0 {
                let k = n.min(self.packed_left);
                let mask = (1u64 << self.width) - 1;
                for _ in 0..k {
                    out.push(((self.word(buf) >> (self.bit % 8)) & mask) as u32);
                    self.bit += self.width as usize;
                }
                self.packed_left -= k;
                n -= k;
            } else {
                self.next_run(buf)?;
            }
        }
        Ok(())
    }

    /// The 8 bytes from the next bit-packed value's first byte, zeros past the end.
    #[inline]
    fn word(&self, buf: &[u8]) -> u64 {
        let byte = self.bit / 8;
        match buf.get(byte..byte + 8) {
            Some(w) if byte + 8 <= self.end => u64::from_le_bytes(w.try_into().expect("8 bytes")),
            _ => {
                let mut w = [0u8; 8];
                if byte < self.end {
                    let n = (self.end - byte).min(8);
                    w[..n].copy_from_slice(&buf[byte..byte + n]);
                }
                u64::from_le_bytes(w)
            }
        }
    }

    /// Reads the next run's header (and an RLE run's value).
    fn next_run(&mut self, buf: &[u8]) -> anyhow::Result<()> {
        if self.pos >= self.end {
            bail!("a run of levels or indexes ends early");
        }
        let mut header: u64 = 0;
        let mut shift = 0;
        loop {
            let b = *buf[..self.end]
                .get(self.pos)
                .ok_or_else(|| anyhow!("truncated run header"))?;
            self.pos += 1;
            header |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 35 {
                bail!("bad run header");
            }
        }
        let count = usize::try_from(header >> 1).map_err(|_| anyhow!("bad run header"))?;
        if header & 1 == 0 {
            let bytes = self.width.div_ceil(8) as usize;
            let mut v = [0u8; 4];
            v[..bytes].copy_from_slice(
                buf[..self.end]
                    .get(self.pos..self.pos + bytes)
                    .ok_or_else(|| anyhow!("truncated run"))?,
            );
            self.pos += bytes;
            self.rle_value = u32::from_le_bytes(v);
            self.rle_left = count;
        } else {
            self.packed_left = count * 8;
            self.bit = self.pos * 8;
            self.pos = (self.pos + count * self.width as usize).min(self.end);
        }
        Ok(())
    }
}

/// The `start` column in either form.
enum StartColumn {
    Text(StrColumn),
    Timestamp(Column<Int64Type>, i64, LocalTime),
}

/// The `kwh` column in either width.
enum KwhColumn {
    Int32(Column<Int32Type>, bool),
    Int64(Column<Int64Type>, bool),
}

/// A start's minute that no timestamp gives: the timestamp is off the minute.
const NOT_WHOLE: i64 = i64::MIN;

/// Each timestamp as local minutes, or [`NOT_WHOLE`], in units of which there are
/// `per_minute` in a minute (made a constant, so that the divisions become multiplications).
fn minutes(timestamps: &[Option<i64>], per_minute: i64, out: &mut Vec<i64>) {
    fn by<const PER_MINUTE: i64>(timestamps: &[Option<i64>], out: &mut Vec<i64>) {
        out.extend(timestamps.iter().map(|t| match t {
            Some(t) if t % PER_MINUTE == 0 => t / PER_MINUTE,
            _ => NOT_WHOLE,
        }));
    }
    out.clear();
    match per_minute {
        60_000 => by::<60_000>(timestamps, out),
        60_000_000 => by::<60_000_000>(timestamps, out),
        _ => by::<60_000_000_000>(timestamps, out),
    }
}

/// Feeds one row group to `parser`; `first` is the 0-based index of its first row in the file.
fn read_group(
    group: &dyn RowGroupReader,
    layout: Layout,
    first: u64,
    parser: &mut MeterParser,
) -> anyhow::Result<()> {
    let rows = group.metadata().num_rows() as usize;
    let mut meter = StrColumn::new(group, layout.meter)?;
    let mut participant = StrColumn::new(group, layout.participant)?;
    let mut start = match layout.start_kind {
        StartKind::Text => StartColumn::Text(StrColumn::new(group, layout.start)?),
        StartKind::Timestamp { per_minute } => StartColumn::Timestamp(
            Column::new(group, layout.start)?,
            per_minute,
            LocalTime::default(),
        ),
    };
    let mut kwh = match layout.kwh_kind {
        KwhKind::Int32 { unsigned } => KwhColumn::Int32(Column::new(group, layout.kwh)?, unsigned),
        KwhKind::Int64 { unsigned } => KwhColumn::Int64(Column::new(group, layout.kwh)?, unsigned),
    };
    // The batch's readings and timestamps by row, and the timestamps as minutes.
    let mut readings = Vec::with_capacity(BATCH);
    let mut timestamps = Vec::with_capacity(BATCH);
    let mut starts = Vec::with_capacity(BATCH);
    let mut done = 0;
    while done < rows {
        let want = BATCH.min(rows - done);
        let counts = [
            meter.batch(want)?,
            participant.batch(want)?,
            match &mut start {
                StartColumn::Text(c) => c.batch(want)?,
                StartColumn::Timestamp(c, ..) => c.batch(want)?,
            },
            match &mut kwh {
                KwhColumn::Int32(c, _) => c.batch(want)?,
                KwhColumn::Int64(c, _) => c.batch(want)?,
            },
        ];
        if counts.iter().any(|&n| n != want) {
            bail!(
                "row group of {rows} rows ends early in a column (rows read: {counts:?} of {want})"
            );
        }
        match &kwh {
            KwhColumn::Int32(c, unsigned) => c.by_row(&mut readings, |&v| {
                if *unsigned {
                    i64::from(v as u32)
                } else {
                    i64::from(v)
                }
            }),
            // Above 2^63 unsigned: too large anyway.
            KwhColumn::Int64(c, unsigned) => {
                c.by_row(
                    &mut readings,
                    |&v| {
                        if *unsigned && v < 0 { i64::MAX } else { v }
                    },
                )
            }
        }
        if let StartColumn::Timestamp(c, per_minute, _) = &start {
            c.by_row(&mut timestamps, |&t| t);
            minutes(&timestamps, *per_minute, &mut starts);
        }
        let line = |r: usize| first + (done + r) as u64 + 2;
        let mut r = 0;
        while r < want {
            // Whole minutes, as every good start is: the rows of the same names after this one
            // (the same dictionary entries) go to the parser as one run, placed without forming
            // their starts' text.
            let whole = matches!(start, StartColumn::Timestamp(..)) && starts[r] != NOT_WHOLE;
            let mut end = r + 1;
            if whole {
                let (meter_id, participant_id) = (meter.id(r), participant.id(r));
                while end < want
                    && starts[end] != NOT_WHOLE
                    && same_value(meter.id(end), meter_id)
                    && same_value(participant.id(end), participant_id)
                {
                    end += 1;
                }
            }
            let m = meter.get(r).unwrap_or_default();
            let p = participant.get(r).unwrap_or_default();
            match &mut start {
                _ if whole => {
                    parser.push_rows_minute(line(r), m, p, &starts[r..end], &readings[r..end]);
                }
                StartColumn::Text(c) => {
                    let s = c.get(r).unwrap_or(b"NULL");
                    parser.push_row(line(r), m, p, s, readings[r]);
                }
                StartColumn::Timestamp(_, per_minute, local) => {
                    let s = match timestamps[r] {
                        Some(t) => local.format_in(t, *per_minute),
                        None => b"NULL",
                    };
                    parser.push_row(line(r), m, p, s, readings[r]);
                }
            }
            r = end;
        }
        done += want;
    }
    Ok(())
}

/// Formats local timestamps as `YYYY-MM-DDTHH:MM`, caching the date part (rows of one day
/// share it). A timestamp off the minute gets seconds and a fraction, which the parser then
/// refuses as malformed.
#[derive(Default)]
struct LocalTime {
    /// The cached day's midnight, in the timestamp's unit, if a day is cached.
    day_start: Option<i64>,
    /// The day's `YYYY-MM-DDT00:00`, with `HH:MM` (and seconds) of the last timestamp.
    text: Vec<u8>,
    /// The length of the day's text without seconds.
    len: usize,
}

impl LocalTime {
    /// Formats `t`, in units of which there are `PER_MINUTE` in a minute (a constant, so that
    /// the divisions become multiplications: this runs once per row).
    #[inline]
    fn format<const PER_MINUTE: i64>(&mut self, t: i64) -> &[u8] {
        let per_day = PER_MINUTE * 1440;
        let offset = match self.day_start {
            Some(start)
                if t >= start && i128::from(t) - i128::from(start) < i128::from(per_day) =>
            {
                t - start
            }
            _ => {
                let day = t.div_euclid(per_day);
                let (y, m, d) = domain::civil_from_days(day);
                self.text.clear();
                self.text
                    .extend_from_slice(format!("{y:04}-{m:02}-{d:02}T00:00").as_bytes());
                self.len = self.text.len();
                self.day_start = day.checked_mul(per_day);
                t.rem_euclid(per_day)
            }
        };
        self.text.truncate(self.len);
        let (minute, below) = (offset / PER_MINUTE, offset % PER_MINUTE);
        let (h, mi) = ((minute / 60) as u8, (minute % 60) as u8);
        let n = self.len;
        self.text[n - 5..].copy_from_slice(&[
            b'0' + h / 10,
            b'0' + h % 10,
            b':',
            b'0' + mi / 10,
            b'0' + mi % 10,
        ]);
        if below != 0 {
            // Seconds and the rest, in the unit's digits.
            let per_second = PER_MINUTE / 60;
            let digits = per_second.ilog10() as usize;
            let (s, frac) = (below / per_second, below % per_second);
            self.text
                .extend_from_slice(format!(":{s:02}.{frac:0digits$}").as_bytes());
        }
        &self.text
    }

    /// [`format`](Self::format) for a unit chosen at run time.
    #[inline]
    fn format_in(&mut self, t: i64, per_minute: i64) -> &[u8] {
        match per_minute {
            60_000 => self.format::<60_000>(t),
            60_000_000 => self.format::<60_000_000>(t),
            _ => self.format::<60_000_000_000>(t),
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn delta_streams_claiming_more_than_their_page_are_refused() {
        // block size 128, 4 miniblocks, 2^53 values, first value 0.
        let mut huge = vec![0x80, 0x01, 0x04];
        huge.extend([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00]);
        assert_eq!(
            super::delta_stream_end(&huge, 24),
            Err("a DELTA stream claims 9007199254740992 values in a page of 24".to_owned())
        );
        // 3 values: the header (5 bytes), one block's least delta and 4 bit widths (1, 0, 0,
        // 0), and its first miniblock only (32 values of 1 bit: 4 bytes); what follows is the
        // next stream's.
        let stream = [
            0x80, 0x01, 0x04, 0x03, 0x0a, 0x00, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
        ];
        let mut page = stream.to_vec();
        page.extend([0x80, 0x01]);
        assert_eq!(super::delta_stream_end(&page, 3), Ok(14));
        assert_eq!(
            super::delta_stream_end(&page, 2),
            Err("a DELTA stream claims 3 values in a page of 2".to_owned())
        );
        // Cut short, or a block of no values: refused, not read past.
        assert!(super::delta_stream_end(&stream[..12], 3).is_err());
        assert!(super::delta_stream_end(&[0x00, 0x04, 0x03, 0x0a], 3).is_err());
    }
    use super::*;

    #[test]
    fn local_times_format() {
        let mut t = LocalTime::default();
        let us = 60_000_000;
        // 2023-05-01T00:15 is 19478 days and 15 minutes after the epoch.
        let may1 = 19_478 * 1440;
        assert_eq!(t.format_in((may1 + 15) * us, us), b"2023-05-01T00:15");
        assert_eq!(t.format_in((may1 + 1439) * us, us), b"2023-05-01T23:59");
        assert_eq!(t.format_in((may1 + 1440) * us, us), b"2023-05-02T00:00");
        assert_eq!(
            t.format_in((may1 + 15) * us + 30_000_000, us),
            b"2023-05-01T00:15:30.000000"
        );
        assert_eq!(t.format_in((may1 + 15) * us, us), b"2023-05-01T00:15");
        assert_eq!(t.format_in(-60_000, 60_000), b"1969-12-31T23:59");
        assert_eq!(domain::civil_from_days(0), (1970, 1, 1));
        assert_eq!(domain::civil_from_days(19_478), (2023, 5, 1));
        assert_eq!(domain::civil_from_days(11_016), (2000, 2, 29));
    }
}
