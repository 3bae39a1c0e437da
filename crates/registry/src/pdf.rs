//! A minimal PDF 1.4 writer for text documents in Chinese and Latin script, without a font file.
//!
//! Text uses the predefined CJK font `STSong-Light` through the predefined CMap `UniGB-UCS2-H`:
//! a Type0 font whose descendant is a CIDFontType0 with CIDSystemInfo Adobe/GB1/4, so any
//! conforming reader renders Chinese with its own Song typeface. Strings are written as UTF-16BE
//! hex (that CMap's codes are UCS-2), and a `/ToUnicode` CMap maps them back so text can be
//! extracted and searched. Coordinates are in points; widths are computed in thousandths of a
//! point with integers only.

use std::collections::BTreeSet;
use std::fmt::Write as _;

/// A4 portrait, in points.
pub(crate) const PAGE_WIDTH: i64 = 595;
/// A4 portrait, in points.
pub(crate) const PAGE_HEIGHT: i64 = 842;

/// Advance widths (1/1000 em) of STSong-Light's proportional Latin glyphs, CIDs 1–95, which
/// `UniGB-UCS2-H` maps U+0020–U+007E to. Every other glyph used here is 1000 (full width).
const LATIN_WIDTHS: [u16; 95] = [
    207, 270, 342, 467, 462, 797, 710, 239, 374, 374, 423, 605, 238, 375, 238, 334, 462, 462, 462,
    462, 462, 462, 462, 462, 462, 462, 238, 238, 605, 605, 605, 344, 748, 684, 560, 695, 739, 563,
    511, 729, 793, 318, 312, 666, 526, 896, 758, 772, 544, 772, 628, 465, 607, 753, 711, 972, 647,
    620, 607, 374, 333, 374, 606, 500, 239, 417, 503, 427, 529, 415, 264, 444, 518, 241, 230, 495,
    228, 793, 527, 524, 524, 504, 338, 336, 277, 517, 450, 652, 466, 452, 407, 370, 258, 370, 605,
];

/// Something drawn on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    /// Text whose baseline starts at (`x_milli` / 1000, `y`), `size` points high.
    Text {
        x_milli: i64,
        y: i64,
        size: i64,
        text: String,
    },
    /// A thin straight line.
    Rule { x1: i64, y1: i64, x2: i64, y2: i64 },
}

/// The width of `text` at `size` points, in thousandths of a point.
pub(crate) fn text_width_milli(text: &str, size: i64) -> i64 {
    text.chars()
        .map(|c| {
            let code = u32::from(c);
            let w = if (0x20..=0x7e).contains(&code) {
                LATIN_WIDTHS[(code - 0x20) as usize]
            } else {
                1000
            };
            i64::from(w) * size
        })
        .sum()
}

/// The UCS-2 code of a character; characters beyond the Basic Multilingual Plane (which
/// `UniGB-UCS2-H` cannot address) become `?`.
fn ucs2(c: char) -> u16 {
    u16::try_from(u32::from(c)).unwrap_or(u16::from(b'?'))
}

/// Writes thousandths as a PDF number (`12.345`, `-0.5` as `-0.500`).
fn milli(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let m = v.unsigned_abs();
    format!("{sign}{}.{:03}", m / 1000, m % 1000)
}

/// A PDF text string: `<FEFF…>` hex of UTF-16BE with a byte-order mark (for the info
/// dictionary).
fn text_string(text: &str) -> String {
    let mut out = String::from("<FEFF");
    for unit in text.encode_utf16() {
        write!(out, "{unit:04X}").expect("writing to a string");
    }
    out.push('>');
    out
}

fn content_stream(items: &[Item]) -> String {
    let mut out = String::new();
    for item in items {
        match item {
            Item::Text {
                x_milli,
                y,
                size,
                text,
            } => {
                write!(out, "BT /F1 {size} Tf 1 0 0 1 {} {y} Tm <", milli(*x_milli))
                    .expect("writing to a string");
                for c in text.chars() {
                    write!(out, "{:04X}", ucs2(c)).expect("writing to a string");
                }
                out.push_str("> Tj ET\n");
            }
            Item::Rule { x1, y1, x2, y2 } => {
                writeln!(out, "0.5 w {x1} {y1} m {x2} {y2} l S").expect("writing to a string");
            }
        }
    }
    out
}

/// The `/ToUnicode` CMap: every code used maps to itself (the codes are UCS-2).
fn to_unicode_cmap(used_high_bytes: &BTreeSet<u8>) -> String {
    let mut out = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let highs: Vec<u8> = used_high_bytes.iter().copied().collect();
    for chunk in highs.chunks(100) {
        writeln!(out, "{} beginbfrange", chunk.len()).expect("writing to a string");
        for h in chunk {
            writeln!(out, "<{h:02X}00> <{h:02X}FF> <{h:02X}00>").expect("writing to a string");
        }
        out.push_str("endbfrange\n");
    }
    out.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    out
}

/// Renders pages into a complete PDF file with a correct cross-reference table.
pub(crate) fn render(pages: &[Vec<Item>], title: &str) -> Vec<u8> {
    assert!(!pages.is_empty(), "a PDF needs a page");
    let mut used = BTreeSet::new();
    for item in pages.iter().flatten() {
        if let Item::Text { text, .. } = item {
            used.extend(text.chars().map(|c| (ucs2(c) >> 8) as u8));
        }
    }
    let widths: Vec<String> = LATIN_WIDTHS.iter().map(u16::to_string).collect();

    // Objects 1–7 are fixed; each page then takes two: the page and its content.
    let page_obj = |i: usize| 8 + 2 * i;
    let mut objects: Vec<Vec<u8>> = Vec::new();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..pages.len())
        .map(|i| format!("{} 0 R", page_obj(i)))
        .collect();
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        )
        .into_bytes(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light-UniGB-UCS2-H \
          /Encoding /UniGB-UCS2-H /DescendantFonts [4 0 R] /ToUnicode 6 0 R >>"
            .to_vec(),
    );
    objects.push(
        format!(
            "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light \
             /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> \
             /FontDescriptor 5 0 R /DW 1000 /W [1 [{}]] >>",
            widths.join(" ")
        )
        .into_bytes(),
    );
    objects.push(
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 \
          /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 857 /Descent -143 \
          /CapHeight 857 /StemV 91 >>"
            .to_vec(),
    );
    objects.push(stream(to_unicode_cmap(&used).as_bytes()));
    objects.push(format!("<< /Title {} /Producer (lvdian) >>", text_string(title)).into_bytes());
    for (i, items) in pages.iter().enumerate() {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
                 /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                page_obj(i) + 1
            )
            .into_bytes(),
        );
        objects.push(stream(content_stream(items).as_bytes()));
    }

    let mut out: Vec<u8> = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        writeln!(table, "{offset:010} 00000 n ").expect("writing to a string");
    }
    write!(
        table,
        "trailer\n<< /Size {} /Root 1 0 R /Info 7 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    )
    .expect("writing to a string");
    out.extend_from_slice(table.as_bytes());
    out
}

fn stream(data: &[u8]) -> Vec<u8> {
    let mut out = format!("<< /Length {} >>\nstream\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_cover_printable_ascii() {
        assert_eq!(LATIN_WIDTHS.len(), 0x7e - 0x20 + 1);
        assert_eq!(text_width_milli("0", 10), 4620);
        assert_eq!(text_width_milli("绿", 10), 10_000);
        assert_eq!(milli(-500), "-0.500");
        assert_eq!(milli(12_345), "12.345");
    }

    #[test]
    fn strings_are_utf16be_hex() {
        let s = content_stream(&[Item::Text {
            x_milli: 10_000,
            y: 20,
            size: 9,
            text: "绿A".into(),
        }]);
        assert_eq!(s, "BT /F1 9 Tf 1 0 0 1 10.000 20 Tm <7EFF0041> Tj ET\n");
        assert_eq!(ucs2('😀'), 0x3f);
    }
}
