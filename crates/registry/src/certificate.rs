//! The green power consumption certificate (绿色电力消费凭证) a buyer receives for a settled month:
//! the MWh of green power it consumed, by contract, with the serial ranges of the certificates
//! (证电合一) that moved to it. Rendered as a self-contained HTML page and as a PDF.

use std::fmt::Write as _;

use domain::{ContractId, Kwh, ParticipantId, ProjectCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::ledger::{Body, Entry, TransferReason};
use crate::pdf::{self, Item};
use crate::{SerialRange, YearMonth};

/// One line of a consumption certificate: what one contract delivered from one project-month.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConsumptionLine {
    /// The settled contract.
    pub contract: ContractId,
    /// Its seller.
    pub seller: ParticipantId,
    /// The project the certificates come from.
    pub project: ProjectCode,
    /// Their production month.
    pub production_month: YearMonth,
    /// Green power in whole MWh: the number of certificates.
    pub mwh: u64,
    /// The certificates, sorted by serial; their counts add up to `mwh`.
    pub ranges: Vec<SerialRange>,
}

/// The lines of a buyer's green power consumption certificate (绿色电力消费凭证) for a
/// settlement month, from ledger `entries` (those of [`crate::Registry::settlement_spans`]
/// suffice; others are skipped): every settlement transfer (证电合一) to `buyer` for that month,
/// one line per contract and project-month, in ledger order.
pub fn consumption_lines<'a>(
    entries: impl IntoIterator<Item = &'a Entry>,
    buyer: ParticipantId,
    settlement_month: YearMonth,
) -> Vec<ConsumptionLine> {
    let mut lines: Vec<ConsumptionLine> = Vec::new();
    for entry in entries {
        let Body::Transfer {
            from,
            to,
            project,
            month,
            count,
            reason:
                TransferReason::Settlement {
                    contract,
                    settlement_month: settled,
                    ..
                },
            ranges,
        } = &entry.body
        else {
            continue;
        };
        if *to != buyer || *settled != settlement_month {
            continue;
        }
        let same = |l: &ConsumptionLine| {
            l.contract == *contract && l.project == *project && l.production_month == *month
        };
        match lines.iter_mut().find(|l| same(l)) {
            Some(line) => {
                line.mwh += u64::from(*count);
                line.ranges.extend(ranges.iter().copied());
                line.ranges.sort();
            }
            None => lines.push(ConsumptionLine {
                contract: *contract,
                seller: *from,
                project: *project,
                production_month: *month,
                mwh: u64::from(*count),
                ranges: ranges.clone(),
            }),
        }
    }
    lines
}

/// Why a consumption certificate cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// A certificate must list at least one line.
    #[error("a consumption certificate needs at least one line")]
    NoLines,
    /// A line whose serial ranges do not match it.
    #[error("line {line} (contract {contract}): {reason}")]
    BadLine {
        /// Its position, from 1.
        line: usize,
        /// Its contract.
        contract: ContractId,
        /// What does not match.
        reason: String,
    },
}

/// A rendered document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The document's number: the first 16 hex digits of the SHA-256 of its content, so the
    /// same content always has the same number and a changed one another.
    pub number: String,
    /// Total MWh over all lines.
    pub total_mwh: u64,
    /// A self-contained HTML page (UTF-8, inline style, every value escaped).
    pub html: String,
    /// A PDF 1.4 file.
    pub pdf: Vec<u8>,
}

/// Makes the green power consumption certificate of `buyer` (named `buyer_name`) for
/// `settlement_month` from its lines (see [`crate::Registry::consumption_lines`]). Each line's
/// ranges must belong to its project and production month and add up to its MWh.
pub fn consumption_certificate(
    buyer: ParticipantId,
    buyer_name: &str,
    settlement_month: YearMonth,
    lines: &[ConsumptionLine],
) -> Result<Document, DocumentError> {
    if lines.is_empty() {
        return Err(DocumentError::NoLines);
    }
    for (i, line) in lines.iter().enumerate() {
        let bad = |reason: String| DocumentError::BadLine {
            line: i + 1,
            contract: line.contract,
            reason,
        };
        if line.mwh == 0 {
            return Err(bad("no MWh".into()));
        }
        let sum: u64 = line.ranges.iter().map(|r| u64::from(r.count())).sum();
        if sum != line.mwh {
            return Err(bad(format!(
                "{} MWh but its serial ranges hold {sum} certificates",
                line.mwh
            )));
        }
        if let Some(r) = line
            .ranges
            .iter()
            .find(|r| r.project() != line.project || r.month() != line.production_month)
        {
            return Err(bad(format!(
                "range {r} is not of project {} {}",
                line.project, line.production_month
            )));
        }
    }
    let total_mwh: u64 = lines.iter().map(|l| l.mwh).sum();
    let number = number(buyer, buyer_name, settlement_month, lines);
    let doc = Doc {
        buyer,
        buyer_name,
        settlement_month,
        lines,
        total_mwh,
        number: &number,
    };
    Ok(Document {
        html: doc.html(),
        pdf: doc.pdf(),
        total_mwh,
        number,
    })
}

/// `12` MWh written with 3 decimals, as files show MWh: `12.000`.
fn mwh_text(mwh: u64) -> String {
    let kwh = i64::try_from(mwh.saturating_mul(1000)).unwrap_or(i64::MAX);
    Kwh(kwh).mwh().to_string()
}

fn number(
    buyer: ParticipantId,
    buyer_name: &str,
    month: YearMonth,
    lines: &[ConsumptionLine],
) -> String {
    let mut h = Sha256::new();
    h.update(format!("{buyer}\n{buyer_name}\n{month}\n"));
    for l in lines {
        h.update(format!(
            "{} {} {} {} {}\n",
            l.contract, l.seller, l.project, l.production_month, l.mwh
        ));
        for r in &l.ranges {
            h.update(format!("{r}\n"));
        }
    }
    let digest: [u8; 32] = h.finalize().into();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

struct Doc<'a> {
    buyer: ParticipantId,
    buyer_name: &'a str,
    settlement_month: YearMonth,
    lines: &'a [ConsumptionLine],
    total_mwh: u64,
    number: &'a str,
}

const TITLE: &str = "绿色电力消费凭证";

impl Doc<'_> {
    fn html(&self) -> String {
        let mut out = String::new();
        let w = &mut out;
        let name = escape(self.buyer_name);
        writeln!(
            w,
            "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>{TITLE} {name} {}</title>\n<style>\n\
             body{{font-family:\"Songti SC\",\"STSong\",\"SimSun\",serif;margin:2em;color:#111}}\n\
             h1{{font-size:1.6em;margin-bottom:0}}\n.en{{color:#555;margin-top:0}}\n\
             table{{border-collapse:collapse;margin-top:1em}}\n\
             th,td{{border:1px solid #444;padding:4px 8px;vertical-align:top}}\n\
             td.num{{text-align:right}}\ncode{{font-family:monospace}}\n\
             </style>\n</head>\n<body>",
            self.settlement_month
        )
        .expect("writing to a string");
        writeln!(
            w,
            "<h1>{TITLE}</h1>\n<p class=\"en\">Green power consumption certificate</p>\n<dl>\n\
             <dt>凭证编号 No.</dt><dd><code>{}</code></dd>\n\
             <dt>用户 Consumer</dt><dd>{name} ({})</dd>\n\
             <dt>结算月份 Settlement month</dt><dd>{}</dd>\n\
             <dt>绿色电力消费量 Green power consumed</dt><dd>{} MWh</dd>\n</dl>",
            escape(self.number),
            self.buyer,
            self.settlement_month,
            mwh_text(self.total_mwh)
        )
        .expect("writing to a string");
        w.push_str(
            "<table>\n<thead><tr><th>合同 Contract</th><th>售电方 Seller</th>\
             <th>项目 Project</th><th>生产月份 Production month</th><th>电量 MWh</th>\
             <th>绿证序列号 Certificate serials</th></tr></thead>\n<tbody>\n",
        );
        for l in self.lines {
            let serials: Vec<String> = l
                .ranges
                .iter()
                .map(|r| format!("<code>{}</code>", escape(&r.to_string())))
                .collect();
            writeln!(
                w,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td>\
                 <td class=\"num\">{}</td><td>{}</td></tr>",
                l.contract,
                l.seller,
                l.project,
                l.production_month,
                mwh_text(l.mwh),
                serials.join("<br>")
            )
            .expect("writing to a string");
        }
        writeln!(
            w,
            "</tbody>\n<tfoot><tr><td colspan=\"4\">合计 Total</td><td class=\"num\">{}</td>\
             <td>{} 张绿证 certificates</td></tr></tfoot>\n</table>\n\
             <p>1 张绿证 (GEC) = 1 MWh。Each certificate is counted once: it was transferred \
             to the consumer with the green power it certifies (证电合一).</p>\n</body>\n</html>",
            mwh_text(self.total_mwh),
            self.total_mwh
        )
        .expect("writing to a string");
        out
    }

    fn pdf(&self) -> Vec<u8> {
        const SIZE: i64 = 8;
        const ROW: i64 = 12;
        const LEFT: i64 = 30;
        const BOTTOM: i64 = 60;
        // Column left edges, and the right edge of the MWh column.
        const COLS: [i64; 4] = [30, 80, 125, 200];
        const MWH_RIGHT: i64 = 302;
        const SERIALS: i64 = 310;
        let text = |x: i64, y: i64, size: i64, s: &str| Item::Text {
            x_milli: x * 1000,
            y,
            size,
            text: s.to_owned(),
        };
        let header_row = |items: &mut Vec<Item>, y: i64| {
            let heads = ["合同", "售电方", "项目", "生产月份"];
            for (x, h) in COLS.iter().zip(heads) {
                items.push(text(*x, y, SIZE, h));
            }
            let mwh = "电量 MWh";
            items.push(Item::Text {
                x_milli: MWH_RIGHT * 1000 - pdf::text_width_milli(mwh, SIZE),
                y,
                size: SIZE,
                text: mwh.into(),
            });
            items.push(text(SERIALS, y, SIZE, "绿证序列号 Certificate serials"));
            items.push(Item::Rule {
                x1: LEFT,
                y1: y - 4,
                x2: pdf::PAGE_WIDTH - LEFT,
                y2: y - 4,
            });
        };

        // One table row per serial range; a line's other cells go on its first row.
        let mut rows: Vec<Vec<Item>> = Vec::new();
        for l in self.lines {
            for (i, r) in l.ranges.iter().enumerate() {
                let mut row = Vec::new();
                if i == 0 {
                    let mwh = mwh_text(l.mwh);
                    row.push(text(COLS[0], 0, SIZE, &l.contract.to_string()));
                    row.push(text(COLS[1], 0, SIZE, &l.seller.to_string()));
                    row.push(text(COLS[2], 0, SIZE, l.project.as_str()));
                    row.push(text(COLS[3], 0, SIZE, &l.production_month.to_string()));
                    row.push(Item::Text {
                        x_milli: MWH_RIGHT * 1000 - pdf::text_width_milli(&mwh, SIZE),
                        y: 0,
                        size: SIZE,
                        text: mwh,
                    });
                }
                row.push(text(SERIALS, 0, SIZE, &r.to_string()));
                rows.push(row);
            }
        }
        let total = format!(
            "合计 Total {} MWh ({} 张绿证 certificates)",
            mwh_text(self.total_mwh),
            self.total_mwh
        );

        let first_top = 690;
        let next_top = 770;
        let mut pages: Vec<Vec<Item>> = Vec::new();
        let mut page = Vec::new();
        page.push(text(LEFT, 790, 18, TITLE));
        page.push(text(LEFT, 772, 10, "Green power consumption certificate"));
        let facts = [
            format!("凭证编号 No.: {}", self.number),
            format!("用户 Consumer: {} ({})", self.buyer_name, self.buyer),
            format!("结算月份 Settlement month: {}", self.settlement_month),
            format!(
                "绿色电力消费量 Green power consumed: {} MWh",
                mwh_text(self.total_mwh)
            ),
        ];
        for (i, fact) in facts.iter().enumerate() {
            page.push(text(LEFT, 748 - 14 * i as i64, 10, fact));
        }
        header_row(&mut page, first_top);
        let mut y = first_top - ROW - 4;
        for row in rows {
            if y < BOTTOM {
                pages.push(std::mem::take(&mut page));
                page.push(text(LEFT, 800, 10, &format!("{TITLE} ({})", self.number)));
                header_row(&mut page, next_top);
                y = next_top - ROW - 4;
            }
            for mut item in row {
                if let Item::Text { y: item_y, .. } = &mut item {
                    *item_y = y;
                }
                page.push(item);
            }
            y -= ROW;
        }
        if y < BOTTOM + ROW {
            pages.push(std::mem::take(&mut page));
            y = next_top;
        }
        page.push(Item::Rule {
            x1: LEFT,
            y1: y + ROW - 4,
            x2: pdf::PAGE_WIDTH - LEFT,
            y2: y + ROW - 4,
        });
        page.push(text(LEFT, y - 4, 9, &total));
        page.push(text(
            LEFT,
            y - 20,
            8,
            "1 张绿证 (GEC) = 1 MWh. 证电合一: the certificates moved with the green power they certify.",
        ));
        pages.push(page);
        let n = pages.len();
        for (i, page) in pages.iter_mut().enumerate() {
            page.push(text(LEFT, 30, 8, &format!("第 {} 页 / 共 {n} 页", i + 1)));
        }
        pdf::render(
            &pages,
            &format!("{TITLE} {} {}", self.buyer_name, self.settlement_month),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html() {
        assert_eq!(
            escape("<a href=\"x\">Tom & Jerry's</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
    }

    #[test]
    fn mwh_has_three_decimals() {
        assert_eq!(mwh_text(12), "12.000");
        assert_eq!(mwh_text(0), "0.000");
    }
}
