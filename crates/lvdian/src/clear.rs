//! `lvdian clear FILE.json`: clear one call auction, or one coupled inter-provincial session
//! (省间, `"method": "coupled"`), offline, in the format of formats.md.
//!
//! The file is read whole and checked whole before anything is cleared; the output is built in
//! memory and printed only when everything succeeded, so a bad file never half-writes stdout.

use std::collections::BTreeMap;
use std::fmt;

use domain::{Kwh, LossRate, Price, Side, UnitError};
use exchange::auction::{self, AuctionOrder, Method};
use exchange::coupling::{self, Corridor, CoupledOrder};
use serde_json::{Map, Value, json};

/// What is wrong with a clear file, and where.
#[derive(Debug, PartialEq, Eq)]
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

/// One order of the file, checked.
struct FileOrder {
    id: String,
    side: Side,
    period: String,
    volume: Kwh,
    price: Price,
    /// Only read by `coupled`, where it is required.
    province: Option<String>,
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

/// Parses, clears and renders a clear file; returns the output JSON text. With
/// `congestion_rent`, each coupled flow also carries `congestion_rent_yuan` (an addition to
/// formats.md's output, so only on request).
pub fn run(text: &str, congestion_rent: bool) -> Result<String, InputError> {
    let value: Value = serde_json::from_str(text).map_err(|e| InputError {
        location: format!("line {} column {}", e.line(), e.column()),
        reason: format!("not valid JSON: {e}"),
    })?;
    let file = value.as_object().ok_or_else(|| {
        top(
            "(file)",
            "the file must be a JSON object with `method` and `orders`",
        )
    })?;
    if let Some(unknown) = file
        .keys()
        .find(|k| !["method", "orders", "corridors"].contains(&k.as_str()))
    {
        return Err(top(
            unknown,
            "unknown field (expected `method`, `orders`, `corridors`)",
        ));
    }
    let method_name = file.get("method").and_then(Value::as_str).ok_or_else(|| {
        top(
            "method",
            "missing, or not a string: use \"uniform\", \"high_low\" or \"coupled\"",
        )
    })?;
    let method = match method_name {
        "uniform" => Method::Uniform,
        "high_low" => Method::HighLow,
        "coupled" => {
            let orders = parse_orders(file)?;
            if let Some((position, o)) = orders
                .iter()
                .enumerate()
                .find(|(_, o)| o.province.is_none())
            {
                return Err(InputError {
                    location: order_location(position, Some(&o.id)),
                    reason: "field `province`: missing (every order of a coupled file names its \
                             province)"
                        .into(),
                });
            }
            let corridors = parse_corridors(file)?;
            return render_coupled(&orders, &corridors, congestion_rent);
        }
        other => {
            return Err(top(
                "method",
                format!("unknown method `{other}`: use \"uniform\", \"high_low\" or \"coupled\""),
            ));
        }
    };
    let orders = parse_orders(file)?;
    Ok(render(method, &orders))
}

fn parse_orders(file: &Map<String, Value>) -> Result<Vec<FileOrder>, InputError> {
    let list = file
        .get("orders")
        .and_then(Value::as_array)
        .ok_or_else(|| top("orders", "missing, or not an array of orders"))?;
    let mut orders: Vec<FileOrder> = Vec::with_capacity(list.len());
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (position, raw) in list.iter().enumerate() {
        let order = parse_order(position, raw)?;
        if let Some(first) = seen.insert(raw["id"].as_str().expect("checked"), position) {
            return Err(InputError {
                location: order_location(position, Some(&order.id)),
                reason: format!("field `id`: duplicate id, already used by orders[{first}]"),
            });
        }
        orders.push(order);
    }
    Ok(orders)
}

fn order_location(position: usize, id: Option<&str>) -> String {
    match id {
        Some(id) => format!("orders[{position}] (id {id:?})"),
        None => format!("orders[{position}]"),
    }
}

const ORDER_FIELDS: [&str; 7] = [
    "id",
    "participant",
    "side",
    "period",
    "mwh",
    "price",
    "province",
];

fn parse_order(position: usize, raw: &Value) -> Result<FileOrder, InputError> {
    let id = raw.get("id").and_then(Value::as_str);
    let error = |field: &str, reason: String| InputError {
        location: order_location(position, id),
        reason: format!("field `{field}`: {reason}"),
    };
    let object = raw
        .as_object()
        .ok_or_else(|| error("(order)", "an order must be a JSON object".into()))?;
    if let Some(unknown) = object.keys().find(|k| !ORDER_FIELDS.contains(&k.as_str())) {
        return Err(error(unknown, "unknown field".into()));
    }
    let text = |field: &str| -> Result<&str, InputError> {
        match object.get(field) {
            None => Err(error(field, "missing".into())),
            Some(Value::String(s)) if s.is_empty() => Err(error(field, "is empty".into())),
            Some(Value::String(s)) => Ok(s),
            Some(Value::Number(n)) if field == "mwh" || field == "price" => Err(error(
                field,
                format!("must be a decimal string such as \"{n}\", not a JSON number"),
            )),
            Some(other) => Err(error(field, format!("must be a string, not {other}"))),
        }
    };
    let unit = |field: &str, e: UnitError| error(field, e.to_string());
    let id = text("id")?.to_owned();
    text("participant")?;
    let side_text = text("side")?;
    let side = Side::parse(side_text)
        .ok_or_else(|| error("side", format!("`{side_text}` is not \"buy\" or \"sell\"")))?;
    let period = text("period")?.to_owned();
    let volume = Kwh::parse_mwh(text("mwh")?).map_err(|e| unit("mwh", e))?;
    if volume == Kwh::ZERO {
        return Err(error("mwh", "must be positive".into()));
    }
    let price = Price::parse_yuan_per_mwh(text("price")?).map_err(|e| unit("price", e))?;
    let province = match object.get("province") {
        None => None,
        Some(_) => Some(text("province")?.to_owned()),
    };
    Ok(FileOrder {
        id,
        side,
        period,
        volume,
        price,
        province,
    })
}

const CORRIDOR_FIELDS: [&str; 6] = [
    "from",
    "to",
    "capacity_mwh",
    "capacity_by_period",
    "loss",
    "tariff",
];

fn parse_corridors(file: &Map<String, Value>) -> Result<Vec<FileCorridor>, InputError> {
    let list = match file.get("corridors") {
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

/// Names sorted, each mapped to the index of its rank.
fn ranks<'a>(names: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, u32> {
    let mut set: Vec<&str> = names.collect();
    set.sort_unstable();
    set.dedup();
    set.into_iter().zip(0..).collect()
}

fn to_text(output: &Value) -> String {
    let mut text = serde_json::to_string_pretty(output).expect("JSON values serialise");
    text.push('\n');
    text
}

fn render_coupled(
    orders: &[FileOrder],
    corridors: &[FileCorridor],
    congestion_rent: bool,
) -> Result<String, InputError> {
    let labels = ranks(orders.iter().map(|o| o.period.as_str()));
    let provinces = ranks(
        orders.iter().filter_map(|o| o.province.as_deref()).chain(
            corridors
                .iter()
                .flat_map(|c| [c.from.as_str(), c.to.as_str()]),
        ),
    );
    let book: Vec<CoupledOrder> = orders
        .iter()
        .map(|o| CoupledOrder {
            period: labels[o.period.as_str()],
            province: provinces[o.province.as_deref().expect("checked")],
            side: o.side,
            volume: o.volume,
            price: o.price,
        })
        .collect();
    // Corridors sorted by (from, to), the order of the output's `flows`.
    let mut order: Vec<usize> = (0..corridors.len()).collect();
    order.sort_by(|&a, &b| {
        (&corridors[a].from, &corridors[a].to).cmp(&(&corridors[b].from, &corridors[b].to))
    });
    let lines: Vec<Corridor> = order
        .iter()
        .map(|&i| {
            let c = &corridors[i];
            Corridor {
                from: provinces[c.from.as_str()],
                to: provinces[c.to.as_str()],
                capacity: labels
                    .keys()
                    .map(|label| *c.capacity_by_period.get(*label).unwrap_or(&c.capacity))
                    .collect(),
                loss: c.loss,
                tariff: c.tariff,
            }
        })
        .collect();
    let results =
        coupling::clear(&book, provinces.len(), &lines, labels.len()).map_err(|e| InputError {
            location: "(file)".into(),
            reason: e.to_string(),
        })?;
    let periods: Vec<Value> = labels
        .keys()
        .zip(&results)
        .map(|(label, result)| {
            let province_rows: Vec<Value> = provinces
                .keys()
                .zip(&result.provinces)
                .map(|(name, p)| {
                    json!({
                        "province": name,
                        "price": p.price.map(|p| p.to_string()),
                        "buy_mwh": p.bought.mwh().to_string(),
                        "sell_mwh": p.sold.mwh().to_string(),
                    })
                })
                .collect();
            let flows: Vec<Value> = order
                .iter()
                .zip(&result.flows)
                .map(|(&i, f)| {
                    let mut flow = json!({
                        "from": corridors[i].from,
                        "to": corridors[i].to,
                        "sent_mwh": f.sent.mwh().to_string(),
                        "delivered_mwh": f.delivered.mwh().to_string(),
                    });
                    if congestion_rent {
                        flow["congestion_rent_yuan"] =
                            json!(f.congestion_rent.map(|r| r.to_string()));
                    }
                    flow
                })
                .collect();
            let fills: Vec<Value> = result
                .fills
                .iter()
                .map(|f| {
                    json!({
                        "order": orders[f.order].id,
                        "mwh": f.volume.mwh().to_string(),
                        "price": f.price.to_string(),
                    })
                })
                .collect();
            json!({
                "period": label,
                "volume_mwh": result.volume.mwh().to_string(),
                "price": null,
                "provinces": province_rows,
                "flows": flows,
                "fills": fills,
            })
        })
        .collect();
    Ok(to_text(&json!({ "method": "coupled", "periods": periods })))
}

fn render(method: Method, orders: &[FileOrder]) -> String {
    // Periods sorted by label; each label gets the index of its rank.
    let labels = ranks(orders.iter().map(|o| o.period.as_str()));
    let book: Vec<AuctionOrder> = orders
        .iter()
        .map(|o| AuctionOrder {
            period: labels[o.period.as_str()],
            side: o.side,
            volume: o.volume,
            price: o.price,
        })
        .collect();
    let results = auction::clear(&book, labels.len(), method);
    let periods: Vec<Value> = labels
        .keys()
        .zip(&results)
        .map(|(label, result)| {
            let fills: Vec<Value> = result
                .fills
                .iter()
                .map(|f| {
                    json!({
                        "order": orders[f.order].id,
                        "mwh": f.volume.mwh().to_string(),
                        "price": f.price.to_string(),
                    })
                })
                .collect();
            json!({
                "period": label,
                "volume_mwh": result.volume.mwh().to_string(),
                "price": result.price.map(|p| p.to_string()),
                "fills": fills,
            })
        })
        .collect();
    let method_name = match method {
        Method::Uniform => "uniform",
        Method::HighLow => "high_low",
        Method::Coupled => "coupled",
    };
    to_text(&json!({ "method": method_name, "periods": periods }))
}

#[cfg(test)]
mod tests {
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
}
