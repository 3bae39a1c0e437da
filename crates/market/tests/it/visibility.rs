//! Who sees what (spec §7).

use domain::{OrderId, ParticipantId, Role};
use exchange::auction::Method;
use exchange::session::{Mode, SessionState};
use market::visibility::{
    Access, contract_visible, orders_access, participant_data_access, session_visible,
    visible_orders, visible_orders_page,
};
use market::{Viewer, delivering};

use crate::fixtures::{coupled, month, party};

fn viewer(id: u64, role: Role) -> Viewer {
    Viewer {
        id: ParticipantId(id),
        role,
    }
}

#[test]
fn sealed_bids_before_and_after_clearing() {
    let auction = Mode::CallAuction(Method::Uniform);
    let operator = viewer(90, Role::Operator);
    let regulator = viewer(91, Role::Regulator);
    let user = viewer(3, Role::User);
    // Before clearing: the operator sees all, unlogged; the regulator all, logged; others own.
    for state in [SessionState::Open, SessionState::Closed] {
        assert_eq!(
            orders_access(operator, &auction, state),
            Access::All { logged: false }
        );
        assert_eq!(
            orders_access(regulator, &auction, state),
            Access::All { logged: true }
        );
        assert_eq!(orders_access(user, &auction, state), Access::Own);
    }
    // After: nobody but the owner, and the regulator (logged).
    for state in [SessionState::Cleared, SessionState::Published] {
        assert!(matches!(
            orders_access(operator, &auction, state),
            Access::Denied(_)
        ));
        assert_eq!(
            orders_access(regulator, &auction, state),
            Access::All { logged: true }
        );
        assert_eq!(orders_access(user, &auction, state), Access::Own);
    }
    // Other modes are not sealed.
    assert_eq!(
        orders_access(operator, &Mode::Rolling, SessionState::Published),
        Access::All { logged: false }
    );
}

#[test]
fn orders_contracts_and_records_by_owner() {
    let (g_qh, u_qh) = (party(2, Role::Generator, "QH"), party(5, Role::User, "QH"));
    let (g_zj, u_zj) = (party(1, Role::Generator, "ZJ"), party(4, Role::User, "ZJ"));
    let s = coupled(1, "2024-06", &g_qh, &u_qh, &g_zj, &u_zj);
    // A published auction: each participant its own order; the operator none; the regulator
    // all four, logged.
    let (own, logged) = visible_orders(viewer(4, Role::User), &s).unwrap();
    assert_eq!(
        (own.len(), own[0].participant, logged),
        (1, ParticipantId(4), false)
    );
    assert!(visible_orders(viewer(90, Role::Operator), &s).is_err());
    let (all, logged) = visible_orders(viewer(91, Role::Regulator), &s).unwrap();
    assert_eq!((all.len(), logged), (4, true));
    // In pages: after an id, at most a limit, the same access; together the whole list.
    let regulator = viewer(91, Role::Regulator);
    let (first, _) = visible_orders_page(regulator, &s, None, 3).unwrap();
    let (rest, logged) = visible_orders_page(regulator, &s, Some(first[2].id), 3).unwrap();
    assert_eq!((first.len(), rest.len(), logged), (3, 1, true));
    assert_eq!([first, rest].concat(), all);
    let (own_after, _) =
        visible_orders_page(viewer(4, Role::User), &s, Some(own[0].id), 10).unwrap();
    assert!(own_after.is_empty());
    let (none, _) = visible_orders_page(regulator, &s, Some(OrderId(u64::MAX)), 10).unwrap();
    assert!(none.is_empty());
    assert!(visible_orders_page(viewer(90, Role::Operator), &s, None, 1).is_err());
    // Contracts: buyer 4 is party to two of three (ZJ's and the one across the corridor).
    let mine = s
        .contracts()
        .iter()
        .filter(|c| contract_visible(viewer(4, Role::User), c))
        .count();
    assert_eq!(mine, 2);
    assert!(
        s.contracts()
            .iter()
            .all(|c| contract_visible(viewer(90, Role::Operator), c))
    );
    assert_eq!(delivering([&s], month("2024-06")).len(), 3);
    // Another's certificates or meter data: insiders only, the regulator logged.
    assert_eq!(
        participant_data_access(viewer(4, Role::User), ParticipantId(4)),
        Access::Own
    );
    assert!(matches!(
        participant_data_access(viewer(4, Role::User), ParticipantId(5)),
        Access::Denied(_)
    ));
    assert_eq!(
        participant_data_access(viewer(91, Role::Regulator), ParticipantId(5)),
        Access::All { logged: true }
    );
    // Drafts: insiders only.
    assert!(!session_visible(
        Some(viewer(4, Role::User)),
        SessionState::Draft
    ));
    assert!(!session_visible(None, SessionState::Draft));
    assert!(session_visible(
        Some(viewer(90, Role::Operator)),
        SessionState::Draft
    ));
    assert!(session_visible(None, SessionState::Announced));
}
