//! Green power consumption certificates (绿色电力消费凭证): lines from settlement transfers,
//! HTML and PDF.

use std::io::Write as _;
use std::process::Command;

use domain::{ContractId, Kwh};
use registry::{ConsumptionLine, DocumentError, Registry, SerialRange, consumption_certificate};

use crate::{bilateral, p, project, settlement, ym};

fn settled_registry() -> Registry {
    let mut reg = Registry::new();
    let (g1, g2, buyer) = (p(1), p(2), p(9));
    let m = ym("2024-03");
    reg.issue(project(1), g1, m, Kwh(1_250_125), 0).unwrap();
    reg.issue(project(2), g2, m, Kwh(80_000), 0).unwrap();
    // Another buyer takes the first 50 of project 1, so the buyer's serials start at 51.
    reg.transfer(g1, p(8), project(1), m, 50, settlement(100, "2024-03"), 1)
        .unwrap();
    reg.transfer(g1, buyer, project(1), m, 12, settlement(101, "2024-03"), 2)
        .unwrap();
    reg.transfer(g2, buyer, project(2), m, 30, settlement(102, "2024-03"), 3)
        .unwrap();
    reg.transfer(g1, buyer, project(1), m, 8, settlement(101, "2024-03"), 4)
        .unwrap();
    // Not part of the certificate: a bilateral purchase, and another month's settlement.
    reg.transfer(g1, buyer, project(1), m, 1, bilateral(20), 5)
        .unwrap();
    reg.transfer(g2, buyer, project(2), m, 1, settlement(102, "2024-04"), 6)
        .unwrap();
    reg
}

fn range(n: u64, first: u32, count: u32) -> SerialRange {
    SerialRange::new(project(n), ym("2024-03"), first, count).unwrap()
}

#[test]
fn lines_come_from_the_months_settlement_transfers() {
    let reg = settled_registry();
    let lines = registry::consumption_lines(reg.entries(), p(9), ym("2024-03"));
    assert_eq!(
        lines,
        vec![
            ConsumptionLine {
                contract: ContractId(101),
                seller: p(1),
                project: project(1),
                production_month: ym("2024-03"),
                mwh: 20,
                ranges: vec![range(1, 51, 12), range(1, 63, 8)],
            },
            ConsumptionLine {
                contract: ContractId(102),
                seller: p(2),
                project: project(2),
                production_month: ym("2024-03"),
                mwh: 30,
                ranges: vec![range(2, 1, 30)],
            },
        ]
    );
}

fn document() -> registry::Document {
    let reg = settled_registry();
    let lines = registry::consumption_lines(reg.entries(), p(9), ym("2024-03"));
    consumption_certificate(p(9), "杭州<绿能>用户 & Co.", ym("2024-03"), &lines).unwrap()
}

#[test]
fn html_is_escaped_and_self_contained() {
    let doc = document();
    assert_eq!(doc.total_mwh, 50);
    let html = &doc.html;
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains("绿色电力消费凭证"));
    assert!(html.contains("杭州&lt;绿能&gt;用户 &amp; Co."));
    assert!(!html.contains("<绿能>"));
    assert!(html.contains("50.000 MWh"));
    assert!(html.contains("20.000"));
    assert!(html.contains(&range(1, 51, 12).to_string()));
    assert!(html.contains("33010000000000002202403000000001-33010000000000002202403000000030"));
    for outside in ["http://", "https://", "src=", "<link"] {
        assert!(!html.contains(outside), "{outside}");
    }
    assert_eq!(doc.number.len(), 16);
    assert_eq!(document().number, doc.number, "the number is deterministic");
}

#[test]
fn inconsistent_lines_are_refused() {
    let good = registry::consumption_lines(settled_registry().entries(), p(9), ym("2024-03"));
    assert_eq!(
        consumption_certificate(p(9), "x", ym("2024-03"), &[]),
        Err(DocumentError::NoLines)
    );
    let mut lines = good.clone();
    lines[1].mwh = 31;
    assert!(matches!(
        consumption_certificate(p(9), "x", ym("2024-03"), &lines),
        Err(DocumentError::BadLine { line: 2, .. })
    ));
    let mut lines = good;
    lines[0].ranges[0] = range(2, 51, 12);
    assert!(matches!(
        consumption_certificate(p(9), "x", ym("2024-03"), &lines),
        Err(DocumentError::BadLine { line: 1, .. })
    ));
}

/// The PDF as text with one character per byte (non-ASCII bytes as `?`), so that string
/// positions are byte offsets.
fn ascii(pdf: &[u8]) -> String {
    pdf.iter()
        .map(|&b| if b.is_ascii() { b as char } else { '?' })
        .collect()
}

/// The cross-reference table's offsets, read from the file's end.
fn xref_offsets(pdf: &[u8]) -> Vec<usize> {
    let text = ascii(pdf);
    let start: usize = text
        .rsplit("startxref\n")
        .next()
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let table = &text[start..];
    assert!(
        table.starts_with("xref\n0 "),
        "startxref points at the table"
    );
    let mut lines = table.lines().skip(1);
    let count: usize = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let entries: Vec<&str> = lines.take(count).collect();
    assert_eq!(entries[0], "0000000000 65535 f ");
    entries[1..]
        .iter()
        .map(|e| {
            // 20 bytes with the end of line: "nnnnnnnnnn ggggg n \n".
            assert_eq!(e.len(), 19, "{e:?}");
            assert!(e.ends_with(" 00000 n "));
            e[..10].parse().unwrap()
        })
        .collect()
}

#[test]
fn pdf_structure_is_sound() {
    let pdf = document().pdf;
    assert!(pdf.starts_with(b"%PDF-1.4\n"));
    assert!(pdf.ends_with(b"%%EOF\n"));
    let offsets = xref_offsets(&pdf);
    assert!(offsets.len() >= 9);
    for (i, &offset) in offsets.iter().enumerate() {
        let header = format!("{} 0 obj\n", i + 1);
        assert!(
            pdf[offset..].starts_with(header.as_bytes()),
            "object {} is not at {offset}",
            i + 1
        );
    }
    let text = ascii(&pdf);
    for needle in [
        "/Subtype /Type0",
        "/Encoding /UniGB-UCS2-H",
        "/Subtype /CIDFontType0",
        "/BaseFont /STSong-Light",
        "/Registry (Adobe) /Ordering (GB1) /Supplement 4",
        "/ToUnicode 6 0 R",
    ] {
        assert!(text.contains(needle), "{needle}");
    }
    // Stream lengths are exact.
    for (at, _) in text.match_indices("/Length ") {
        let rest = &text[at + 8..];
        let len: usize = rest[..rest.find(' ').unwrap()].parse().unwrap();
        let data = at + 8 + rest.find("stream\n").unwrap() + 7;
        assert_eq!(&pdf[data + len..data + len + 10], b"\nendstream");
    }
    // 绿 (U+7EFF) is written as UTF-16BE hex.
    assert!(text.contains("<7EFF8272"));
}

#[test]
fn a_long_certificate_runs_over_pages() {
    let mut reg = Registry::new();
    let m = ym("2024-03");
    reg.issue(project(1), p(1), m, Kwh(1_000_000), 0).unwrap();
    for c in 0..150 {
        reg.transfer(p(1), p(9), project(1), m, 2, settlement(c, "2024-03"), 0)
            .unwrap();
    }
    let lines = registry::consumption_lines(reg.entries(), p(9), m);
    assert_eq!(lines.len(), 150);
    let doc = consumption_certificate(p(9), "用户", m, &lines).unwrap();
    let pdf = ascii(&doc.pdf);
    assert!(pdf.contains("/Count 3 "), "150 rows take 3 pages");
    let offsets = xref_offsets(&doc.pdf);
    for (i, &offset) in offsets.iter().enumerate() {
        assert!(pdf[offset..].starts_with(&format!("{} 0 obj\n", i + 1)));
    }
}

/// Runs `pdftotext` (poppler-utils) on the PDF when it is installed; skipped otherwise.
#[test]
fn pdftotext_reads_the_mwh_and_serials() {
    if Command::new("pdftotext").arg("-v").output().is_err() {
        println!("skipped: pdftotext (poppler-utils) is not installed");
        return;
    }
    let doc = document();
    let dir = std::env::temp_dir().join(format!("lvdian-registry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("certificate.pdf");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(&doc.pdf)
        .unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "pdftotext failed: {stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "50.000 MWh",
        "20.000",
        "30.000",
        "33010000000000001202403000000051-33010000000000001202403000000062",
        "33010000000000001202403000000063-33010000000000001202403000000070",
        "33010000000000002202403000000001-33010000000000002202403000000030",
        "2024-03",
        "C101",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    assert!(
        text.contains("绿色电力消费凭证"),
        "Chinese title missing from:\n{text}"
    );
}
