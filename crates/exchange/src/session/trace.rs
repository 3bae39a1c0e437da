//! Tracing a coupled period's energy from sellers to buyers, province by province in the
//! direction it flows, through corridors that lose part of it: steps 1 and 2 of the pairing
//! rule of `Session::clear_coupled`, as a pure function of the period's fills and flows
//! ([`trace_period`]).

use std::collections::{BTreeMap, BTreeSet};

/// Energy of one sell order on its way through a coupled period: `amount` kWh of it reach the
/// province being processed along `path` (corridor indexes), `lost` kWh were lost on the way.
#[derive(Debug, Clone)]
struct Parcel {
    seller: usize,
    path: Vec<usize>,
    amount: i64,
    lost: i64,
}

/// Where energy goes in a province: into a corridor (its `sent`) or to a filled buy order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sink {
    Corridor(usize),
    Buy(usize),
}

/// A traced piece of a coupled period: `delivered` kWh of `seller`'s energy reach `buyer`
/// along `path` (empty within a province), `lost` kWh being lost on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Piece {
    pub(super) seller: usize,
    pub(super) buyer: usize,
    pub(super) path: Vec<usize>,
    pub(super) delivered: i64,
    pub(super) lost: i64,
}

/// One cleared period of a coupled session, as the tracing needs it: per province its filled
/// sells and buys (input index, kWh) best first, per corridor its ends and (sent, delivered).
pub(super) struct PeriodFlows<'a> {
    pub(super) sells: Vec<Vec<(usize, i64)>>,
    pub(super) buys: Vec<Vec<(usize, i64)>>,
    pub(super) ends: &'a [(usize, usize)],
    pub(super) flows: Vec<(i64, i64)>,
}

/// The provinces in an order where every corridor that carries energy leaves a province before
/// it enters the next (ties by index); `None` if the energy goes round a loop.
fn flow_order(
    provinces: usize,
    ends: &[(usize, usize)],
    flows: &[(i64, i64)],
) -> Option<Vec<usize>> {
    let mut incoming = vec![0usize; provinces];
    for (c, &(_, to)) in ends.iter().enumerate() {
        incoming[to] += usize::from(flows[c].0 > 0);
    }
    let mut ready: BTreeSet<usize> = (0..provinces).filter(|&k| incoming[k] == 0).collect();
    let mut order = Vec::with_capacity(provinces);
    while let Some(k) = ready.pop_first() {
        order.push(k);
        for (c, &(from, to)) in ends.iter().enumerate() {
            if from == k && flows[c].0 > 0 {
                incoming[to] -= 1;
                if incoming[to] == 0 {
                    ready.insert(to);
                }
            }
        }
    }
    (order.len() == provinces).then_some(order)
}

/// Traces where each seller's energy goes in one coupled period (the pairing rule of
/// `Session::clear_coupled`). Returns the pieces within provinces (by province index) followed
/// by those crossing corridors (by the corridor they arrive over), or `None` if energy goes
/// round a loop of corridors.
pub(super) fn trace_period(period: &PeriodFlows<'_>) -> Option<Vec<Piece>> {
    let PeriodFlows {
        sells,
        buys,
        ends,
        flows,
    } = period;
    let order = flow_order(sells.len(), ends, flows)?;
    let mut inbox: Vec<Vec<Parcel>> = vec![Vec::new(); ends.len()];
    let mut local: Vec<Vec<Piece>> = vec![Vec::new(); sells.len()];
    let mut crossing: Vec<Vec<Piece>> = vec![Vec::new(); ends.len()];
    for k in order {
        let mut supply: Vec<Parcel> = Vec::new();
        for (c, &(_, to)) in ends.iter().enumerate() {
            if to == k {
                supply.append(&mut inbox[c]);
            }
        }
        supply.extend(sells[k].iter().map(|&(seller, amount)| Parcel {
            seller,
            path: Vec::new(),
            amount,
            lost: 0,
        }));
        let mut demand: Vec<(Sink, i64)> = ends
            .iter()
            .enumerate()
            .filter(|&(c, &(from, _))| from == k && flows[c].0 > 0)
            .map(|(c, _)| (Sink::Corridor(c), flows[c].0))
            .collect();
        demand.extend(buys[k].iter().map(|&(b, v)| (Sink::Buy(b), v)));
        // Per outgoing corridor, the parcels sent into it (`amount` being what is sent).
        let mut outgoing: BTreeMap<usize, Vec<Parcel>> = BTreeMap::new();
        let mut d = 0;
        for parcel in supply {
            // This parcel's pieces: (sink, kWh).
            let mut pieces: Vec<(Sink, i64)> = Vec::new();
            let mut want = parcel.amount;
            while want > 0 {
                let (sink, rest) = &mut demand[d];
                let v = want.min(*rest);
                assert!(v > 0, "province {k}: supply exceeds demand");
                pieces.push((*sink, v));
                want -= v;
                *rest -= v;
                if *rest == 0 && d + 1 < demand.len() {
                    d += 1;
                }
            }
            if pieces.is_empty() {
                // Nothing of it arrived: its loss rides with the sink then current.
                match demand.get(d) {
                    Some(&(sink, _)) => pieces.push((sink, 0)),
                    None => continue,
                }
            }
            let weights: Vec<i64> = pieces.iter().map(|p| p.1.max(1)).collect();
            let losses = split(parcel.lost, &weights);
            for (&(sink, v), lost) in pieces.iter().zip(losses) {
                match sink {
                    Sink::Buy(buyer) => {
                        let piece = Piece {
                            seller: parcel.seller,
                            buyer,
                            path: parcel.path.clone(),
                            delivered: v,
                            lost,
                        };
                        match parcel.path.last() {
                            None => local[k].push(piece),
                            Some(&c) => crossing[c].push(piece),
                        }
                    }
                    Sink::Corridor(c) => outgoing.entry(c).or_default().push(Parcel {
                        seller: parcel.seller,
                        path: parcel.path.clone(),
                        amount: v,
                        lost,
                    }),
                }
            }
        }
        debug_assert!(
            demand.iter().all(|s| s.1 == 0),
            "province {k}: supply meets demand exactly"
        );
        for (c, sent) in outgoing {
            let positive: Vec<i64> = sent.iter().map(|s| s.amount).filter(|&v| v > 0).collect();
            let mut shares = domain::pro_rata(flows[c].1, &positive).into_iter();
            for mut parcel in sent {
                let arrives = if parcel.amount > 0 {
                    shares.next().expect("one share per positive piece")
                } else {
                    0
                };
                parcel.path.push(c);
                parcel.lost += parcel.amount - arrives;
                parcel.amount = arrives;
                inbox[c].push(parcel);
            }
        }
    }
    Some(local.into_iter().chain(crossing).flatten().collect())
}

/// Splits `total` whole units across positive `weights` in proportion: floors, then one unit
/// each to the largest remainders, ties to the earlier position. Unlike [`domain::pro_rata`],
/// `total` may exceed the weights' sum (losses above 50% of what is delivered).
fn split(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|&w| i128::from(w)).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<(i64, i128)> = weights
        .iter()
        .map(|&w| {
            let n = i128::from(total) * i128::from(w);
            ((n / sum) as i64, n % sum)
        })
        .collect();
    let mut shares: Vec<i64> = exact.iter().map(|e| e.0).collect();
    let left = total - shares.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| exact[b].1.cmp(&exact[a].1).then(a.cmp(&b)));
    for &i in order.iter().take(left as usize) {
        shares[i] += 1;
    }
    shares
}
