//! Retail contracts (零售合同): registered once by a retailer, read by the month close.

use domain::{ParticipantId, Price, RetailContract, YearMonth};

use crate::rows::{corrupt, to_db};
use crate::{Pool, Result, Store, StoredResponse, on_pool, remember_in};

/// A stored retail contract row.
type RetailTuple = (i64, i64, i64, String, String, i64, i64, i64);

impl Store {
    /// Registers `contract` (its `id` is ignored and assigned here) with the reply `remember`
    /// makes for the stored contract, in one transaction; returns the contract as stored.
    pub async fn insert_retail_contract_remembered(
        &self,
        contract: &RetailContract,
        remember: impl FnOnce(&RetailContract) -> Option<StoredResponse>,
    ) -> Result<RetailContract> {
        const SQL: &str = "INSERT INTO retail_contracts \
                           (retailer, user_id, first_month, last_month, monthly_mwh, env_price, created_at_ms) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
        let retailer = to_db(contract.retailer.0, "participant id")?;
        let user = to_db(contract.user.0, "participant id")?;
        let (first, last) = (
            contract.first_month.to_string(),
            contract.last_month.to_string(),
        );
        macro_rules! write {
            ($pool:expr) => {{
                let mut tx = $pool.begin_with(self.begin_write()).await?;
                let (id,): (i64,) = sqlx::query_as(SQL)
                    .bind(retailer)
                    .bind(user)
                    .bind(first.as_str())
                    .bind(last.as_str())
                    .bind(contract.monthly_mwh)
                    .bind(contract.env_price.0)
                    .bind(contract.created_at_ms)
                    .fetch_one(&mut *tx)
                    .await?;
                let stored = RetailContract {
                    id: u64::try_from(id)
                        .map_err(|_| corrupt("retail_contracts", format!("assigned id {id}")))?,
                    ..contract.clone()
                };
                if let Some(r) = remember(&stored) {
                    remember_in!(tx, &r);
                }
                tx.commit().await?;
                Ok(stored)
            }};
        }
        match &self.pool {
            Pool::Sqlite(pool, _) => write!(pool),
            Pool::Postgres(pool) => write!(pool),
        }
    }

    /// Every retail contract, by id.
    pub async fn retail_contracts(&self) -> Result<Vec<RetailContract>> {
        const SQL: &str = "SELECT id, retailer, user_id, first_month, last_month, monthly_mwh, \
                           env_price, created_at_ms FROM retail_contracts ORDER BY id";
        let rows: Vec<RetailTuple> =
            on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        rows.into_iter().map(retail_contract).collect()
    }
}

fn retail_contract(row: RetailTuple) -> Result<RetailContract> {
    let (id, retailer, user, first, last, monthly_mwh, env_price, created_at_ms) = row;
    let bad = |what: &str| corrupt("retail_contracts", format!("contract {id}: {what}"));
    let unsigned = |v: i64, what: &str| u64::try_from(v).map_err(|_| bad(what));
    let month = |text: &str, what: &str| YearMonth::parse(text).map_err(|_| bad(what));
    Ok(RetailContract {
        id: unsigned(id, "id")?,
        retailer: ParticipantId(unsigned(retailer, "retailer")?),
        user: ParticipantId(unsigned(user, "user_id")?),
        first_month: month(&first, "first_month")?,
        last_month: month(&last, "last_month")?,
        monthly_mwh,
        env_price: Price(env_price),
        created_at_ms,
    })
}
