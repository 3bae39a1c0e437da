//! Chinese company names, unique by construction: a participant's index picks a city, a
//! two-character trade name and an industry in mixed radix, so no two indexes share a name.

/// Prefecture-level cities of Zhejiang.
pub(crate) const ZJ_CITIES: [&str; 11] = [
    "杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水",
];

/// First characters of trade names.
const FIRST: [&str; 24] = [
    "恒", "瑞", "鑫", "华", "盛", "泰", "金", "德", "永", "富", "宏", "嘉", "康", "隆", "明", "宁",
    "普", "荣", "顺", "天", "万", "祥", "新", "兴",
];

/// Second characters of trade names.
const SECOND: [&str; 24] = [
    "安", "邦", "昌", "达", "丰", "光", "海", "和", "辉", "佳", "捷", "利", "茂", "南", "鹏", "启",
    "润", "胜", "通", "伟", "信", "扬", "远", "正",
];

/// Industries of electricity users: the first half mostly industrial, the rest commercial.
pub(crate) const INDUSTRIES: [&str; 12] = [
    "纺织",
    "化纤",
    "印染",
    "机械",
    "汽车部件",
    "电子",
    "造纸",
    "化工",
    "数据科技",
    "商贸",
    "酒店管理",
    "物流",
];

/// A trade name (two characters) for `index`, cycling after 576.
pub(crate) fn brand(index: usize) -> String {
    format!("{}{}", FIRST[index % 24], SECOND[(index / 24) % 24])
}

/// An electricity user's name: `{city}{brand}{industry}有限公司`; unique for indexes below
/// 11 × 576 × 12 = 76,032. The industry is `industry`.
pub(crate) fn user(index: usize, industry: usize) -> String {
    let city = ZJ_CITIES[index % 11];
    let brand = brand(index / 11);
    let serial = index / (11 * 576);
    let suffix = if serial == 0 {
        String::new()
    } else {
        format!("{}", serial + 1)
    };
    format!("{city}{brand}{}{suffix}有限公司", INDUSTRIES[industry])
}

/// A company name `{place}{brand}{what}` for the `index`-th company of one kind.
pub(crate) fn company(place: &str, index: usize, what: &str) -> String {
    let serial = index / 576;
    let suffix = if serial == 0 {
        String::new()
    } else {
        format!("{}", serial + 1)
    };
    format!("{place}{}{what}{suffix}", brand(index))
}
