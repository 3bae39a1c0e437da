//! The report's words in Chinese and English: headings, labels, and the names of the codes the
//! statistics use (modes, scopes, technologies, provinces). Chinese market terms as the
//! exchanges publish them (绿电交易, 省间/省内, 双边协商, 挂牌, 集中竞价, 滚动撮合, 绿证
//! 核发/交易/核销, 电能量价格, 绿色环境价值).

use super::Lang;

/// Every fixed text of the report in one language.
pub struct Texts {
    pub lang: Lang,
    pub html_lang: &'static str,
    pub subtitle: &'static str,
    pub no_data: &'static str,
    // Sections.
    pub summary: &'static str,
    pub monthly: &'static str,
    pub sessions: &'static str,
    pub inter: &'static str,
    pub technology: &'static str,
    pub prices: &'static str,
    pub certificates: &'static str,
    pub provinces: &'static str,
    pub notes: &'static str,
    // Figures.
    pub traded: &'static str,
    pub settled: &'static str,
    pub inter_volume: &'static str,
    pub inter_share: &'static str,
    pub session_count: &'static str,
    pub participants: &'static str,
    pub users: &'static str,
    pub energy_price: &'static str,
    pub env_price: &'static str,
    pub issued: &'static str,
    pub transferred: &'static str,
    pub claimed: &'static str,
    pub growth: &'static str,
    pub growth_col: &'static str,
    pub volume_unit_caption: &'static str,
    pub figure: &'static str,
    pub value: &'static str,
    pub exact: &'static str,
    // Table columns.
    pub month: &'static str,
    pub intra_col: &'static str,
    pub inter_col: &'static str,
    pub settled_col: &'static str,
    pub mode: &'static str,
    pub scope: &'static str,
    pub province: &'static str,
    pub source_province: &'static str,
    pub tech: &'static str,
    pub volume: &'static str,
    pub corridor: &'static str,
    pub sent: &'static str,
    pub delivered: &'static str,
    pub band: &'static str,
    pub sold: &'static str,
    pub bought: &'static str,
    pub imported: &'static str,
    pub exported: &'static str,
    pub province_traded: &'static str,
    pub certificates_col: &'static str,
    pub total: &'static str,
    // Units.
    pub price_unit: &'static str,
    pub certificate_unit: &'static str,
    pub session_unit: &'static str,
    pub party_unit: &'static str,
    // Figure captions.
    pub fig_monthly: &'static str,
    pub fig_technology: &'static str,
    pub fig_prices: &'static str,
    pub fig_corridors: &'static str,
    pub fig_certificates: &'static str,
    // Prose.
    pub growth_none: &'static str,
    pub corridors_none: &'static str,
    pub bands_note: &'static str,
    pub definitions: &'static [&'static str],
    pub files: &'static str,
    pub months: [&'static str; 12],
}

impl Texts {
    /// The report's title.
    pub fn title(&self, year: u16) -> String {
        if self.lang == Lang::En {
            format!("Green Electricity Trading — Annual Report {year}")
        } else {
            format!("{year}年绿电交易年度报告")
        }
    }

    /// "No data for the year", for an empty chart.
    pub fn no_data_for(&self, year: u16) -> String {
        if self.lang == Lang::En {
            format!("{} {year}", self.no_data)
        } else {
            format!("{year}年{}", self.no_data)
        }
    }
}

/// The texts of `lang`.
pub fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

static ZH: Texts = Texts {
    lang: Lang::Zh,
    html_lang: "zh-CN",
    subtitle: "绿电交易平台年度统计：交易、结算与绿色电力证书（绿证）",
    no_data: "无交易数据",
    summary: "一、总体情况",
    monthly: "二、分月交易电量",
    sessions: "三、交易组织",
    inter: "四、省间交易与输电通道",
    technology: "五、电源类型与来源省份",
    prices: "六、交易价格",
    certificates: "七、绿证核发、交易与核销",
    provinces: "八、分省情况",
    notes: "说明",
    traded: "绿电交易电量",
    settled: "结算电量",
    inter_volume: "省间绿电交易电量",
    inter_share: "省间交易占比",
    session_count: "交易场次",
    participants: "参与交易主体",
    users: "参与电力用户",
    energy_price: "平均电能量价格",
    env_price: "平均绿色环境价值",
    issued: "绿证核发",
    transferred: "绿证交易",
    claimed: "绿证核销",
    growth: "同比",
    growth_col: "同比",
    volume_unit_caption: "电量单位：",
    figure: "指标",
    value: "数值",
    exact: "精确值",
    month: "月份",
    intra_col: "省内",
    inter_col: "省间",
    settled_col: "结算",
    mode: "交易方式",
    scope: "交易范围",
    province: "省份",
    source_province: "来源省份",
    tech: "电源类型",
    volume: "电量",
    corridor: "输电通道",
    sent: "送端电量",
    delivered: "落地电量",
    band: "电能量价格区间（元/兆瓦时）",
    sold: "售电",
    bought: "购电（落地）",
    imported: "省间购入",
    exported: "省间送出",
    province_traded: "用户交易电量",
    certificates_col: "绿证（张）",
    total: "全年",
    price_unit: "元/兆瓦时",
    certificate_unit: "张",
    session_unit: "场",
    party_unit: "家",
    fig_monthly: "图1 分月绿电交易电量（省内、省间）",
    fig_technology: "图3 分电源类型绿电交易电量",
    fig_prices: "图4 绿电交易电量按电能量价格分布",
    fig_corridors: "图2 输电通道送端与落地电量",
    fig_certificates: "图5 分月绿证核发、交易与核销（按生产月份）",
    growth_none: "上年无可比数据，不计同比。",
    corridors_none: "本年无经输电通道的省间耦合交易。",
    bands_note: "价格区间宽20元/兆瓦时，只列有成交的区间。",
    definitions: &[
        "绿电交易电量：年内交割的合同电量（按月分解，送端计量），含省内与省间交易。",
        "结算电量：年内各月正式结算确认的绿色电量。",
        "省间交易：经输电通道或买卖双方分属不同省份的交易；占比为其占绿电交易电量的比例。",
        "平均价格：按电量加权的电能量价格与绿色环境价值，单位元/兆瓦时。",
        "绿证：按生产月份统计，1张对应1兆瓦时；交易含证电合一划转、双边与挂牌交易。",
        "1亿千瓦时 = 10⁸ 千瓦时 = 100,000 兆瓦时；1万千瓦时 = 10 兆瓦时。表中数值四舍五入保留两位小数，精确的兆瓦时数见同目录的CSV文件。",
    ],
    files: "数据表（CSV，精确到千瓦时）",
    months: [
        "1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月",
    ],
};

static EN: Texts = Texts {
    lang: Lang::En,
    html_lang: "en",
    subtitle: "The year's statistics of the green electricity market: trading, settlement and green certificates",
    no_data: "No trading in",
    summary: "1. Overview",
    monthly: "2. Volume by month",
    sessions: "3. Trading sessions",
    inter: "4. Inter-provincial trading and corridors",
    technology: "5. Technology and source province",
    prices: "6. Prices",
    certificates: "7. Green certificates: issued, transferred, claimed",
    provinces: "8. Provinces",
    notes: "Notes",
    traded: "Green power traded",
    settled: "Settled",
    inter_volume: "Inter-provincial volume",
    inter_share: "Inter-provincial share",
    session_count: "Sessions",
    participants: "Participants",
    users: "Electricity users",
    energy_price: "Average energy price",
    env_price: "Average environmental price",
    issued: "Certificates issued",
    transferred: "Certificates transferred",
    claimed: "Certificates claimed",
    growth: "year on year",
    growth_col: "Year on year",
    volume_unit_caption: "Volumes in ",
    figure: "Figure",
    value: "Value",
    exact: "Exact",
    month: "Month",
    intra_col: "Intra-provincial",
    inter_col: "Inter-provincial",
    settled_col: "Settled",
    mode: "Mode",
    scope: "Scope",
    province: "Province",
    source_province: "Source province",
    tech: "Technology",
    volume: "Volume",
    corridor: "Corridor",
    sent: "Sent",
    delivered: "Delivered",
    band: "Energy price band (yuan/MWh)",
    sold: "Sold",
    bought: "Bought (delivered)",
    imported: "Imported",
    exported: "Exported",
    province_traded: "Users' traded volume",
    certificates_col: "Certificates",
    total: "Year",
    price_unit: "yuan/MWh",
    certificate_unit: "certificates",
    session_unit: "",
    party_unit: "",
    fig_monthly: "Figure 1. Volume traded by month, intra- and inter-provincial",
    fig_technology: "Figure 3. Volume traded by technology",
    fig_prices: "Figure 4. Volume traded by energy price",
    fig_corridors: "Figure 2. Corridors: energy sent and delivered",
    fig_certificates: "Figure 5. Certificates issued, transferred and claimed by production month",
    growth_none: "No volume the year before: no year-on-year growth.",
    corridors_none: "No inter-provincial coupled trading over corridors this year.",
    bands_note: "Bands are 20 yuan/MWh wide; only bands with volume are listed.",
    definitions: &[
        "Traded: contracted energy delivering in the year (contracts split by month, as sent), within and between provinces.",
        "Settled: green energy delivered in the year's final monthly settlements.",
        "Inter-provincial: contracts over a corridor or between parties of two provinces; the share is of the traded volume.",
        "Average prices: energy and environmental prices weighted by volume, yuan/MWh.",
        "Certificates: by production month, one per MWh; transferred includes moves on settlement (bundled), bilateral and listed trades.",
        "1 GWh = 1,000 MWh. Volumes below 1 GWh are shown in MWh, exactly; the CSV files beside this page hold every figure in MWh exactly.",
    ],
    files: "Data tables (CSV, exact to the kWh)",
    months: [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ],
};

/// A session mode of the statistics (`call_auction/uniform`, `rolling`, …) by name: the
/// dashboard's names (`web::i18n`), so the report and the pages say the same.
pub fn mode_name(lang: Lang, mode: &str) -> String {
    web::i18n::mode_name(lang.into(), mode)
}

/// A scope (`intra`, `inter`) by name.
pub fn scope_name(lang: Lang, scope: &str) -> String {
    web::i18n::scope_name(lang.into(), scope)
}

/// A technology (`wind_offshore`, …) by name.
pub fn technology_name(lang: Lang, technology: &str) -> String {
    web::i18n::technology_name(lang.into(), technology)
}

/// A province code by name where the code is unambiguous (`ZJ` is 浙江 / Zhejiang), else the
/// code itself.
pub fn province_name(lang: Lang, code: &str) -> String {
    web::i18n::province_name(lang.into(), code)
}
