//! Monthly settlement of green power contracts (spec §5).
//!
//! Energy and environmental value settle separately. For each contract `k`:
//! - `G_k`: the seller's metered energy `G` split over its contracts pro rata to `C_k` when
//!   `Σ C_k > G` (whole kWh, leftovers by largest remainder, then contract id order), else `C_k`;
//!   `L_k` likewise from the buyer's consumption `L`.
//! - `D_k = min(C_k, G_k, L_k)`, the delivered green energy.
//! - `Q_env_k = floor((D_k + carry_in_k) / 1000)` whole MWh, `carry_out_k` the rest in kWh.
//! - money: environmental `Q_env_k × p_env`, energy `D_k × p_energy`, compensation
//!   `S_k × p_comp` with `S_k = C_k − D_k`, paid by the seller when `G_k ≤ L_k`, else by the
//!   buyer. Each amount is rounded once, half away from zero, to the fen ([`Fen::of`]).
//!
//! An inter-provincial contract of a coupled session loses `loss_k` of its volume on the way
//! (spec §3.5): `C_k` is what the seller sends, `R_k = C_k − loss_k` what the buyer receives.
//! Then (and with `loss_k = 0` all of this is the rule above):
//! - `G_k` is split pro rata to `C_k`, `L_k` pro rata to `R_k` (and capped by it);
//! - the seller's share reaches the buyer less its part of the losses,
//!   `G'_k = G_k − lost(G_k)` with `lost(x) = x × loss_k / C_k` rounded half away from zero;
//! - `D_k = min(R_k, G'_k, L_k)` is the green energy the buyer consumed (certificates and
//!   environmental money follow it), `S_k = R_k − D_k`, the seller pays when `G'_k ≤ L_k`;
//! - energy money is paid on the energy *sent* for `D_k`: `D_k + D_k × loss_k / R_k`, the loss
//!   part rounded half away from zero to a kWh and the whole capped by `G_k`, times `p_energy`
//!   (the contract's price is the sending province's; tariffs are the grid's, outside green
//!   settlement).

use std::collections::BTreeMap;

use domain::{Fen, Kwh, div_round_half_away, pro_rata};

use crate::contracts::ContractTerms;
use domain::YearMonth;

/// Who pays the compensation for a shortfall: the side whose metered energy bound it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Payer {
    /// The seller generated too little (`G_k ≤ L_k`).
    Seller,
    /// The buyer consumed too little (`G_k > L_k`).
    Buyer,
}

impl Payer {
    /// `seller` or `buyer`, as in the output file.
    pub fn as_str(self) -> &'static str {
        match self {
            Payer::Seller => "seller",
            Payer::Buyer => "buyer",
        }
    }
}

/// One contract's settlement for the month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The contract id.
    pub contract: String,
    /// `C_k`: the contract's volume (what the seller sends).
    pub volume: Kwh,
    /// `loss_k`: of `volume`, lost on corridors (zero within a province).
    pub loss: Kwh,
    /// `G_k`: the seller's energy assigned to this contract.
    pub generation_share: Kwh,
    /// `L_k`: the buyer's consumption assigned to this contract.
    pub load_share: Kwh,
    /// `D_k = min(C_k − loss_k, G'_k, L_k)`: delivered green energy (at the buyer's end).
    pub delivered: Kwh,
    /// The energy sent for `D_k` (`D_k` plus its part of the losses), on which energy money
    /// is paid.
    pub energy_sent: Kwh,
    /// `Q_env_k`: environmental value settled, in whole MWh (= certificates to transfer).
    pub env_mwh: i64,
    /// `carry_out_k`: kWh short of a whole MWh, carried to next month (0–999).
    pub carry_out: Kwh,
    /// Environmental money, `Q_env_k × p_env`.
    pub env_money: Fen,
    /// Energy money, `energy_sent × p_energy` (`D_k × p_energy` within a province).
    pub energy_money: Fen,
    /// `S_k = C_k − loss_k − D_k`.
    pub shortfall: Kwh,
    /// Compensation, `S_k × p_comp` (zero without shortfall).
    pub comp_money: Fen,
    /// Who pays the compensation; `None` when `S_k = 0`.
    pub comp_payer: Option<Payer>,
}

/// A month's settlement: one line per contract, sorted by contract id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// The month settled.
    pub month: YearMonth,
    /// The lines, sorted by contract id (byte order).
    pub lines: Vec<Line>,
}

/// Settles `contracts` against each participant's metered energy of the month.
///
/// `metered(participant)` is the participant's metered energy: on-grid generation for a seller,
/// consumption for a buyer (a participant without meters has none). Typically
/// `|p| meter_data.participant_total(p)`.
///
/// # Panics
/// If two contracts share an id or metered energy is negative (the parsers rule both out), or if
/// an invariant of the money path breaks.
pub fn settle(
    month: YearMonth,
    contracts: &[ContractTerms],
    metered: impl Fn(&str) -> Kwh,
) -> Settlement {
    let mut sorted: Vec<&ContractTerms> = contracts.iter().collect();
    sorted.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    for pair in sorted.windows(2) {
        assert!(pair[0].id != pair[1].id, "contract `{}` twice", pair[0].id);
    }
    let (generation, generated) = shares(&sorted, |c| &c.seller, |c| c.volume, &metered);
    let (load, consumed) = shares(&sorted, |c| &c.buyer, |c| c.volume - c.loss, &metered);
    let lines: Vec<Line> = sorted
        .iter()
        .zip(generation.iter().zip(&load))
        .map(|(c, (&g, &l))| line(c, Kwh(g), Kwh(l)))
        .collect();
    check_bounds(
        &sorted,
        &lines,
        |c| &c.seller,
        |l| l.generation_share,
        &generated,
    );
    check_bounds(&sorted, &lines, |c| &c.buyer, |l| l.load_share, &consumed);
    Settlement { month, lines }
}

/// `G_k` (or `L_k`) for every contract in `sorted` order: each party's energy split over its
/// contracts pro rata to their `volume` (`C_k`, or `R_k` for buyers) when they exceed it. Also returns each party's metered energy.
fn shares<'a>(
    sorted: &[&'a ContractTerms],
    party: impl Fn(&'a ContractTerms) -> &'a String,
    volume: impl Fn(&ContractTerms) -> Kwh,
    metered: &impl Fn(&str) -> Kwh,
) -> (Vec<i64>, BTreeMap<&'a str, i64>) {
    let mut by_party: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (position, contract) in sorted.iter().enumerate() {
        by_party
            .entry(party(contract).as_str())
            .or_default()
            .push(position);
    }
    let mut out: Vec<i64> = sorted.iter().map(|c| volume(c).0).collect();
    let mut energies = BTreeMap::new();
    for (name, positions) in by_party {
        let energy = metered(name).0;
        assert!(energy >= 0, "negative metered energy for `{name}`");
        energies.insert(name, energy);
        let contracted: i128 = positions.iter().map(|&p| i128::from(out[p])).sum();
        if contracted <= i128::from(energy) {
            continue; // enough: G_k = C_k
        }
        // Positions are in contract id order, so pro_rata's "earlier position" tie-break is the
        // spec's "then contract id order". Zero-volume contracts get nothing and take no part.
        let (positions, weights): (Vec<usize>, Vec<i64>) = positions
            .iter()
            .filter(|&&p| out[p] > 0)
            .map(|&p| (p, out[p]))
            .unzip();
        let split = pro_rata(energy, &weights);
        for (&p, share) in positions.iter().zip(split) {
            assert!(share <= out[p]);
            out[p] = share;
        }
        let shared: i64 = positions.iter().map(|&p| out[p]).sum();
        assert_eq!(shared, energy, "`{name}`'s energy is not fully shared");
    }
    (out, energies)
}

/// `part`'s share of `loss` when `whole` loses `loss`, to the kWh (half away from zero).
fn lost_part(part: Kwh, loss: Kwh, whole: Kwh) -> Kwh {
    if whole == Kwh::ZERO {
        return Kwh::ZERO;
    }
    let n = i128::from(part.0) * i128::from(loss.0);
    Kwh(div_round_half_away(n, i128::from(whole.0)) as i64)
}

fn line(contract: &ContractTerms, generation_share: Kwh, load_share: Kwh) -> Line {
    let volume = contract.volume;
    let loss = contract.loss;
    assert!(
        Kwh::ZERO <= loss && loss <= volume,
        "loss outside 0..=volume"
    );
    let received = volume - loss;
    let generation_received = generation_share - lost_part(generation_share, loss, volume);
    let delivered = received.min(generation_received).min(load_share);
    assert!(Kwh::ZERO <= delivered && delivered <= received);
    // Rounding may put the sent energy a kWh above the seller's share; it never sent more.
    let energy_sent = (delivered + lost_part(delivered, loss, received)).min(generation_share);
    assert!(energy_sent <= volume);
    assert!(
        (0..1000).contains(&contract.carry_in.0),
        "carry-in out of 0..1000"
    );
    let available = delivered + contract.carry_in;
    let env_mwh = available.0.div_euclid(1000);
    let carry_out = Kwh(available.0.rem_euclid(1000));
    // Conservation: every kWh delivered or carried in is either settled or carried out.
    assert_eq!(
        env_mwh * 1000 + carry_out.0,
        delivered.0 + contract.carry_in.0
    );
    let shortfall = received - delivered;
    assert!(shortfall >= Kwh::ZERO);
    let comp_payer = (shortfall > Kwh::ZERO).then(|| {
        if generation_received <= load_share {
            Payer::Seller
        } else {
            Payer::Buyer
        }
    });
    Line {
        contract: contract.id.clone(),
        volume,
        loss,
        generation_share,
        load_share,
        delivered,
        energy_sent,
        env_mwh,
        carry_out,
        env_money: Fen::of(Kwh(env_mwh * 1000), contract.env_price),
        energy_money: Fen::of(energy_sent, contract.energy_price),
        shortfall,
        comp_money: Fen::of(shortfall, contract.comp_price),
        comp_payer,
    }
}

/// Asserts that no party is credited more than it metered: `Σ D_k ≤ Σ G_k = min(G, Σ C_k)`.
fn check_bounds(
    sorted: &[&ContractTerms],
    lines: &[Line],
    party: impl Fn(&ContractTerms) -> &String,
    share: impl Fn(&Line) -> Kwh,
    metered: &BTreeMap<&str, i64>,
) {
    let mut totals: BTreeMap<&str, (i128, i128)> = BTreeMap::new();
    for (contract, line) in sorted.iter().zip(lines) {
        let share = share(line);
        assert!(line.delivered <= share);
        let entry = totals.entry(party(contract).as_str()).or_default();
        entry.0 += i128::from(line.delivered.0);
        entry.1 += i128::from(share.0);
    }
    for (name, (delivered, shared)) in totals {
        let energy = i128::from(metered[name]);
        assert!(
            delivered <= shared && shared <= energy,
            "`{name}` over-credited"
        );
    }
}
