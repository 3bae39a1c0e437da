//! The dashboard's words in Chinese (the default) and English, and the names of the codes the
//! API speaks (modes, states, scopes, technologies, provinces, certificate states), with the
//! market terms users know: 集中竞价, 滚动撮合, 挂牌, 双边协商, 绿证, 核销.

/// A page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 中文.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// `zh` or `en`.
    pub fn parse(text: &str) -> Option<Lang> {
        match text {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The code, as in the cookie and the `lang` attribute.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The fixed texts.
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    /// `zh` or `en` of a pair.
    pub fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// Every fixed text of the pages in one language.
pub struct Texts {
    pub html_lang: &'static str,
    pub brand: &'static str,
    pub switch_lang: &'static str,
    // Navigation.
    pub nav_overview: &'static str,
    pub nav_sessions: &'static str,
    pub nav_network: &'static str,
    pub nav_me: &'static str,
    pub nav_operator: &'static str,
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub token: &'static str,
    pub token_hint: &'static str,
    pub signed_in_as: &'static str,
    // Overview.
    pub overview_title: &'static str,
    pub year: &'static str,
    pub traded: &'static str,
    pub settled: &'static str,
    pub growth: &'static str,
    pub inter_share: &'static str,
    pub sessions_count: &'static str,
    pub participants: &'static str,
    pub users: &'static str,
    pub energy_price: &'static str,
    pub env_price: &'static str,
    pub certs_issued: &'static str,
    pub certs_transferred: &'static str,
    pub certs_claimed: &'static str,
    pub chart_monthly: &'static str,
    pub chart_technology: &'static str,
    pub chart_prices: &'static str,
    pub chart_provinces: &'static str,
    pub intra: &'static str,
    pub inter: &'static str,
    pub top_corridors: &'static str,
    pub as_of: &'static str,
    pub refreshing: &'static str,
    pub no_market: &'static str,
    // Sessions.
    pub calendar_title: &'static str,
    pub all: &'static str,
    pub session: &'static str,
    pub name: &'static str,
    pub mode: &'static str,
    pub scope: &'static str,
    pub horizon: &'static str,
    pub provinces: &'static str,
    pub delivery: &'static str,
    pub state: &'static str,
    pub price_bounds: &'static str,
    pub lot: &'static str,
    pub results: &'static str,
    pub results_hidden: &'static str,
    pub period: &'static str,
    pub q_star: &'static str,
    pub p_star: &'static str,
    pub province: &'static str,
    pub buy_mwh: &'static str,
    pub sell_mwh: &'static str,
    pub flows: &'static str,
    pub corridor: &'static str,
    pub sent: &'static str,
    pub delivered: &'static str,
    pub congestion_rent: &'static str,
    pub depth: &'static str,
    pub depth_live: &'static str,
    pub bids: &'static str,
    pub asks: &'static str,
    pub price: &'static str,
    pub volume_mwh: &'static str,
    pub orders: &'static str,
    pub my_orders: &'static str,
    pub new_order: &'static str,
    pub side: &'static str,
    pub buy: &'static str,
    pub sell: &'static str,
    pub mwh: &'static str,
    pub time_in_force: &'static str,
    pub submit: &'static str,
    pub cancel: &'static str,
    pub live: &'static str,
    pub fills: &'static str,
    pub none: &'static str,
    pub contracts_made: &'static str,
    pub sealed_note: &'static str,
    pub operator_actions: &'static str,
    // Network.
    pub network_title: &'static str,
    pub capacity: &'static str,
    pub loss: &'static str,
    pub tariff: &'static str,
    // Participant.
    pub me_title: &'static str,
    pub role: &'static str,
    pub contracts: &'static str,
    pub counterparty: &'static str,
    pub seller: &'static str,
    pub buyer: &'static str,
    pub status: &'static str,
    pub more: &'static str,
    pub certificates: &'static str,
    pub range: &'static str,
    pub project: &'static str,
    pub month: &'static str,
    pub count: &'static str,
    pub claim: &'static str,
    pub beneficiary: &'static str,
    pub listings: &'static str,
    pub list_price: &'static str,
    pub list_for_sale: &'static str,
    pub buy_listing: &'static str,
    pub delist: &'static str,
    pub settlement: &'static str,
    pub settlement_none: &'static str,
    pub energy_money: &'static str,
    pub env_money: &'static str,
    pub comp_money: &'static str,
    pub gec: &'static str,
    pub contract: &'static str,
    pub hourly_match: &'static str,
    pub consumption: &'static str,
    pub green_supply: &'static str,
    pub matched: &'static str,
    pub consumption_certificate: &'static str,
    pub show: &'static str,
    pub retail_users: &'static str,
    pub projects: &'static str,
    // Operator.
    pub operator_title: &'static str,
    pub create_session: &'static str,
    pub register_participant: &'static str,
    pub issue_token: &'static str,
    pub register_project: &'static str,
    pub filing_code: &'static str,
    pub technology: &'static str,
    pub owner: &'static str,
    pub meters: &'static str,
    pub subsidised: &'static str,
    pub new_token_note: &'static str,
    pub run_settlement: &'static str,
    pub draft: &'static str,
    pub final_run: &'static str,
    pub issue_certificates: &'static str,
    pub expire_certificates: &'static str,
    pub participant: &'static str,
    pub done: &'static str,
    // Errors.
    pub error_title: &'static str,
    pub forged: &'static str,
    pub sign_in_first: &'static str,
    pub back: &'static str,
}

const ZH: Texts = Texts {
    html_lang: "zh-CN",
    brand: "绿电交易大厅",
    switch_lang: "English",
    nav_overview: "市场概览",
    nav_sessions: "交易日历",
    nav_network: "输电通道",
    nav_me: "我的业务",
    nav_operator: "交易组织",
    sign_in: "登录",
    sign_out: "退出",
    token: "令牌",
    token_hint: "交易中心发放的 API 令牌（lvd_…）",
    signed_in_as: "当前用户",
    overview_title: "绿电市场概览",
    year: "年度",
    traded: "成交电量",
    settled: "结算电量",
    growth: "同比",
    inter_share: "省间占比",
    sessions_count: "交易场次",
    participants: "市场主体",
    users: "电力用户",
    energy_price: "电能量均价",
    env_price: "绿色环境价值均价",
    certs_issued: "绿证核发",
    certs_transferred: "绿证交易",
    certs_claimed: "绿证核销",
    chart_monthly: "分月成交电量（兆瓦时）",
    chart_technology: "分电源类型成交电量",
    chart_prices: "电能量价格分布（兆瓦时）",
    chart_provinces: "分来源省份成交电量（兆瓦时）",
    intra: "省内",
    inter: "省间",
    top_corridors: "主要输电通道",
    as_of: "数据截至",
    refreshing: "最新数据正在计算，刷新页面可见",
    no_market: "尚无交易数据。",
    calendar_title: "交易日历",
    all: "全部",
    session: "场次",
    name: "名称",
    mode: "交易方式",
    scope: "范围",
    horizon: "周期",
    provinces: "省份",
    delivery: "交割月份",
    state: "状态",
    price_bounds: "电能量价格范围（元/兆瓦时）",
    lot: "交易单位（兆瓦时）",
    results: "出清结果",
    results_hidden: "结果发布后公开。",
    period: "时段",
    q_star: "出清电量 Q*（兆瓦时）",
    p_star: "出清价格 P*（元/兆瓦时）",
    province: "省份",
    buy_mwh: "购电（兆瓦时）",
    sell_mwh: "售电（兆瓦时）",
    flows: "通道潮流",
    corridor: "通道",
    sent: "送出（兆瓦时）",
    delivered: "落地（兆瓦时）",
    congestion_rent: "阻塞盈余（元）",
    depth: "盘口",
    depth_live: "交易中，自动刷新",
    bids: "买方",
    asks: "卖方",
    price: "价格（元/兆瓦时）",
    volume_mwh: "电量（兆瓦时）",
    orders: "申报",
    my_orders: "我的申报",
    new_order: "申报",
    side: "方向",
    buy: "购电",
    sell: "售电",
    mwh: "电量（兆瓦时）",
    time_in_force: "有效方式",
    submit: "提交",
    cancel: "撤单",
    live: "未成交（兆瓦时）",
    fills: "成交",
    none: "无",
    contracts_made: "成交合同",
    sealed_note: "集中竞价申报在出清前密封：只显示您自己的申报。",
    operator_actions: "交易组织",
    network_title: "输电通道",
    capacity: "容量（兆瓦时/时段）",
    loss: "线损率",
    tariff: "输电价格（元/兆瓦时）",
    me_title: "我的业务",
    role: "类型",
    contracts: "合同",
    counterparty: "对方",
    seller: "售方",
    buyer: "购方",
    status: "状态",
    more: "更多",
    certificates: "绿证",
    range: "序列号区间",
    project: "项目",
    month: "月份",
    count: "张数",
    claim: "核销",
    beneficiary: "受益方",
    listings: "绿证挂牌",
    list_price: "价格（元/张）",
    list_for_sale: "挂牌出售",
    buy_listing: "摘牌",
    delist: "撤牌",
    settlement: "月度结算",
    settlement_none: "该月尚无正式结算。",
    energy_money: "电能量电费（元）",
    env_money: "绿色环境价值（元）",
    comp_money: "偏差补偿（元）",
    gec: "绿证（张）",
    contract: "合同",
    hourly_match: "分时匹配",
    consumption: "用电量（兆瓦时）",
    green_supply: "绿电供应（兆瓦时）",
    matched: "匹配电量（兆瓦时）",
    consumption_certificate: "绿色电力消费凭证",
    show: "查看",
    retail_users: "零售用户",
    projects: "项目",
    operator_title: "交易组织",
    create_session: "新建交易场次",
    register_participant: "注册市场主体",
    issue_token: "发放令牌",
    register_project: "登记项目",
    filing_code: "项目备案编码（17位）",
    technology: "电源类型",
    owner: "所属市场主体编号",
    meters: "计量点",
    subsidised: "享受补贴",
    new_token_note: "新令牌只显示这一次，请交给市场主体妥善保管：",
    run_settlement: "月度结算",
    draft: "预结算",
    final_run: "正式结算",
    issue_certificates: "核发绿证",
    expire_certificates: "注销过期绿证",
    participant: "市场主体",
    done: "已完成",
    error_title: "无法完成",
    forged: "表单已失效或来自其他网站，请刷新页面后重试。",
    sign_in_first: "请先登录。",
    back: "返回",
};

const EN: Texts = Texts {
    html_lang: "en",
    brand: "Green Power Exchange",
    switch_lang: "中文",
    nav_overview: "Overview",
    nav_sessions: "Sessions",
    nav_network: "Corridors",
    nav_me: "My business",
    nav_operator: "Operations",
    sign_in: "Sign in",
    sign_out: "Sign out",
    token: "Token",
    token_hint: "The API token the exchange gave you (lvd_…)",
    signed_in_as: "Signed in as",
    overview_title: "Green power market overview",
    year: "Year",
    traded: "Traded volume",
    settled: "Settled volume",
    growth: "Year on year",
    inter_share: "Inter-provincial share",
    sessions_count: "Sessions",
    participants: "Participants",
    users: "Electricity users",
    energy_price: "Average energy price",
    env_price: "Average environmental value",
    certs_issued: "Certificates issued",
    certs_transferred: "Certificates traded",
    certs_claimed: "Certificates claimed",
    chart_monthly: "Traded volume by month (MWh)",
    chart_technology: "Traded volume by technology",
    chart_prices: "Volume by energy price (MWh)",
    chart_provinces: "Traded volume by source province (MWh)",
    intra: "Intra-provincial",
    inter: "Inter-provincial",
    top_corridors: "Top corridors",
    as_of: "Figures as of",
    refreshing: "newer figures are being computed; reload to see them",
    no_market: "Nothing has been traded yet.",
    calendar_title: "Session calendar",
    all: "All",
    session: "Session",
    name: "Name",
    mode: "Mode",
    scope: "Scope",
    horizon: "Horizon",
    provinces: "Provinces",
    delivery: "Delivery",
    state: "State",
    price_bounds: "Energy price bounds (yuan/MWh)",
    lot: "Lot (MWh)",
    results: "Results",
    results_hidden: "Results are public once published.",
    period: "Period",
    q_star: "Cleared volume Q* (MWh)",
    p_star: "Clearing price P* (yuan/MWh)",
    province: "Province",
    buy_mwh: "Bought (MWh)",
    sell_mwh: "Sold (MWh)",
    flows: "Corridor flows",
    corridor: "Corridor",
    sent: "Sent (MWh)",
    delivered: "Delivered (MWh)",
    congestion_rent: "Congestion rent (yuan)",
    depth: "Order book",
    depth_live: "open, updating live",
    bids: "Bids",
    asks: "Asks",
    price: "Price (yuan/MWh)",
    volume_mwh: "Volume (MWh)",
    orders: "Orders",
    my_orders: "My orders",
    new_order: "New order",
    side: "Side",
    buy: "Buy",
    sell: "Sell",
    mwh: "Volume (MWh)",
    time_in_force: "Time in force",
    submit: "Submit",
    cancel: "Cancel",
    live: "Unfilled (MWh)",
    fills: "Fills",
    none: "None",
    contracts_made: "Contracts",
    sealed_note: "Call-auction bids are sealed until clearing: only your own orders are shown.",
    operator_actions: "Operations",
    network_title: "Transmission corridors",
    capacity: "Capacity (MWh per period)",
    loss: "Loss rate",
    tariff: "Tariff (yuan/MWh)",
    me_title: "My business",
    role: "Role",
    contracts: "Contracts",
    counterparty: "Counterparty",
    seller: "Seller",
    buyer: "Buyer",
    status: "Status",
    more: "More",
    certificates: "Green certificates",
    range: "Serial range",
    project: "Project",
    month: "Month",
    count: "Certificates",
    claim: "Claim",
    beneficiary: "Beneficiary",
    listings: "Certificate listings",
    list_price: "Price (yuan each)",
    list_for_sale: "List for sale",
    buy_listing: "Buy",
    delist: "Withdraw",
    settlement: "Monthly settlement",
    settlement_none: "The month has no final settlement yet.",
    energy_money: "Energy (yuan)",
    env_money: "Environmental value (yuan)",
    comp_money: "Compensation (yuan)",
    gec: "Certificates",
    contract: "Contract",
    hourly_match: "Hourly matching",
    consumption: "Consumption (MWh)",
    green_supply: "Green supply (MWh)",
    matched: "Matched (MWh)",
    consumption_certificate: "Green power consumption certificate",
    show: "Show",
    retail_users: "Retail users",
    projects: "Projects",
    operator_title: "Operations",
    create_session: "New session",
    register_participant: "Register a participant",
    issue_token: "Issue a token",
    register_project: "Register a project",
    filing_code: "Filing code (17 digits)",
    technology: "Technology",
    owner: "Owner (participant id)",
    meters: "Meters",
    subsidised: "Subsidised",
    new_token_note: "The new token is shown only now; hand it to the participant to keep safe:",
    run_settlement: "Monthly settlement",
    draft: "Draft",
    final_run: "Final",
    issue_certificates: "Issue certificates",
    expire_certificates: "Expire certificates",
    participant: "Participant",
    done: "Done",
    error_title: "Could not be done",
    forged: "This form has expired or came from another site; reload the page and try again.",
    sign_in_first: "Please sign in first.",
    back: "Back",
};

/// A session mode (`call_auction`, `rolling`, …; a statistics mode may carry its method,
/// `call_auction/uniform`) by name.
pub fn mode_name(lang: Lang, mode: &str) -> String {
    let (zh, en) = match mode {
        "bilateral" => ("双边协商", "Bilateral negotiation"),
        "listing" => ("挂牌交易", "Listing"),
        "call_auction" => ("集中竞价", "Call auction"),
        "call_auction/uniform" => ("集中竞价（边际统一出清）", "Call auction (uniform price)"),
        "call_auction/high_low" => ("集中竞价（高低匹配）", "Call auction (high-low matching)"),
        "call_auction/coupled" => (
            "集中竞价（省间耦合出清）",
            "Call auction (inter-provincial coupling)",
        ),
        "rolling" => ("滚动撮合", "Rolling matching"),
        other => return other.to_owned(),
    };
    lang.pick(zh, en).to_owned()
}

/// A scope (`intra`, `inter`) by name.
pub fn scope_name(lang: Lang, scope: &str) -> String {
    let (zh, en) = match scope {
        "intra" => ("省内", "Intra-provincial"),
        "inter" => ("省间", "Inter-provincial"),
        other => return other.to_owned(),
    };
    lang.pick(zh, en).to_owned()
}

/// A technology (`wind_offshore`, …) by name.
pub fn technology_name(lang: Lang, technology: &str) -> String {
    let (zh, en) = match technology {
        "wind_onshore" => ("陆上风电", "Onshore wind"),
        "wind_offshore" => ("海上风电", "Offshore wind"),
        "pv_central" => ("集中式光伏", "Utility-scale PV"),
        "pv_distributed" => ("分布式光伏", "Distributed PV"),
        "hydro" => ("水电", "Hydro"),
        "biomass" => ("生物质发电", "Biomass"),
        "other" => ("其他", "Other"),
        "unknown" => ("未登记项目", "No registered project"),
        other => return other.to_owned(),
    };
    lang.pick(zh, en).to_owned()
}

/// A province code by name where the code is unambiguous (`ZJ` is 浙江 / Zhejiang), else the
/// code itself.
pub fn province_name(lang: Lang, code: &str) -> String {
    let (zh, en) = match code {
        "ZJ" => ("浙江", "Zhejiang"),
        "QH" => ("青海", "Qinghai"),
        "GS" => ("甘肃", "Gansu"),
        "XJ" => ("新疆", "Xinjiang"),
        "NX" => ("宁夏", "Ningxia"),
        "JS" => ("江苏", "Jiangsu"),
        "SH" => ("上海", "Shanghai"),
        "AH" => ("安徽", "Anhui"),
        "FJ" => ("福建", "Fujian"),
        "BJ" => ("北京", "Beijing"),
        "TJ" => ("天津", "Tianjin"),
        "SD" => ("山东", "Shandong"),
        "GD" => ("广东", "Guangdong"),
        "GX" => ("广西", "Guangxi"),
        "YN" => ("云南", "Yunnan"),
        "GZ" => ("贵州", "Guizhou"),
        "SC" => ("四川", "Sichuan"),
        "CQ" => ("重庆", "Chongqing"),
        "NMG" => ("内蒙古", "Inner Mongolia"),
        "JX" => ("江西", "Jiangxi"),
        "JL" => ("吉林", "Jilin"),
        "LN" => ("辽宁", "Liaoning"),
        "HLJ" => ("黑龙江", "Heilongjiang"),
        "XZ" => ("西藏", "Tibet"),
        other => return other.to_owned(),
    };
    lang.pick(zh, en).to_owned()
}

/// The states of a session's lifecycle, in order, then `cancelled`.
pub const SESSION_STATES: [&str; 7] = [
    "draft",
    "announced",
    "open",
    "closed",
    "cleared",
    "published",
    "cancelled",
];

/// A session state (`draft` … `published`, `cancelled`) by name.
pub fn state_name(lang: Lang, state: &str) -> String {
    let (zh, en) = match state {
        "draft" => ("草稿", "Draft"),
        "announced" => ("已公告", "Announced"),
        "open" => ("交易中", "Open"),
        "closed" => ("已闭市", "Closed"),
        "cleared" => ("已出清", "Cleared"),
        "published" => ("已发布", "Published"),
        "cancelled" => ("已取消", "Cancelled"),
        other => return other.to_owned(),
    };
    lang.pick(zh, en).to_owned()
}

/// A horizon (`multi_year`, `year`, `month`, `intra_month`) by name.
pub fn horizon_name(lang: Lang, horizon: &str) -> String {
    let (zh, en) = match horizon {
        "multi_year" => ("多年", "Multi-year"),
        "year" => ("年度", "Annual"),
        "month" => ("月度", "Monthly"),
        "intra_month" => ("月内", "Within the month"),
        other => return other.to_owned(),
    };
    lang.pick(zh, en).to_owned()
}

/// A certificate state (`issued`, `listed`, `transferred`, `claimed`, `cancelled`) by name.
pub fn certificate_state_name(lang: Lang, state: &str) -> String {
    let (zh, en) = match state {
        "issued" => ("已核发", "Issued"),
        "listed" => ("挂牌中", "Listed"),
        "transferred" => ("已交易", "Traded"),
        "claimed" => ("已核销", "Claimed"),
        "cancelled" => ("已注销", "Cancelled"),
        other => return other.to_owned(),
    };
    lang.pick(zh, en).to_owned()
}

/// A role (`generator`, `user`, …) by name.
pub fn role_name(lang: Lang, role: &str) -> String {
    let (zh, en) = match role {
        "generator" => ("发电企业", "Generator"),
        "aggregator" => ("聚合商", "Aggregator"),
        "user" => ("电力用户", "Electricity user"),
        "retailer" => ("售电公司", "Retailer"),
        "operator" => ("交易中心", "Exchange operator"),
        "regulator" => ("监管机构", "Regulator"),
        "grid" => ("电网企业", "Grid company"),
        other => return other.to_owned(),
    };
    lang.pick(zh, en).to_owned()
}

/// A side (`buy`, `sell`) by name.
pub fn side_name(lang: Lang, side: &str) -> String {
    match side {
        "buy" => lang.texts().buy.to_owned(),
        "sell" => lang.texts().sell.to_owned(),
        other => other.to_owned(),
    }
}

/// Groups the integer part of a decimal string in threes: `"1234567.125"` → `"1,234,567.125"`.
pub fn grouped(decimal: &str) -> String {
    let (sign, rest) = match decimal.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", decimal),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    if !int.bytes().all(|b| b.is_ascii_digit()) {
        return decimal.to_owned();
    }
    let mut out = String::with_capacity(decimal.len() + int.len() / 3);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(frac) = frac {
        out.push('.');
        out.push_str(frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_grouped_in_threes() {
        assert_eq!(grouped("0"), "0");
        assert_eq!(grouped("999"), "999");
        assert_eq!(grouped("1000"), "1,000");
        assert_eq!(grouped("1234567.125"), "1,234,567.125");
        assert_eq!(grouped("-1234.5"), "-1,234.5");
        assert_eq!(grouped("n/a"), "n/a");
    }

    #[test]
    fn every_code_has_a_name_in_both_languages() {
        for lang in [Lang::Zh, Lang::En] {
            for mode in ["bilateral", "listing", "call_auction", "rolling"] {
                assert_ne!(mode_name(lang, mode), mode);
            }
            for state in SESSION_STATES {
                assert_ne!(state_name(lang, state), state);
            }
        }
        assert_eq!(mode_name(Lang::Zh, "rolling"), "滚动撮合");
        assert_eq!(certificate_state_name(Lang::Zh, "claimed"), "已核销");
    }
}
