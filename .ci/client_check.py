"""The API as a user of a generated client sees it (issue 10, item 4).

Run by .ci/client.sh against a fresh `lvdian serve`, with the Python client that
openapi-python-client generated from the server's /api/v1/openapi.json:

    python client_check.py BASE_URL OPERATOR_TOKEN CLIENT_PARENT_DIR

It registers participants and a project, runs a call auction to publication, uploads a month
of meter data, issues certificates and lists some, through the generated functions. Every
reply must parse into the generated model class of its schema (never a plain dict), carry
no field the schema does not name (`additional_properties` empty, all the way down), and
hold the values expected. Prints one line per check; exits 1 if any failed.
"""

import io
import sys

import attrs

BASE, OPERATOR, CLIENT_DIR = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, CLIENT_DIR)

from lvdian_client import AuthenticatedClient  # noqa: E402
from lvdian_client.api.certificates import (  # noqa: E402
    holdings,
    issue,
    list_certificates,
    open_listings,
    settle_month,
    upload_meters,
)
from lvdian_client.api.participants import create_participant, create_project  # noqa: E402
from lvdian_client.api.sessions import (  # noqa: E402
    create_session,
    list_sessions,
    session_action,
    statistics,
)
from lvdian_client.api.trading import submit_order  # noqa: E402
from lvdian_client.models import (  # noqa: E402
    CertificateListingRequest,
    CertificateListingView,
    CommandResult,
    HoldingView,
    Holdings,
    AnnualReport,
    IssuanceReport,
    IssuedProject,
    MeterUpload,
    MonthRequest,
    NewParticipantRequest,
    NewParticipantRequestRole,
    NewProjectRequest,
    NewProjectRequestTechnology,
    NewSessionRequest,
    NewSessionRequestHorizon,
    NewSessionRequestMode,
    NewSessionRequestScope,
    OrderRequest,
    OrderRequestSide,
    OrderView,
    ParticipantView,
    ParticipantWithToken,
    ProjectView,
    SessionCount,
    SessionView,
    SettlementLine,
    SettlementReport,
    SettlementRequest,
)
from lvdian_client.types import File  # noqa: E402

PROJECT = "33010012345678901"
failures = []


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + what + ("" if ok else f": {detail}"))
    if not ok:
        failures.append(what)


def undocumented(value, at="reply"):
    """Fields of a reply that its schema does not name, as paths; none for a typed reply."""
    found = []
    if isinstance(value, list):
        for i, item in enumerate(value):
            found += undocumented(item, f"{at}[{i}]")
    elif attrs.has(type(value)):
        extra = getattr(value, "additional_properties", {})
        found += [f"{at}.{key}" for key in extra]
        for field in attrs.fields(type(value)):
            if field.name != "additional_properties":
                found += undocumented(getattr(value, field.name), f"{at}.{field.name}")
    elif isinstance(value, dict):
        found.append(f"{at} is a dict")
    return found


def typed(what, value, model):
    """Checks that a reply parsed into `model` (each item, for a list) and names nothing more."""
    items = value if isinstance(value, list) else [value]
    check(
        f"{what}: parses into {model.__name__}",
        all(isinstance(v, model) and not isinstance(v, dict) for v in items),
        f"got {value!r}",
    )
    extra = undocumented(value)
    check(f"{what}: no undocumented field", not extra, ", ".join(extra))
    return value


def client(token):
    return AuthenticatedClient(base_url=BASE, token=token, raise_on_unexpected_status=True)


operator = client(OPERATOR)


def participant(name, role):
    made = create_participant.sync(
        client=operator,
        body=NewParticipantRequest(name=name, role=role, province="ZJ"),
    )
    typed(f"create participant {name}", made, ParticipantWithToken)
    check(f"{name} is a ParticipantView", isinstance(made.participant, ParticipantView))
    check(
        f"{name} as registered",
        (made.participant.name, made.participant.role, made.participant.province)
        == (name, role.value, "ZJ"),
        repr(made.participant),
    )
    check(f"{name} has a token", made.token.startswith("lvd_"), made.token)
    return made.participant.id, client(made.token)


generator_id, generator = participant("client generator", NewParticipantRequestRole.GENERATOR)
user_id, user = participant("client user", NewParticipantRequestRole.USER)
_, grid = participant("client grid", NewParticipantRequestRole.GRID)

project = create_project.sync(
    client=operator,
    body=NewProjectRequest(
        code=PROJECT,
        technology=NewProjectRequestTechnology.WIND_OFFSHORE,
        capacity_kw=300000,
        province="ZJ",
        owner=generator_id,
        meters=["GM1"],
    ),
)
typed("create project", project, ProjectView)
check(
    "project as registered",
    (project.code, project.technology, project.owner, project.meters)
    == (PROJECT, "wind_offshore", generator_id, ["GM1"]),
    repr(project),
)

# A call auction for March 2024, to publication: 6.5 MWh change hands.
session = create_session.sync(
    client=operator,
    body=NewSessionRequest(
        name="client call auction",
        scope=NewSessionRequestScope.INTRA,
        provinces=["ZJ"],
        horizon=NewSessionRequestHorizon.MONTH,
        mode=NewSessionRequestMode.CALL_AUCTION,
        first_month="2024-03",
        last_month="2024-03",
        energy_price_min="300.00",
        energy_price_max="500.00",
        lot_mwh="0.5",
        compensation="50.00",
    ),
)
typed("create session", session, SessionView)
check("session is a draft", session.state == "draft", session.state)
for action in ["announce", "open"]:
    typed(f"{action} session", session_action.sync(session.id, action, client=operator), CommandResult)
for who, side, price in [(generator, OrderRequestSide.SELL, "350.00"), (user, OrderRequestSide.BUY, "400.00")]:
    placed = submit_order.sync(
        session.id,
        client=who,
        body=OrderRequest(side=side, period="h12", mwh="6.5", energy_price=price, env_price="20.00"),
    )
    typed(f"{side} order", placed, CommandResult)
    check(f"{side} order is an OrderView", isinstance(placed.order, OrderView), repr(placed.order))
for action in ["close", "clear", "publish"]:
    done = typed(f"{action} session", session_action.sync(session.id, action, client=operator), CommandResult)
check("session published", done.state == "published", done.state)

sessions = list_sessions.sync(client=operator)
typed("list sessions", sessions, SessionView)
check(
    "list sessions names the published auction",
    [(s.name, s.state, s.settings.first_month) for s in sessions]
    == [("client call auction", "published", "2024-03")],
    repr(sessions),
)

stats = statistics.sync(2024, client=operator)
typed("statistics of 2024", stats, AnnualReport)
check(
    "statistics count the auction",
    (stats.year, stats.sessions, stats.traded_mwh, stats.participants) == (2024, 1, "6.500", 2),
    repr(stats),
)
typed("statistics by mode", stats.sessions_by_mode, SessionCount)
check(
    "statistics by mode",
    [(c.mode, c.scope, c.sessions) for c in stats.sessions_by_mode] == [("call_auction/uniform", "intra", 1)],
    repr(stats.sessions_by_mode),
)

# March's meter data: GM1 reads 3 kWh every quarter-hour, 8,928 kWh → 8 certificates.
rows = ["meter,participant,start,kwh"] + [
    f"GM1,{generator_id},2024-03-{day:02}T{q // 4:02}:{q % 4 * 15:02},3" for day in range(1, 32) for q in range(96)
]
# The generator types this text/csv body (generated as octet-stream) as `str` but sends its
# `.payload`: it takes a File.
uploaded = upload_meters.sync(
    "2024-03", client=grid, body=File(payload=io.BytesIO("\n".join(rows).encode() + b"\n"))
)
typed("upload meters", uploaded, MeterUpload)
check("upload stored", (uploaded.meters, uploaded.readings) == (1, 2976), repr(uploaded))

issued = issue.sync(client=operator, body=MonthRequest(month="2024-03"))
typed("issue certificates", issued, IssuanceReport)
typed("issued projects", issued.issued, IssuedProject)
check(
    "issued 8 certificates",
    [(p.project, p.owner, p.metered_mwh, p.certificates) for p in issued.issued]
    == [(PROJECT, generator_id, "8.928", 8)],
    repr(issued),
)

# A draft settlement of March: the buyer has no meter data, so nothing is delivered and the
# whole 6.5 MWh is short, the buyer's to compensate.
draft = settle_month.sync(client=operator, body=SettlementRequest(month="2024-03"))
typed("draft settlement", draft, SettlementReport)
typed("settlement lines", draft.lines, SettlementLine)
check(
    "the draft settles the auction's contract",
    (draft.month, draft.final, [(l.volume_mwh, l.delivered_mwh, l.shortfall_mwh, l.comp_payer) for l in draft.lines])
    == ("2024-03", False, [("6.500", "0.000", "6.500", "buyer")]),
    repr(draft),
)

held = holdings.sync(client=generator)
typed("certificate holdings", held, Holdings)
typed("certificate holdings' ranges", held.holdings, HoldingView)
check(
    "the generator holds 8 issued certificates",
    (held.participant, [(h.project, h.month, h.certificates, h.state, h.listing) for h in held.holdings])
    == (generator_id, [(PROJECT, "2024-03", 8, "issued", None)]),
    repr(held),
)

listed = list_certificates.sync(
    client=generator,
    body=CertificateListingRequest(project=PROJECT, month="2024-03", count=3, price_yuan="5.00"),
)
typed("list certificates for sale", listed, CertificateListingView)
listings = open_listings.sync(client=user)
typed("certificate listings", listings, CertificateListingView)
check(
    "the user sees the listing",
    [(l.id, l.owner, l.project, l.price_yuan, l.listed, l.remaining) for l in listings]
    == [(listed.id, generator_id, PROJECT, "5.00", 3, 3)],
    repr(listings),
)

print(f"{len(failures)} failed" if failures else "every reply parsed into its model class")
sys.exit(1 if failures else 0)
