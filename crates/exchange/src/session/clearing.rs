//! Clearing a call auction into contracts: `uniform` and `high_low` with
//! [`auction::clear`], `coupled` with [`coupling::clear`] and the tracing of each period's
//! energy from sellers to buyers (`trace`). A pair's slices are gathered across periods into
//! contracts, none holding more than [`Kwh::MAX_VOLUME`] in a period.

use std::collections::BTreeMap;

use domain::{
    ContractCorridor, Kwh, ParticipantId, Period, PeriodVolume, Province, Side, TwoPartPrice,
};

use super::trace::{PeriodFlows, Piece, trace_period};
use super::{
    ClearedPeriod, CorridorFlow, Event, OrderFill, ProvinceResult, Session, SliceFill, Stamp,
};
use crate::ExchangeError;
use crate::auction::{self, AuctionOrder, Method};
use crate::coupling::{self, CoupledOrder, CoupledPeriod};

impl Session {
    /// Runs the call auction on the live orders and makes one contract per (seller, buyer,
    /// two-part price), aggregating slices across periods in order of first appearance (period
    /// order, then slice order); see
    /// [`SessionSettings::slice_price`](super::SessionSettings::slice_price) for the price.
    pub(super) fn clear_auction(&mut self, method: Method, stamp: Stamp, events: &mut Vec<Event>) {
        let live: Vec<usize> = (0..self.orders.len())
            .filter(|&i| !self.withdrawn.contains(&self.orders[i].id))
            .collect();
        let input: Vec<AuctionOrder> = live
            .iter()
            .map(|&i| {
                let o = &self.orders[i];
                AuctionOrder {
                    period: u32::from(o.period.0),
                    side: o.side,
                    volume: o.volume,
                    price: self.settings.ranking_price(o.price),
                }
            })
            .collect();
        let periods = self.settings.template.len();
        let results = auction::clear(&input, periods, method);
        assert_eq!(results.len(), periods, "one result per period");

        type Key = (ParticipantId, ParticipantId, i64, i64);
        let mut drafts: Vec<(Key, TwoPartPrice, Vec<PeriodVolume>)> = Vec::new();
        let mut index: BTreeMap<Key, usize> = BTreeMap::new();
        for (p, result) in results.into_iter().enumerate() {
            let period = Period(u16::try_from(p).expect("templates have at most 96 periods"));
            let order_of = |i: usize| &self.orders[live[i]];
            for slice in &result.slices {
                let (buy, sell) = (order_of(slice.buy), order_of(slice.sell));
                let price = self
                    .settings
                    .slice_price(slice.price, buy.price, sell.price);
                let key = (
                    sell.participant,
                    buy.participant,
                    price.energy.0,
                    price.environment.0,
                );
                let mut at = *index.entry(key).or_insert_with(|| {
                    drafts.push((key, price, Vec::new()));
                    drafts.len() - 1
                });
                if !fits_bound(&drafts[at].2, period, slice.volume) {
                    // The pair's contract is full in this period: a further one takes the rest.
                    drafts.push((key, price, Vec::new()));
                    at = drafts.len() - 1;
                    index.insert(key, at);
                }
                add_volume(&mut drafts[at].2, period, slice.volume);
            }
            events.push(Event::PeriodCleared {
                period,
                volume: result.volume,
                price: result.price,
            });
            self.clearing.push(ClearedPeriod {
                period,
                volume: result.volume,
                price: result.price,
                fills: result
                    .fills
                    .iter()
                    .map(|f| OrderFill {
                        order: order_of(f.order).id,
                        volume: f.volume,
                        price: f.price,
                    })
                    .collect(),
                slices: result
                    .slices
                    .iter()
                    .map(|s| SliceFill {
                        buy: order_of(s.buy).id,
                        sell: order_of(s.sell).id,
                        volume: s.volume,
                        price: s.price,
                    })
                    .collect(),
                provinces: Vec::new(),
                flows: Vec::new(),
            });
        }
        let compensation = self.settings.compensation;
        for ((seller, buyer, _, _), price, volumes) in drafts {
            let contract =
                self.make_contract(seller, buyer, volumes, price, compensation, stamp.at_ms);
            events.push(Event::ContractMade(contract));
        }
    }

    /// Runs [`coupling::clear`] on the live orders of a coupled session and traces each period's
    /// energy from sellers to buyers (see [`Session::clear_coupled`]); changes nothing.
    pub(super) fn solve_coupled(&self) -> Result<CoupledClearing, ExchangeError> {
        let provinces = self.settings.coupled_provinces();
        let index = |p: &Province| {
            provinces
                .iter()
                .position(|q| q == p)
                .expect("validated: corridors join provinces of the scope")
        };
        let live: Vec<usize> = (0..self.orders.len())
            .filter(|&i| !self.withdrawn.contains(&self.orders[i].id))
            .collect();
        let input: Vec<CoupledOrder> = live
            .iter()
            .map(|&i| {
                let o = &self.orders[i];
                CoupledOrder {
                    period: u32::from(o.period.0),
                    province: self.order_provinces[&o.id],
                    side: o.side,
                    volume: o.volume,
                    price: self.settings.ranking_price(o.price),
                }
            })
            .collect();
        let periods = self.settings.template.len();
        let corridors: Vec<coupling::Corridor> = self
            .settings
            .corridors
            .iter()
            .map(|c| coupling::Corridor {
                from: index(&c.from) as u32,
                to: index(&c.to) as u32,
                capacity: (0..periods)
                    .map(|p| c.capacity_in(Period(p as u16)))
                    .collect(),
                loss: c.loss,
                tariff: c.tariff,
            })
            .collect();
        let results =
            coupling::clear(&input, provinces.len(), &corridors, periods).map_err(|e| {
                ExchangeError::ClearingFailed {
                    reason: e.to_string(),
                }
            })?;
        let ends: Vec<(usize, usize)> = corridors
            .iter()
            .map(|c| (c.from as usize, c.to as usize))
            .collect();
        let ranking = |i: usize| self.settings.ranking_price(self.orders[live[i]].price);
        let mut pieces = Vec::with_capacity(results.len());
        for (p, result) in results.iter().enumerate() {
            let mut sells = vec![Vec::new(); provinces.len()];
            let mut buys = vec![Vec::new(); provinces.len()];
            for f in &result.fills {
                let k = input[f.order].province as usize;
                match input[f.order].side {
                    Side::Buy => buys[k].push((f.order, f.volume.0)),
                    Side::Sell => sells[k].push((f.order, f.volume.0)),
                }
            }
            for list in &mut buys {
                list.sort_by(|a, b| ranking(b.0).cmp(&ranking(a.0)).then(a.0.cmp(&b.0)));
            }
            for list in &mut sells {
                list.sort_by(|a, b| ranking(a.0).cmp(&ranking(b.0)).then(a.0.cmp(&b.0)));
            }
            let flows = result.flows.iter().map(|f| (f.sent.0, f.delivered.0));
            let traced = trace_period(&PeriodFlows {
                sells,
                buys,
                ends: &ends,
                flows: flows.collect(),
            })
            .ok_or_else(|| ExchangeError::ClearingFailed {
                reason: format!(
                    "in period {}, energy would go round a loop of corridors",
                    self.settings.template.label(Period(p as u16))
                ),
            })?;
            pieces.push(traced);
        }
        Ok(CoupledClearing {
            live,
            results,
            pieces,
        })
    }

    /// Records a coupled clearing and makes its contracts.
    ///
    /// Pairing rule, per period (every price a ranking price): the energy of each filled sell
    /// order is traced to filled buy orders, province by province in the direction the energy
    /// flows (a province is taken once every corridor carrying energy into it has been; the
    /// clearing never sends energy round a loop, see
    /// [`SessionSettings::validate`](super::SessionSettings::validate)).
    /// 1. In a province, what arrives over corridors (corridor order; over each corridor in
    ///    the order it was sent) comes first, then the province's filled sells (lower limit,
    ///    then earlier); it is paired volume by volume with the energy going out over corridors
    ///    (corridor order, each its `sent`) first, then the province's filled buys (higher
    ///    limit, then earlier).
    /// 2. The pieces sent into a corridor share its `delivered` energy in proportion to what
    ///    they sent (`domain::pro_rata`); each piece arrives in the next province with the rest
    ///    added to its loss. When a piece of energy is split, its loss is split in proportion to
    ///    the parts (largest remainder, then earlier); energy of which nothing arrives rides,
    ///    with its loss, on the piece being paired when its turn comes (or the last one), and
    ///    makes no contract in a province where nothing at all is bought or sent on.
    /// 3. A piece reaching a buy order is a contract volume of the energy sent (delivered +
    ///    lost), priced at the **seller's** province price (the tariff and any congestion rent
    ///    are not in contracts); across corridors it records the path and the loss.
    ///
    /// Contracts are one per (seller, buyer, two-part price, path), gathered across periods in
    /// order of first appearance: period order; in a period, pairs within provinces by province
    /// name, then those across corridors by the corridor they arrive over.
    /// As in the call auction, a piece that would take a contract's volume in its period
    /// beyond [`Kwh::MAX_VOLUME`] starts a further contract of the same key.
    pub(super) fn clear_coupled(
        &mut self,
        clearing: CoupledClearing,
        stamp: Stamp,
        events: &mut Vec<Event>,
    ) {
        let CoupledClearing {
            live,
            results,
            pieces,
        } = clearing;
        let provinces = self.settings.coupled_provinces();
        type Key = (ParticipantId, ParticipantId, i64, i64, Vec<usize>);
        type Draft = (Key, TwoPartPrice, Vec<PeriodVolume>, Vec<PeriodVolume>);
        let mut drafts: Vec<Draft> = Vec::new();
        let mut index: BTreeMap<Key, usize> = BTreeMap::new();
        for (p, (result, pieces)) in results.into_iter().zip(pieces).enumerate() {
            let period = Period(u16::try_from(p).expect("templates have at most 96 periods"));
            let order_of = |i: usize| &self.orders[live[i]];
            let province_of = |i: usize| self.order_provinces[&order_of(i).id] as usize;
            let price_of = |k: usize| {
                result.provinces[k]
                    .price
                    .expect("a province with fills has a price")
            };
            let mut slices = Vec::with_capacity(pieces.len());
            for piece in pieces {
                let (bo, so) = (order_of(piece.buyer), order_of(piece.seller));
                let at = price_of(province_of(piece.seller));
                let price = self.settings.slice_price(at, bo.price, so.price);
                let volume = Kwh(piece.delivered + piece.lost);
                slices.push(SliceFill {
                    buy: bo.id,
                    sell: so.id,
                    volume,
                    price: at,
                });
                let key = (
                    so.participant,
                    bo.participant,
                    price.energy.0,
                    price.environment.0,
                    piece.path,
                );
                let at = match index.get(&key) {
                    Some(&at) if fits_bound(&drafts[at].2, period, volume) => at,
                    // New, or full in this period (a further contract takes the rest).
                    _ => {
                        index.insert(key.clone(), drafts.len());
                        drafts.push((key, price, Vec::new(), Vec::new()));
                        drafts.len() - 1
                    }
                };
                add_volume(&mut drafts[at].2, period, volume);
                add_volume(&mut drafts[at].3, period, Kwh(piece.lost));
            }
            events.push(Event::PeriodCleared {
                period,
                volume: result.volume,
                price: None,
            });
            self.clearing.push(ClearedPeriod {
                period,
                volume: result.volume,
                price: None,
                fills: result
                    .fills
                    .iter()
                    .map(|f| OrderFill {
                        order: order_of(f.order).id,
                        volume: f.volume,
                        price: f.price,
                    })
                    .collect(),
                slices,
                provinces: provinces
                    .iter()
                    .zip(&result.provinces)
                    .map(|(name, r)| ProvinceResult {
                        province: name.clone(),
                        price: r.price,
                        bought: r.bought,
                        sold: r.sold,
                    })
                    .collect(),
                flows: self
                    .settings
                    .corridors
                    .iter()
                    .zip(&result.flows)
                    .map(|(c, f)| CorridorFlow {
                        from: c.from.clone(),
                        to: c.to.clone(),
                        sent: f.sent,
                        delivered: f.delivered,
                        congestion_rent: f.congestion_rent,
                    })
                    .collect(),
            });
        }
        let compensation = self.settings.compensation;
        for ((seller, buyer, _, _, path), price, volumes, losses) in drafts {
            let corridor = (!path.is_empty()).then(|| {
                let corridors = &self.settings.corridors;
                ContractCorridor {
                    from: corridors[path[0]].from.clone(),
                    to: corridors[path[path.len() - 1]].to.clone(),
                    via: path[1..]
                        .iter()
                        .map(|&c| corridors[c].from.clone())
                        .collect(),
                    losses,
                }
            });
            let contract = self.make_contract_via(
                seller,
                buyer,
                volumes,
                price,
                compensation,
                stamp.at_ms,
                corridor,
            );
            events.push(Event::ContractMade(contract));
        }
    }
}

/// A coupled session's clearing, computed before the session changes: the live orders'
/// positions in `Session::orders` (the clearing's order indexes), each period's result and its
/// traced pieces.
pub(super) struct CoupledClearing {
    live: Vec<usize>,
    results: Vec<CoupledPeriod>,
    pieces: Vec<Vec<Piece>>,
}

/// Whether adding `volume` in `period` to a contract's list (kept sorted by period, periods
/// coming in order) keeps its volume in that period within [`Kwh::MAX_VOLUME`]. A slice or a
/// traced piece is part of one order's fill, so it fits alone in an empty period.
fn fits_bound(list: &[PeriodVolume], period: Period, volume: Kwh) -> bool {
    let already = match list.last() {
        Some(last) if last.period == period => last.volume,
        _ => Kwh::ZERO,
    };
    already.0.saturating_add(volume.0) <= Kwh::MAX_VOLUME.0
}

/// Adds a positive `volume` in `period` to a list kept sorted by period (periods come in order).
/// Callers keep each period within [`Kwh::MAX_VOLUME`] ([`fits_bound`]), so the sum fits.
fn add_volume(list: &mut Vec<PeriodVolume>, period: Period, volume: Kwh) {
    if volume <= Kwh::ZERO {
        return;
    }
    match list.last_mut() {
        Some(last) if last.period == period => {
            last.volume = Kwh(last
                .volume
                .0
                .checked_add(volume.0)
                .expect("contract volumes stay within the bound"));
        }
        _ => list.push(PeriodVolume { period, volume }),
    }
}
