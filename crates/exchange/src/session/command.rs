//! What goes into a session: a [`Command`] (its [`CommandKind`] names it in errors), the
//! [`Target`] a command points at by id, and the caller's [`Stamp`].

use std::fmt;

use domain::{
    Kwh, OrderId, Participant, ParticipantId, Period, PeriodVolume, Price, Side, TimeInForce,
    TwoPartPrice,
};
use serde::{Deserialize, Serialize};

/// The kind of a [`Command`], used to name it in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    /// [`Command::Announce`].
    Announce,
    /// [`Command::Open`].
    Open,
    /// [`Command::Close`].
    Close,
    /// [`Command::Clear`].
    Clear,
    /// [`Command::Publish`].
    Publish,
    /// [`Command::Cancel`].
    Cancel,
    /// [`Command::SubmitOrder`].
    SubmitOrder,
    /// [`Command::CancelOrder`].
    CancelOrder,
    /// [`Command::List`].
    List,
    /// [`Command::Take`].
    Take,
    /// [`Command::Withdraw`].
    Withdraw,
    /// [`Command::Propose`].
    Propose,
    /// [`Command::Confirm`].
    Confirm,
}

impl CommandKind {
    /// The command's name as written in files, the API and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandKind::Announce => "announce",
            CommandKind::Open => "open",
            CommandKind::Close => "close",
            CommandKind::Clear => "clear",
            CommandKind::Publish => "publish",
            CommandKind::Cancel => "cancel",
            CommandKind::SubmitOrder => "submit_order",
            CommandKind::CancelOrder => "cancel_order",
            CommandKind::List => "list",
            CommandKind::Take => "take",
            CommandKind::Withdraw => "withdraw",
            CommandKind::Propose => "propose",
            CommandKind::Confirm => "confirm",
        }
    }
}

impl fmt::Display for CommandKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a command can point at by id: an order, a listing or a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// An order, by the id the session gave it.
    Order(OrderId),
    /// A listing, by its id (the sequence number of the command that listed it).
    Listing(u64),
    /// A bilateral proposal, by its id (the sequence number of the command that made it).
    Proposal(u64),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Order(id) => write!(f, "order {id}"),
            Target::Listing(id) => write!(f, "listing {id}"),
            Target::Proposal(id) => write!(f, "proposal {id}"),
        }
    }
}

/// The caller's stamp on a command: the engine never reads a clock or invents an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stamp {
    /// Strictly increasing across every command a session accepts; it becomes the id of the
    /// order, listing or proposal the command creates. A refused command does not use it up.
    pub seq: u64,
    /// When the command arrived, in ms since the Unix epoch; recorded as given.
    pub at_ms: i64,
}

/// What a session can be told to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "command")]
pub enum Command {
    /// `draft → announced`.
    Announce,
    /// `announced → open`.
    Open,
    /// `open → closed`: resting rolling orders expire, open listings and pending proposals lapse.
    Close,
    /// `closed → cleared`: a call auction clears and makes its contracts; other modes already
    /// made theirs while open.
    Clear,
    /// `cleared → published`.
    Publish,
    /// Calls the session off from any state before `published`; from `open`, what `close`
    /// would end ends too.
    Cancel,
    /// A call-auction or rolling order.
    SubmitOrder {
        /// Who submits it.
        by: Participant,
        /// Buy or sell.
        side: Side,
        /// The delivery period.
        period: Period,
        /// The volume, a positive multiple of the lot.
        volume: Kwh,
        /// The limit price in two parts.
        price: TwoPartPrice,
        /// Limit or IOC (rolling only; a call auction treats every order as a limit).
        time_in_force: TimeInForce,
    },
    /// Cancels a live order (a resting rolling order, or a call-auction order before close).
    CancelOrder {
        /// Who asks; only the owner may.
        by: ParticipantId,
        /// The order.
        order: OrderId,
    },
    /// 挂牌: lists volumes per period at a two-part price.
    List {
        /// Who lists.
        by: Participant,
        /// The lister's side: `sell` to offer energy, `buy` to ask for it.
        side: Side,
        /// Volumes per period, each a positive multiple of the lot.
        volumes: Vec<PeriodVolume>,
        /// The price of every take.
        price: TwoPartPrice,
    },
    /// 摘牌: takes part of a listing, making a contract at the listed price.
    Take {
        /// Who takes.
        by: Participant,
        /// The listing's id.
        listing: u64,
        /// Volumes per period, lot multiples, each no more than the listing has left.
        volumes: Vec<PeriodVolume>,
    },
    /// Withdraws what is left of a listing.
    Withdraw {
        /// Who asks; only the owner may.
        by: ParticipantId,
        /// The listing's id.
        listing: u64,
    },
    /// Proposes a bilateral contract to a counterparty.
    Propose {
        /// Who proposes; seller or buyer according to its role.
        by: Participant,
        /// Who must confirm.
        counterparty: Participant,
        /// Volumes per period, each a positive multiple of the lot.
        volumes: Vec<PeriodVolume>,
        /// The contract's two-part price.
        price: TwoPartPrice,
        /// The contract's compensation price, not negative.
        compensation: Price,
    },
    /// Confirms a proposal, making the contract.
    Confirm {
        /// Who confirms; only the counterparty may.
        by: ParticipantId,
        /// The proposal's id.
        proposal: u64,
    },
}

impl Command {
    /// The command's kind.
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::Announce => CommandKind::Announce,
            Command::Open => CommandKind::Open,
            Command::Close => CommandKind::Close,
            Command::Clear => CommandKind::Clear,
            Command::Publish => CommandKind::Publish,
            Command::Cancel => CommandKind::Cancel,
            Command::SubmitOrder { .. } => CommandKind::SubmitOrder,
            Command::CancelOrder { .. } => CommandKind::CancelOrder,
            Command::List { .. } => CommandKind::List,
            Command::Take { .. } => CommandKind::Take,
            Command::Withdraw { .. } => CommandKind::Withdraw,
            Command::Propose { .. } => CommandKind::Propose,
            Command::Confirm { .. } => CommandKind::Confirm,
        }
    }
}
