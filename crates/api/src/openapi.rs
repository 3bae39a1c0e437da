//! Completes the generated OpenAPI document with what every route shares, so that no route can
//! forget it: the refusals any request may get (a malformed path, query, header or body; a
//! missing or unknown token and the failed sign-in limit; a body over its limit; a reused
//! idempotency key; an unavailable store), the `Idempotency-Key` header of every write, and the
//! patterns of the decimal strings, months, periods and province codes that requests carry, so
//! that schema-driven clients and fuzzers generate well-formed values.
//!
//! Patterns follow field names, one convention for the whole API: a string property or
//! parameter named `mwh` or ending in `_mwh` is MWh with up to 3 decimals; one named after a
//! price (`price`, `energy_price`, `env_price`, `compensation`, `tariff`, `price_yuan`, …) is
//! yuan with up to 2 decimals; `month`, `first_month` and `last_month` are `YYYY-MM`; `period`
//! is a period label; `loss` a fraction with up to 4 decimals; `from`, `to` and `province` a
//! province code, `code` and `project` a 17-digit filing code; `name` has the length limits of
//! names (`domain::text`); words such as `side`, `mode` or `role` list their values
//! ([`VOCABULARY`]); `count` and `capacity_kw` are at least 1 and a batch's `orders` 1 to 10,000.

use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Required, ResponseBuilder};

use crate::idempotency::MAX_KEY_LEN;

/// MWh with up to 3 decimals.
pub const MWH_PATTERN: &str = r"^[0-9]{1,10}(\.[0-9]{1,3})?$";
/// Yuan (per MWh, or per certificate) with up to 2 decimals, possibly negative.
pub const YUAN_PATTERN: &str = r"^-?[0-9]{1,9}(\.[0-9]{1,2})?$";
/// A month, `YYYY-MM`.
/// (The market's months run from 2000-01 to 2099-12, `domain::MARKET_YEARS`.)
pub const MONTH_PATTERN: &str = r"^20[0-9]{2}-(0[1-9]|1[0-2])$";
/// A period label: `h01`–`h24`, `q01`–`q96`, or a time-of-use name.
pub const PERIOD_PATTERN: &str =
    r"^(h(0[1-9]|1[0-9]|2[0-4])|q(0[1-9]|[1-8][0-9]|9[0-6])|peak|flat|valley)$";
/// A loss fraction below 1 with up to 4 decimals.
pub const LOSS_PATTERN: &str = r"^0(\.[0-9]{1,4})?$";
/// A province code.
pub const PROVINCE_PATTERN: &str = r"^[A-Z]{2,8}$";
/// A project's 17-digit filing code.
pub const PROJECT_CODE_PATTERN: &str = r"^[0-9]{17}$";

/// The words a string field of this name takes, as the request parsers accept them (each is
/// tested to be accepted, so the document cannot drift from them).
pub const VOCABULARY: [(&str, &[&str]); 10] = [
    ("format", &["html", "pdf"]),
    ("side", &["buy", "sell"]),
    ("scope", &["intra", "inter"]),
    ("horizon", &["multi_year", "year", "month", "intra_month"]),
    ("mode", &["bilateral", "listing", "call_auction", "rolling"]),
    ("method", &["uniform", "high_low", "coupled"]),
    ("periods", &["hours", "quarter_hours"]),
    ("bid_on", &["total", "environment"]),
    ("time_in_force", &["limit", "ioc"]),
    (
        "technology",
        &[
            "wind_onshore",
            "wind_offshore",
            "pv_central",
            "pv_distributed",
            "hydro",
            "biomass",
            "other",
        ],
    ),
];

/// The words of a field: [`VOCABULARY`], and the roles of [`domain::Role::ALL`].
fn words_of(name: &str) -> Option<Vec<String>> {
    if name == "role" {
        return Some(
            domain::Role::ALL
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
        );
    }
    VOCABULARY
        .iter()
        .find(|(field, _)| *field == name)
        .map(|(_, words)| words.iter().map(|w| (*w).to_owned()).collect())
}

/// The pattern a string field or parameter of this name has, if any.
fn pattern_of(name: &str) -> Option<&'static str> {
    const PRICES: [&str; 10] = [
        "price",
        "energy_price",
        "env_price",
        "energy_price_min",
        "energy_price_max",
        "env_price_cap",
        "fixed_energy_price",
        "compensation",
        "tariff",
        "price_yuan",
    ];
    match name {
        "mwh" => Some(MWH_PATTERN),
        n if n.ends_with("_mwh") => Some(MWH_PATTERN),
        n if PRICES.contains(&n) => Some(YUAN_PATTERN),
        "month" | "first_month" | "last_month" => Some(MONTH_PATTERN),
        "period" => Some(PERIOD_PATTERN),
        "loss" => Some(LOSS_PATTERN),
        "from" | "to" | "province" => Some(PROVINCE_PATTERN),
        "code" | "project" => Some(PROJECT_CODE_PATTERN),
        _ => None,
    }
}

/// Whether an object schema is (possibly nullable) string-typed.
fn is_string(object: &Object) -> bool {
    match &object.schema_type {
        SchemaType::Type(t) => *t == Type::String,
        SchemaType::Array(types) => types.contains(&Type::String),
        SchemaType::AnyValue => false,
    }
}

/// Sets the pattern of string properties by name, inside objects, arrays and alternatives, and
/// in a request's schema the words of its word fields and the least of its counts.
fn add_patterns(schema: &mut Schema, request: bool) {
    match schema {
        Schema::Object(object) => {
            for (name, property) in object.properties.iter_mut() {
                if let RefOr::T(Schema::Object(field)) = property
                    && is_string(field)
                    && field.pattern.is_none()
                    && field.enum_values.is_none()
                    && let Some(pattern) = pattern_of(name)
                {
                    field.pattern = Some(pattern.to_owned());
                }
                if request
                    && let RefOr::T(Schema::Object(field)) = property
                    && is_string(field)
                    && field.enum_values.is_none()
                    && let Some(words) = words_of(name)
                {
                    let mut values: Vec<serde_json::Value> =
                        words.into_iter().map(serde_json::Value::from).collect();
                    // An optional field may also be null.
                    if matches!(&field.schema_type, SchemaType::Array(types) if types.contains(&Type::Null))
                    {
                        values.push(serde_json::Value::Null);
                    }
                    field.enum_values = Some(values);
                }
                if request
                    && let RefOr::T(Schema::Object(field)) = property
                    && !is_string(field)
                    && matches!(name.as_str(), "count" | "capacity_kw")
                {
                    field.minimum.get_or_insert(1.into());
                }
                if request
                    && name == "orders"
                    && let RefOr::T(Schema::Array(list)) = property
                {
                    list.min_items.get_or_insert(1);
                    list.max_items
                        .get_or_insert(crate::routes::MAX_BATCH_ORDERS);
                }
                if name == "name"
                    && let RefOr::T(Schema::Object(field)) = property
                    && is_string(field)
                {
                    field.min_length.get_or_insert(1);
                    field
                        .max_length
                        .get_or_insert(domain::TextRule::NAME.max_chars());
                }
                if let RefOr::T(inner) = property {
                    add_patterns(inner, request);
                }
            }
            if let Some(additional) = object.additional_properties.as_deref_mut()
                && let utoipa::openapi::schema::AdditionalProperties::RefOr(RefOr::T(inner)) =
                    additional
            {
                add_patterns(inner, request);
            }
        }
        Schema::Array(array) => {
            if let utoipa::openapi::schema::ArrayItems::RefOrSchema(item) = &mut array.items
                && let RefOr::T(inner) = item.as_mut()
            {
                add_patterns(inner, request);
            }
        }
        Schema::OneOf(one) => add_patterns_each(&mut one.items, request),
        Schema::AllOf(all) => add_patterns_each(&mut all.items, request),
        Schema::AnyOf(any) => add_patterns_each(&mut any.items, request),
        _ => {}
    }
}

/// [`add_patterns`] on each inline alternative.
fn add_patterns_each(items: &mut [RefOr<Schema>], request: bool) {
    for item in items {
        if let RefOr::T(inner) = item {
            add_patterns(inner, request);
        }
    }
}

/// Adds `status` with an [`crate::error::ErrorBody`] to an operation unless it documents it.
fn refusal(operation: &mut Operation, status: u16, description: &str) {
    let responses = &mut operation.responses.responses;
    responses.entry(status.to_string()).or_insert_with(|| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    });
}

/// The `Idempotency-Key` header parameter.
fn idempotency_header() -> Parameter {
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes the request safe to retry: a retry of the same request returns the first reply; a different request with the same key is refused with 422. Scoped to the participant, the method and the path.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_KEY_LEN))
                .pattern(Some(format!("^[!-~]{{1,{MAX_KEY_LEN}}}$"))),
        ))
        .build()
}

/// Completes one operation (see the module docs).
fn complete_operation(path: &str, write: bool, operation: &mut Operation) {
    let mut has_path_parameters = false;
    let mut has_key = false;
    for parameter in operation.parameters.iter_mut().flatten() {
        let RefOr::T(parameter) = parameter else {
            continue;
        };
        has_path_parameters |= parameter.parameter_in == ParameterIn::Path;
        has_key |= parameter.name.eq_ignore_ascii_case("Idempotency-Key");
        if let Some(RefOr::T(Schema::Object(schema))) = &mut parameter.schema
            && is_string(schema)
            && schema.pattern.is_none()
            && schema.enum_values.is_none()
            && let Some(pattern) = pattern_of(&parameter.name)
        {
            schema.pattern = Some(pattern.to_owned());
        }
        if let Some(RefOr::T(Schema::Object(schema))) = &mut parameter.schema
            && is_string(schema)
            && schema.enum_values.is_none()
            && let Some(words) = words_of(&parameter.name)
        {
            schema.enum_values = Some(words.into_iter().map(serde_json::Value::from).collect());
        }
    }
    if write && !has_key {
        operation
            .parameters
            .get_or_insert_with(Vec::new)
            .push(RefOr::T(idempotency_header()));
    }
    if !path.starts_with("/api/v1/") {
        return;
    }
    refusal(
        operation,
        400,
        "Bad request: a path, query, header or body value is malformed; the message names it",
    );
    refusal(
        operation,
        401,
        "A token was sent but is missing its `Bearer` prefix or unknown (or, on private routes, none was sent)",
    );
    refusal(
        operation,
        429,
        "Too many failed sign-ins from this address; `Retry-After` says when to try again",
    );
    refusal(
        operation,
        503,
        "The store (or the session) is unavailable; nothing was recorded and the request may be retried",
    );
    if has_path_parameters {
        refusal(operation, 404, "Not found");
    }
    if operation.request_body.is_some() {
        refusal(
            operation,
            413,
            "The body is over the route's limit; the message gives it",
        );
    }
    if write {
        refusal(
            operation,
            422,
            "The Idempotency-Key was first used for a different request",
        );
    }
}

/// Completes the whole document (see the module docs).
pub fn complete(openapi: &mut OpenApi) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        let operations = [
            (false, item.get.as_mut()),
            (true, item.post.as_mut()),
            (true, item.put.as_mut()),
            (true, item.delete.as_mut()),
            (true, item.patch.as_mut()),
        ];
        for (write, operation) in operations {
            if let Some(operation) = operation {
                complete_operation(path, write, operation);
            }
        }
    }
    if let Some(components) = openapi.components.as_mut() {
        for (name, schema) in components.schemas.iter_mut() {
            if let RefOr::T(schema) = schema {
                // Words are listed only where requests send them: replies may say more
                // (statistics count `call_auction/uniform`).
                add_patterns(schema, name.ends_with("Request"));
            }
        }
    }
}
