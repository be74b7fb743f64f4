//! The embedded store: apps and the string-uid map, in one redb file under the data folder. Everything here is
//! small, synchronous and fast (microseconds), so callers use it inline.

use std::path::Path;

use rand::Rng;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
/// App id -> certificate ("" for an app in testing mode).
const APPS: TableDefinition<&str, &str> = TableDefinition::new("apps");
/// (app id, account) -> uid.
const ACCOUNTS: TableDefinition<(&str, &str), u32> = TableDefinition::new("accounts");
/// (app id, uid) -> account: proves a number is never handed to two accounts.
const ACCOUNT_UIDS: TableDefinition<(&str, u32), &str> = TableDefinition::new("account_uids");

const DEV_APP_KEY: &str = "dev_app_id";

#[derive(Debug, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(#[from] redb::Error);

macro_rules! from_redb {
    ($($t:ty),*) => {$(impl From<$t> for StoreError { fn from(e: $t) -> Self { StoreError(e.into()) } })*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// An app: its id and, when tokens are required, its certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct App {
    pub id: String,
    pub certificate: Option<String>,
}

pub struct Store {
    db: Database,
}

impl Store {
    /// Opens (or creates) `DIR/stoa.redb`, creating the folder too.
    pub fn open(dir: &Path) -> Result<Store, Box<dyn std::error::Error + Send + Sync>> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create data folder {}: {e}", dir.display()))?;
        let db = Database::create(dir.join("stoa.redb"))?;
        let txn = db.begin_write()?;
        {
            txn.open_table(META)?;
            txn.open_table(APPS)?;
            txn.open_table(ACCOUNTS)?;
            txn.open_table(ACCOUNT_UIDS)?;
        }
        txn.commit()?;
        Ok(Store { db })
    }

    pub fn put_app(&self, app: &App) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        txn.open_table(APPS)?
            .insert(app.id.as_str(), app.certificate.as_deref().unwrap_or(""))?;
        txn.commit()?;
        Ok(())
    }

    pub fn apps(&self) -> Result<Vec<App>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(APPS)?;
        let mut apps = Vec::new();
        for row in table.iter()? {
            let (id, cert) = row?;
            let cert = cert.value();
            apps.push(App {
                id: id.value().to_string(),
                certificate: (!cert.is_empty()).then(|| cert.to_string()),
            });
        }
        Ok(apps)
    }

    /// The development app: created once (a random 32-hex id, no certificate) and the same on every start.
    pub fn development_app(&self) -> Result<App, StoreError> {
        let txn = self.db.begin_write()?;
        let id = {
            let mut meta = txn.open_table(META)?;
            let existing = meta.get(DEV_APP_KEY)?.map(|v| v.value().to_string());
            match existing {
                Some(id) => id,
                None => {
                    let id = random_hex32();
                    meta.insert(DEV_APP_KEY, id.as_str())?;
                    txn.open_table(APPS)?.insert(id.as_str(), "")?;
                    id
                }
            }
        };
        txn.commit()?;
        Ok(App { id, certificate: None })
    }

    /// The number for `account` in `app_id`, allocated on first use: random in 1..=2^32-1, never shared by two
    /// accounts of one app, and the same after a restart.
    pub fn uid_for_account(&self, app_id: &str, account: &str) -> Result<u32, StoreError> {
        {
            let txn = self.db.begin_read()?;
            if let Some(uid) = txn.open_table(ACCOUNTS)?.get((app_id, account))? {
                return Ok(uid.value());
            }
        }
        let txn = self.db.begin_write()?;
        let uid = {
            let mut accounts = txn.open_table(ACCOUNTS)?;
            // Another request may have allocated it between the two transactions.
            let existing = accounts.get((app_id, account))?.map(|v| v.value());
            match existing {
                Some(uid) => uid,
                None => {
                    let mut uids = txn.open_table(ACCOUNT_UIDS)?;
                    let mut rng = rand::rng();
                    let uid = loop {
                        let candidate = rng.random_range(1..=u32::MAX);
                        if uids.get((app_id, candidate))?.is_none() {
                            break candidate;
                        }
                    };
                    uids.insert((app_id, uid), account)?;
                    accounts.insert((app_id, account), uid)?;
                    uid
                }
            }
        };
        txn.commit()?;
        Ok(uid)
    }

    /// The account behind a number, if it came from one.
    pub fn account_for_uid(&self, app_id: &str, uid: u32) -> Result<Option<String>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(ACCOUNT_UIDS)?;
        Ok(table.get((app_id, uid))?.map(|v| v.value().to_string()))
    }
}

pub fn random_hex32() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_keep_their_number_across_reopen_and_never_share_one() {
        let dir = tempfile::tempdir().unwrap();
        let (alice, numbers) = {
            let store = Store::open(dir.path()).unwrap();
            let alice = store.uid_for_account("app", "alice").unwrap();
            assert_eq!(store.uid_for_account("app", "alice").unwrap(), alice);
            let mut numbers: Vec<u32> = (0..500)
                .map(|i| store.uid_for_account("app", &format!("user-{i}")).unwrap())
                .collect();
            numbers.push(alice);
            (alice, numbers)
        };
        let mut unique = numbers.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), numbers.len());
        assert!(!numbers.contains(&0));
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.uid_for_account("app", "alice").unwrap(), alice);
        assert_eq!(store.account_for_uid("app", alice).unwrap().as_deref(), Some("alice"));
        // Another app has its own map.
        assert_eq!(store.account_for_uid("other", alice).unwrap(), None);
    }

    #[test]
    fn the_development_app_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let first = Store::open(dir.path()).unwrap().development_app().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.development_app().unwrap(), first);
        assert_eq!(first.id.len(), 32);
        assert!(store.apps().unwrap().contains(&first));
        store
            .put_app(&App {
                id: "x".repeat(32),
                certificate: Some("c".repeat(32)),
            })
            .unwrap();
        assert_eq!(store.apps().unwrap().len(), 2);
    }
}
