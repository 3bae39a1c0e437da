//! 滚动撮合: rolling (continuous) matching of one delivery period, with price-time priority
//! (spec §3.4).
//!
//! A [`Book`] holds the resting orders of one period. [`Book::submit`] matches an [`Incoming`]
//! order against the other side while prices cross — best price first, then earliest — and every
//! [`Trade`] is at the *resting* order's price. What is left rests ([`TimeInForce::Limit`]) or is
//! cancelled ([`TimeInForce::Ioc`]); the [`Outcome`] says how much of each. [`Book::cancel`]
//! takes a resting order out, and [`Book::depth`] is the public view: aggregated [`Level`]s, no
//! owners.
//!
//! # Design
//!
//! The book must sustain millions of orders per second on one core, so it allocates nothing per
//! order once warm and every step is O(1) or a short binary search:
//!
//! - Orders live in a slab (`Vec` plus a free list) and are reused after they fill or cancel, so
//!   memory follows the number of *resting* orders, not the number ever submitted.
//! - Each side is a `Vec` of price queues sorted from worst to best, so the best price is the
//!   last element: matching pops from the end, and a new price level is inserted with a memmove
//!   of only the levels better than it, which near the top of the book are few.
//! - A price queue is an intrusive doubly-linked list through the slab (earliest first) with its
//!   exact aggregate volume and order count, so cancelling from the middle is O(1) and depth never
//!   walks orders.
//! - Cancel finds an order by id through a hash map from id to slot, with a cheap integer hasher.
//!   The map is only ever looked up, never iterated, so results stay deterministic.
//!
//! A resting order costs about 70 bytes (its slot and its index entry); a book holding 10^7
//! resting orders peaks at about 750 MB. Orders that fill on arrival or are IOC cost nothing.
//!
//! Inputs are validated by the session (volume > 0 and at most `Kwh::MAX_VOLUME`, ids unique
//! and increasing, at most `session::MAX_ORDERS` orders); this module only `debug_assert!`s
//! that. Under those bounds a price level's aggregate (the public depth) is below
//! 10^8 × 10^9 = 10^17 kWh, far inside `i64`; it is added with `checked_add`, so it could not
//! wrap silently even if a caller broke them.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A map keyed by order id with [`IdHasher`]; only ever looked up, never iterated for results.
pub(crate) type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

use domain::{Kwh, OrderId, ParticipantId, Price, Side, TimeInForce};
use serde::{Deserialize, Serialize};

/// An order arriving at the book, already checked by the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incoming {
    /// The session's sequence number for the order; unique and increasing.
    pub id: OrderId,
    /// Who submitted it.
    pub owner: ParticipantId,
    /// Buy or sell.
    pub side: Side,
    /// The volume it offers, greater than zero.
    pub volume: Kwh,
    /// Its limit: the highest price a buy pays, the lowest a sell accepts.
    pub price: Price,
    /// Whether the unmatched rest rests in the book or is cancelled.
    pub time_in_force: TimeInForce,
}

/// One execution between a resting order and an incoming one, at the resting order's price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trade {
    /// The order that was resting in the book.
    pub resting: OrderId,
    /// The order that arrived and matched it.
    pub incoming: OrderId,
    /// The buying participant.
    pub buyer: ParticipantId,
    /// The selling participant.
    pub seller: ParticipantId,
    /// The buy order (one of `resting` and `incoming`).
    pub buy_order: OrderId,
    /// The sell order (the other one).
    pub sell_order: OrderId,
    /// The volume traded, greater than zero.
    pub volume: Kwh,
    /// The price: the resting order's limit.
    pub price: Price,
}

/// What became of an incoming order: `filled + rested + cancelled` is its volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Volume matched at once against resting orders.
    pub filled: Kwh,
    /// Volume left resting in the book (a limit order's unmatched rest).
    pub rested: Kwh,
    /// Volume cancelled at once (an IOC order's unmatched rest).
    pub cancelled: Kwh,
}

/// One price level of the public depth: aggregated, without owners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    /// The price of the level.
    pub price: Price,
    /// The total unfilled volume resting at this price.
    pub volume: Kwh,
    /// How many orders rest at this price.
    pub orders: u32,
}

/// The end of a linked list.
const NIL: u32 = u32::MAX;

/// A resting order in the slab.
#[derive(Debug, Clone, Copy)]
struct Slot {
    id: u64,
    owner: u64,
    remaining_kwh: i64,
    price: i64,
    /// The previous order of the same queue; stale (never read) while this order is the head.
    prev: u32,
    /// The next order of the same queue.
    next: u32,
    side: Side,
}

/// The orders at one price on one side, earliest first.
#[derive(Debug, Clone, Copy)]
struct Queue {
    /// The price as a rank key: larger is better on both sides (see [`key_mask`]).
    key: i64,
    volume_kwh: i64,
    orders: u32,
    head: u32,
    tail: u32,
}

/// The mask that turns a price into a rank key and back (`key = price ^ mask`): buys rank by
/// price, sells by its bitwise complement (`!p == -p - 1`, order-reversing and overflow-free), so
/// both sides keep their queues sorted ascending by key with the best price last.
fn key_mask(side: Side) -> i64 {
    match side {
        Side::Buy => 0,
        Side::Sell => -1,
    }
}

/// A hasher for order ids: one folded 64×64→128-bit multiply. Ids are not chosen by an
/// adversary (they are the session's sequence numbers), so this needs spread, not DoS resistance;
/// folding the high half in spreads strided ids (one period of many) as well as consecutive ones.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

const FOLD_MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(self.0 ^ u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        let product = u128::from(n) * u128::from(FOLD_MULTIPLIER);
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The rolling-matching order book of one delivery period.
#[derive(Debug, Default)]
pub struct Book {
    /// Buy queues, worst (lowest) price first, best last.
    bids: Vec<Queue>,
    /// Sell queues, worst (highest) price first, best last.
    asks: Vec<Queue>,
    slots: Vec<Slot>,
    /// Slots free for reuse, a stack.
    free: Vec<u32>,
    /// Resting order id → slot. Only looked up, never iterated.
    index: IdMap<u32>,
    /// The last id submitted, to check that ids increase.
    last_id: Option<u64>,
}

impl Book {
    /// An empty book.
    pub fn new() -> Book {
        Book::default()
    }

    /// Matches `order` against the other side while prices cross (buy price ≥ sell price), best
    /// price first, then earliest; each trade is at the resting order's price. Appends the trades
    /// to `trades` in execution order (the caller reuses the `Vec`; nothing is cleared). What does
    /// not match rests ([`TimeInForce::Limit`]) or is cancelled ([`TimeInForce::Ioc`]).
    pub fn submit(&mut self, order: Incoming, trades: &mut Vec<Trade>) -> Outcome {
        debug_assert!(order.volume.0 > 0, "order {} has no volume", order.id);
        debug_assert!(
            self.last_id.is_none_or(|last| order.id.0 > last),
            "order id {} does not increase",
            order.id
        );
        self.last_id = Some(order.id.0);

        let Book {
            bids,
            asks,
            slots,
            free,
            index,
            ..
        } = self;
        let opposite = match order.side {
            Side::Buy => asks,
            Side::Sell => bids,
        };
        let opposite_mask = key_mask(order.side.opposite());
        let limit_key = order.price.0 ^ opposite_mask;
        let mut left_kwh = order.volume.0;

        // Bounded: every pass of the inner loop fills `left_kwh` or removes a resting order.
        while let Some(queue) = opposite.last_mut() {
            if queue.key < limit_key {
                break;
            }
            let price = Price(queue.key ^ opposite_mask);
            loop {
                let s = queue.head as usize;
                let slot = &mut slots[s];
                let volume_kwh = left_kwh.min(slot.remaining_kwh);
                let (buyer, seller, buy_order, sell_order) = match order.side {
                    Side::Buy => (order.owner.0, slot.owner, order.id.0, slot.id),
                    Side::Sell => (slot.owner, order.owner.0, slot.id, order.id.0),
                };
                trades.push(Trade {
                    resting: OrderId(slot.id),
                    incoming: order.id,
                    buyer: ParticipantId(buyer),
                    seller: ParticipantId(seller),
                    buy_order: OrderId(buy_order),
                    sell_order: OrderId(sell_order),
                    volume: Kwh(volume_kwh),
                    price,
                });
                slot.remaining_kwh -= volume_kwh;
                queue.volume_kwh -= volume_kwh;
                left_kwh -= volume_kwh;
                if slot.remaining_kwh == 0 {
                    queue.head = slot.next;
                    queue.orders -= 1;
                    index.remove(&slot.id);
                    free.push(s as u32);
                    if queue.head == NIL {
                        break;
                    }
                }
                if left_kwh == 0 {
                    break;
                }
            }
            if queue.head == NIL {
                debug_assert!(queue.orders == 0 && queue.volume_kwh == 0);
                opposite.pop();
            }
            if left_kwh == 0 {
                break;
            }
        }

        let filled = Kwh(order.volume.0 - left_kwh);
        let outcome = match (left_kwh, order.time_in_force) {
            (0, _) => Outcome {
                filled,
                rested: Kwh::ZERO,
                cancelled: Kwh::ZERO,
            },
            (_, TimeInForce::Limit) => {
                self.rest(order, left_kwh);
                Outcome {
                    filled,
                    rested: Kwh(left_kwh),
                    cancelled: Kwh::ZERO,
                }
            }
            (_, TimeInForce::Ioc) => Outcome {
                filled,
                rested: Kwh::ZERO,
                cancelled: Kwh(left_kwh),
            },
        };
        debug_assert!(self.is_uncrossed(), "book crossed after order {}", order.id);
        outcome
    }

    /// Puts the unmatched rest of `order` at the back of its price queue.
    fn rest(&mut self, order: Incoming, remaining_kwh: i64) {
        let slot = Slot {
            id: order.id.0,
            owner: order.owner.0,
            remaining_kwh,
            price: order.price.0,
            prev: NIL,
            next: NIL,
            side: order.side,
        };
        let s = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = slot;
                s
            }
            None => {
                let s = u32::try_from(self.slots.len())
                    .ok()
                    .filter(|&s| s != NIL)
                    .expect("fewer than 2^32 - 1 resting orders");
                self.slots.push(slot);
                s
            }
        };
        let key = order.price.0 ^ key_mask(order.side);
        let queues = match order.side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        // Most orders rest at or near the top, so look at the best queue before searching.
        let at = match queues.last() {
            Some(best) if best.key < key => queues.len(),
            Some(best) if best.key == key => queues.len() - 1,
            _ => queues.partition_point(|q| q.key < key),
        };
        match queues.get_mut(at) {
            Some(queue) if queue.key == key => {
                self.slots[s as usize].prev = queue.tail;
                self.slots[queue.tail as usize].next = s;
                queue.tail = s;
                // A level holds orders of one session, at most MAX_ORDERS = 10^8 of at most
                // 10^9 kWh: below 10^17, so this never fails (and never wraps, in release too).
                queue.volume_kwh = queue
                    .volume_kwh
                    .checked_add(remaining_kwh)
                    .expect("a price level's volume stays below 10^17 kWh");
                queue.orders += 1;
            }
            _ => queues.insert(
                at,
                Queue {
                    key,
                    volume_kwh: remaining_kwh,
                    orders: 1,
                    head: s,
                    tail: s,
                },
            ),
        }
        self.index.insert(order.id.0, s);
    }

    /// Cancels a resting order and returns its unfilled volume, or `None` if it does not rest
    /// (unknown, filled, or already cancelled).
    pub fn cancel(&mut self, id: OrderId) -> Option<Kwh> {
        let s = self.index.remove(&id.0)?;
        let slot = self.slots[s as usize];
        let key = slot.price ^ key_mask(slot.side);
        let queues = match slot.side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let at = queues.partition_point(|q| q.key < key);
        let queue = &mut queues[at];
        debug_assert_eq!(queue.key, key, "resting order {id} has no queue");
        if queue.head == s {
            queue.head = slot.next;
        } else {
            self.slots[slot.prev as usize].next = slot.next;
        }
        if queue.tail == s {
            // When `s` is also the head the queue is now empty and `tail` is never read again.
            queue.tail = slot.prev;
        } else {
            self.slots[slot.next as usize].prev = slot.prev;
        }
        queue.volume_kwh -= slot.remaining_kwh;
        queue.orders -= 1;
        if queue.orders == 0 {
            debug_assert!(queue.head == NIL && queue.volume_kwh == 0);
            queues.remove(at);
        }
        self.free.push(s);
        Some(Kwh(slot.remaining_kwh))
    }

    /// The public depth of one side, best price first (buys descending, sells ascending),
    /// aggregated per price level, at most `max_levels` levels.
    pub fn depth(&self, side: Side, max_levels: usize) -> Vec<Level> {
        let mask = key_mask(side);
        self.queues(side)
            .iter()
            .rev()
            .take(max_levels)
            .map(|q| Level {
                price: Price(q.key ^ mask),
                volume: Kwh(q.volume_kwh),
                orders: q.orders,
            })
            .collect()
    }

    /// The best price of one side: the highest buy or the lowest sell.
    pub fn best(&self, side: Side) -> Option<Price> {
        self.queues(side)
            .last()
            .map(|q| Price(q.key ^ key_mask(side)))
    }

    /// The owner, side, price and remaining volume of an order, if it rests in the book.
    pub fn resting(&self, id: OrderId) -> Option<(ParticipantId, Side, Price, Kwh)> {
        let slot = &self.slots[*self.index.get(&id.0)? as usize];
        Some((
            ParticipantId(slot.owner),
            slot.side,
            Price(slot.price),
            Kwh(slot.remaining_kwh),
        ))
    }

    /// The resting orders of one side in priority order (best price first, then earliest), as
    /// `(id, owner, price, remaining volume)`. For the operator's view and snapshots; the public
    /// sees only [`Book::depth`].
    pub fn orders(
        &self,
        side: Side,
    ) -> impl Iterator<Item = (OrderId, ParticipantId, Price, Kwh)> + '_ {
        self.queues(side).iter().rev().flat_map(move |q| {
            let mut s = q.head;
            std::iter::from_fn(move || {
                let slot = self.slots.get(s as usize)?;
                s = slot.next;
                Some((
                    OrderId(slot.id),
                    ParticipantId(slot.owner),
                    Price(slot.price),
                    Kwh(slot.remaining_kwh),
                ))
            })
            .take(q.orders as usize)
        })
    }

    /// The number of resting orders.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no order rests.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn queues(&self, side: Side) -> &[Queue] {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    /// Whether the best bid is below the best ask (or a side is empty).
    fn is_uncrossed(&self) -> bool {
        match (self.best(Side::Buy), self.best(Side::Sell)) {
            (Some(bid), Some(ask)) => bid < ask,
            _ => true,
        }
    }
}
