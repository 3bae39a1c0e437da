//! Conversions between domain values and the plain integers and strings the tables hold.
//!
//! Rows are fetched as tuples of `i64`, `String`, `bool` and `Vec<u8>`, which both backends decode
//! the same way, and turned into domain values here, once, for both. Every integer column is a
//! signed 64-bit integer; ids and sequence numbers are `u64` in the domain, so they are converted
//! with a check in both directions rather than cast.

use std::collections::BTreeSet;

use domain::{
    Contract, ContractId, ContractStatus, Kwh, Order, OrderId, Participant, ParticipantId, Period,
    PeriodVolume, Price, Project, ProjectCode, Province, SessionId, Side, Technology, TimeInForce,
    TwoPartPrice,
};
use exchange::session::{Command, SessionSettings, SessionState};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Batch, JournalEntry, NetworkCorridor, Result, SessionRow, StoreError, StoredResponse};

/// A row of `participants`: id, name, role, province.
pub(crate) type ParticipantTuple = (i64, String, String, String);

/// A row of `projects`: code, owner, technology, capacity_kw, province, subsidised, meters.
pub(crate) type ProjectTuple = (String, i64, String, i64, String, bool, String);

/// A row of `sessions`: id, name, settings, state, created_at_ms.
pub(crate) type SessionTuple = (i64, String, String, String, i64);

/// A row of `journal`: seq, at_ms, command.
pub(crate) type JournalTuple = (i64, i64, String);

/// A row of `orders`: id, participant_id, side, period, volume_kwh, energy_price, env_price,
/// time_in_force, submitted_at_ms.
pub(crate) type OrderTuple = (i64, i64, String, i64, i64, i64, i64, String, i64);

/// A row of `contracts`: session_id, id, seller, buyer, volumes, energy_price, env_price,
/// compensation, status, created_at_ms, corridor (JSON, NULL for contracts within a province).
pub(crate) type ContractTuple = (
    i64,
    i64,
    i64,
    i64,
    String,
    i64,
    i64,
    i64,
    String,
    i64,
    Option<String>,
);

/// A row of `idempotency`: status, body.
/// A row of `idempotency`: status, body, request_sha256 (NULL for keys remembered before
/// migration 0006).
pub(crate) type ResponseTuple = (i64, String, Option<Vec<u8>>);

/// A row of `idempotency` with its key: participant_id, key, status, body, request_sha256.
pub(crate) type KeyedResponseTuple = (i64, String, i64, String, Option<Vec<u8>>);

/// A row of `access_log`: participant_id, at_ms, what.
pub(crate) type AccessTuple = (i64, i64, String);

/// A row of `corridors`: from_province, to_province, capacity_kwh, loss, tariff, updated_at_ms,
/// updated_by.
pub(crate) type CorridorTuple = (String, String, i64, i64, i64, i64, i64);

/// A `u64` id or sequence number as the signed integer a column holds.
pub(crate) fn to_db(value: u64, what: &str) -> Result<i64> {
    i64::try_from(value).map_err(|_| {
        StoreError::Database(sqlx::Error::Encode(
            format!("{what} {value} does not fit a signed 64-bit column").into(),
        ))
    })
}

/// A signed column read back as a `u64` id or sequence number; negative means corrupt.
fn from_db(value: i64, table: &'static str, column: &str) -> Result<u64> {
    u64::try_from(value).map_err(|_| corrupt(table, format!("{column} {value} is negative")))
}

pub(crate) fn corrupt(table: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table,
        reason: reason.into(),
    }
}

/// The serde name of a unit enum variant (`wind_onshore`, `ioc`, `effective`): the text its
/// column holds, the same as in the JSON of files and the API.
pub(crate) fn name_of<T: Serialize>(value: T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        other => unreachable!("a unit enum variant serialises to a string, not {other:?}"),
    }
}

/// The unit enum variant a serde name stands for.
fn from_name<T: DeserializeOwned>(name: &str) -> std::result::Result<T, serde_json::Error> {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
}

/// The state a `sessions.state` text stands for.
fn state_from(name: &str) -> Option<SessionState> {
    SessionState::ALL.into_iter().find(|s| s.as_str() == name)
}

pub(crate) fn participant(row: ParticipantTuple) -> Result<Participant> {
    let (id, name, role, province) = row;
    let bad = |reason: String| corrupt("participants", format!("participant {id}: {reason}"));
    Ok(Participant {
        id: ParticipantId(from_db(id, "participants", "id")?),
        name,
        role: role.parse().map_err(|e| bad(format!("{e}")))?,
        province: Province::parse(&province).map_err(|e| bad(format!("{e}")))?,
    })
}

pub(crate) fn project(row: ProjectTuple) -> Result<Project> {
    let (code, owner, technology, capacity_kw, province, subsidised, meters) = row;
    let bad = |reason: String| corrupt("projects", format!("project {code:?}: {reason}"));
    Ok(Project {
        code: ProjectCode::parse(&code).map_err(|e| bad(format!("{e}")))?,
        technology: from_name::<Technology>(&technology)
            .map_err(|e| bad(format!("technology: {e}")))?,
        capacity_kw: u64::try_from(capacity_kw)
            .map_err(|_| bad(format!("capacity_kw {capacity_kw} is negative")))?,
        province: Province::parse(&province).map_err(|e| bad(format!("{e}")))?,
        owner: ParticipantId(from_db(owner, "projects", "owner")?),
        subsidised,
        meters: serde_json::from_str(&meters).map_err(|e| bad(format!("meters: {e}")))?,
    })
}

pub(crate) fn session(row: SessionTuple) -> Result<SessionRow> {
    let (id, name, settings, state, created_at_ms) = row;
    let bad = |reason: String| corrupt("sessions", format!("session {id}: {reason}"));
    Ok(SessionRow {
        id: SessionId(from_db(id, "sessions", "id")?),
        name,
        settings: serde_json::from_str::<SessionSettings>(&settings)
            .map_err(|e| bad(format!("settings: {e}")))?,
        state: state_from(&state).ok_or_else(|| bad(format!("unknown state {state:?}")))?,
        created_at_ms,
    })
}

pub(crate) fn journal_entry(session: SessionId, row: JournalTuple) -> Result<JournalEntry> {
    let (seq, at_ms, command) = row;
    Ok(JournalEntry {
        seq: from_db(seq, "journal", "seq")?,
        at_ms,
        command: serde_json::from_str::<Command>(&command).map_err(|e| {
            corrupt(
                "journal",
                format!("session {session} seq {seq}: command: {e}"),
            )
        })?,
    })
}

pub(crate) fn order(session: SessionId, row: OrderTuple) -> Result<Order> {
    let (id, participant, side, period, volume_kwh, energy, env, tif, submitted_at_ms) = row;
    let bad = |reason: String| corrupt("orders", format!("session {session} order {id}: {reason}"));
    Ok(Order {
        id: OrderId(from_db(id, "orders", "id")?),
        participant: ParticipantId(from_db(participant, "orders", "participant_id")?),
        side: Side::parse(&side).ok_or_else(|| bad(format!("unknown side {side:?}")))?,
        period: Period(
            u16::try_from(period).map_err(|_| bad(format!("period {period} is out of range")))?,
        ),
        volume: Kwh(volume_kwh),
        price: TwoPartPrice {
            energy: Price(energy),
            environment: Price(env),
        },
        time_in_force: from_name::<TimeInForce>(&tif)
            .map_err(|e| bad(format!("time_in_force: {e}")))?,
        submitted_at_ms,
    })
}

pub(crate) fn contract(row: ContractTuple) -> Result<Contract> {
    let (
        session,
        id,
        seller,
        buyer,
        volumes,
        energy,
        env,
        compensation,
        status,
        created_at_ms,
        corridor,
    ) = row;
    let bad = |reason: String| {
        corrupt(
            "contracts",
            format!("session {session} contract {id}: {reason}"),
        )
    };
    Ok(Contract {
        id: ContractId(from_db(id, "contracts", "id")?),
        session: SessionId(from_db(session, "contracts", "session_id")?),
        seller: ParticipantId(from_db(seller, "contracts", "seller")?),
        buyer: ParticipantId(from_db(buyer, "contracts", "buyer")?),
        volumes: serde_json::from_str::<Vec<PeriodVolume>>(&volumes)
            .map_err(|e| bad(format!("volumes: {e}")))?,
        price: TwoPartPrice {
            energy: Price(energy),
            environment: Price(env),
        },
        compensation: Price(compensation),
        status: from_name::<ContractStatus>(&status).map_err(|e| bad(format!("status: {e}")))?,
        created_at_ms,
        corridor: corridor
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|e| bad(format!("corridor: {e}")))?,
    })
}

pub(crate) fn response(
    participant: ParticipantId,
    key: &str,
    row: ResponseTuple,
) -> Result<StoredResponse> {
    let (status, body, request) = row;
    let request = request
        .map(|hash| {
            <[u8; 32]>::try_from(hash.as_slice()).map_err(|_| {
                corrupt(
                    "idempotency",
                    format!(
                        "participant {participant} key {key:?}: the request hash is not 32 bytes"
                    ),
                )
            })
        })
        .transpose()?;
    Ok(StoredResponse {
        request,
        participant,
        key: key.to_owned(),
        status: u16::try_from(status).map_err(|_| {
            corrupt(
                "idempotency",
                format!("participant {participant} key {key:?}: status {status} is out of range"),
            )
        })?,
        body,
    })
}

pub(crate) fn access(row: AccessTuple) -> Result<crate::AccessRow> {
    let (participant, at_ms, what) = row;
    Ok(crate::AccessRow {
        participant: ParticipantId(from_db(participant, "access_log", "participant_id")?),
        at_ms,
        what,
    })
}

pub(crate) fn corridor(row: CorridorTuple) -> Result<NetworkCorridor> {
    let (from, to, capacity_kwh, loss, tariff, updated_at_ms, updated_by) = row;
    let bad = |reason: String| corrupt("corridors", format!("corridor {from}→{to}: {reason}"));
    Ok(NetworkCorridor {
        from: Province::parse(&from).map_err(|e| bad(format!("{e}")))?,
        to: Province::parse(&to).map_err(|e| bad(format!("{e}")))?,
        capacity: Kwh(capacity_kwh),
        loss,
        tariff: Price(tariff),
        updated_at_ms,
        updated_by: ParticipantId(from_db(updated_by, "corridors", "updated_by")?),
    })
}

/// A journal entry ready to bind.
pub(crate) struct JournalRow {
    pub seq: i64,
    pub at_ms: i64,
    pub command: String,
}

/// An order ready to bind.
pub(crate) struct OrderRow {
    pub id: i64,
    pub participant: i64,
    pub side: &'static str,
    pub period: i64,
    pub volume_kwh: i64,
    pub energy_price: i64,
    pub env_price: i64,
    pub time_in_force: String,
    pub submitted_at_ms: i64,
}

/// A contract ready to bind.
pub(crate) struct ContractRow {
    pub id: i64,
    pub seller: i64,
    pub buyer: i64,
    pub volumes: String,
    pub energy_price: i64,
    pub env_price: i64,
    pub compensation: i64,
    pub status: String,
    pub created_at_ms: i64,
    pub corridor: Option<String>,
}

/// A remembered response ready to bind.
pub(crate) struct ResponseRow<'a> {
    pub participant: i64,
    pub key: &'a str,
    pub status: i64,
    pub body: &'a str,
    pub request: Option<&'a [u8]>,
}

/// Everything a [`Batch`] writes, encoded before the transaction starts so that the write lock
/// is held only for the inserts themselves.
pub(crate) struct BatchRows<'a> {
    pub session: i64,
    pub journal: Vec<JournalRow>,
    pub state: Option<&'static str>,
    pub orders: Vec<OrderRow>,
    pub contracts: Vec<ContractRow>,
    pub responses: Vec<ResponseRow<'a>>,
}

impl<'a> BatchRows<'a> {
    /// Encodes a batch, refusing what the database would refuse anyway but could not explain
    /// as well: a sequence number, order id or contract id given twice in the batch, and a
    /// contract of another session.
    pub(crate) fn encode(batch: &'a Batch) -> Result<BatchRows<'a>> {
        let session = batch.session;
        let twice = |what: String| StoreError::Conflict { what };
        if let Some(seq) = first_repeat(batch.entries.iter().map(|e| e.seq)) {
            return Err(twice(format!("journal entry {seq} of session {session}")));
        }
        if let Some(id) = first_repeat(batch.orders.iter().map(|o| o.id.0)) {
            return Err(twice(format!("order {} of session {session}", OrderId(id))));
        }
        if let Some(id) = first_repeat(batch.contracts.iter().map(|c| c.id.0)) {
            return Err(twice(format!(
                "contract {} of session {session}",
                ContractId(id)
            )));
        }
        if let Some(c) = batch.contracts.iter().find(|c| c.session != session) {
            return Err(corrupt(
                "contracts",
                format!(
                    "contract {} of session {} is in a batch of session {session}",
                    c.id, c.session
                ),
            ));
        }

        let mut journal = Vec::with_capacity(batch.entries.len());
        for entry in &batch.entries {
            journal.push(JournalRow {
                seq: to_db(entry.seq, "seq")?,
                at_ms: entry.at_ms,
                command: serde_json::to_string(&entry.command)
                    .map_err(|e| corrupt("journal", format!("seq {}: command: {e}", entry.seq)))?,
            });
        }
        let mut orders = Vec::with_capacity(batch.orders.len());
        for order in &batch.orders {
            orders.push(OrderRow {
                id: to_db(order.id.0, "order id")?,
                participant: to_db(order.participant.0, "participant id")?,
                side: order.side.as_str(),
                period: i64::from(order.period.0),
                volume_kwh: order.volume.0,
                energy_price: order.price.energy.0,
                env_price: order.price.environment.0,
                time_in_force: name_of(order.time_in_force),
                submitted_at_ms: order.submitted_at_ms,
            });
        }
        let mut contracts = Vec::with_capacity(batch.contracts.len());
        for contract in &batch.contracts {
            contracts.push(ContractRow {
                id: to_db(contract.id.0, "contract id")?,
                seller: to_db(contract.seller.0, "participant id")?,
                buyer: to_db(contract.buyer.0, "participant id")?,
                volumes: serde_json::to_string(&contract.volumes).map_err(|e| {
                    corrupt(
                        "contracts",
                        format!("contract {}: volumes: {e}", contract.id),
                    )
                })?,
                energy_price: contract.price.energy.0,
                env_price: contract.price.environment.0,
                compensation: contract.compensation.0,
                status: name_of(contract.status),
                created_at_ms: contract.created_at_ms,
                corridor: contract
                    .corridor
                    .as_ref()
                    .map(serde_json::to_string)
                    .transpose()
                    .map_err(|e| {
                        corrupt(
                            "contracts",
                            format!("contract {}: corridor: {e}", contract.id),
                        )
                    })?,
            });
        }
        let mut responses = Vec::with_capacity(batch.responses.len());
        for r in &batch.responses {
            responses.push(ResponseRow {
                participant: to_db(r.participant.0, "participant id")?,
                key: &r.key,
                status: i64::from(r.status),
                body: &r.body,
                request: r.request.as_ref().map(|h| h.as_slice()),
            });
        }
        Ok(BatchRows {
            session: to_db(session.0, "session id")?,
            journal,
            state: batch.state.map(SessionState::as_str),
            orders,
            contracts,
            responses,
        })
    }
}

/// The first value that occurs a second time.
fn first_repeat(values: impl Iterator<Item = u64>) -> Option<u64> {
    let mut seen = BTreeSet::new();
    values.into_iter().find(|v| !seen.insert(*v))
}

/// Bytes as stored compressed (migrations 0011 and 0012): Snappy's raw format.
pub(crate) fn pack(bytes: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(bytes)
        .expect("Snappy compresses any input below 4 GiB")
}

/// The bytes [`pack`] stored in `table`'s `row`; a column that does not decompress is corrupt.
pub(crate) fn unpack(table: &'static str, row: &str, packed: &[u8]) -> Result<Vec<u8>> {
    snap::raw::Decoder::new()
        .decompress_vec(packed)
        .map_err(|e| {
            corrupt(
                table,
                format!("{row}: the packed document does not decompress: {e}"),
            )
        })
}

/// A JSON document as stored compressed (migration 0011).
pub(crate) fn pack_document(json: &str) -> Vec<u8> {
    pack(json.as_bytes())
}

/// A stored document: its `packed` form when the row has one, else its text (rows written
/// before migration 0011). A `packed` that does not decompress to UTF-8 is corrupt.
pub(crate) fn unpack_document(
    table: &'static str,
    row: &str,
    text: String,
    packed: Option<Vec<u8>>,
) -> Result<String> {
    let Some(packed) = packed else {
        return Ok(text);
    };
    let bytes = unpack(table, row, &packed)?;
    String::from_utf8(bytes)
        .map_err(|_| corrupt(table, format!("{row}: the packed document is not UTF-8")))
}
