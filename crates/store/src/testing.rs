//! What the test suites of every crate share about the PostgreSQL server they run against.

/// The variable naming the PostgreSQL server of the tests.
pub const DATABASE_URL_VAR: &str = "LVDIAN_TEST_DATABASE_URL";

/// The PostgreSQL server tests run against: `LVDIAN_TEST_DATABASE_URL`, or `None` (the caller
/// skips its PostgreSQL part, saying so) when it is not set — except in CI (`CI` set), where a
/// missing server is a failure, so that a green run means the PostgreSQL tests ran. An
/// unreachable server fails the test where it connects.
///
/// # Panics
/// In CI without `LVDIAN_TEST_DATABASE_URL`.
pub fn database_url() -> Option<String> {
    match std::env::var(DATABASE_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) => {
            panic!("CI is set but {DATABASE_URL_VAR} is not: the PostgreSQL tests must run in CI")
        }
        _ => {
            println!("PostgreSQL part skipped: {DATABASE_URL_VAR} not set");
            None
        }
    }
}
