//! Sharding of the destination: collections, shard keys, supporting indexes.

use crate::error::Error;

/// How one shard key field is indexed.
///
/// ```
/// use atlas_migration::ShardKeyKind;
/// let kind = ShardKeyKind::Hashed;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ShardKeyKind {
    /// Ranged, ascending (`1`).
    Ascending,
    /// Hashed (`"hashed"`).
    Hashed,
}

/// One collection to shard on the destination, with its shard key.
///
/// ```
/// use atlas_migration::{ShardEntry, ShardKeyKind};
///
/// let entry = ShardEntry::new("shop", "orders")
///     .key("customerId", ShardKeyKind::Hashed)
///     .key("createdAt", ShardKeyKind::Ascending);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardEntry {
    pub(crate) database: String,
    pub(crate) collection: String,
    pub(crate) keys: Vec<(String, ShardKeyKind)>,
}

impl ShardEntry {
    /// The collection `database.collection`; add key fields with [`key`](ShardEntry::key).
    ///
    /// ```
    /// let entry = atlas_migration::ShardEntry::new("db", "coll")
    ///     .key("a", atlas_migration::ShardKeyKind::Ascending);
    /// ```
    pub fn new(database: impl Into<String>, collection: impl Into<String>) -> Self {
        Self {
            database: database.into(),
            collection: collection.into(),
            keys: Vec::new(),
        }
    }

    /// Appends a field to the shard key (order matters).
    ///
    /// ```
    /// let entry = atlas_migration::ShardEntry::new("db", "coll")
    ///     .key("b", atlas_migration::ShardKeyKind::Hashed);
    /// ```
    pub fn key(mut self, field: impl Into<String>, kind: ShardKeyKind) -> Self {
        self.keys.push((field.into(), kind));
        self
    }

    pub(super) fn check(&self) -> Result<(), Error> {
        if self.database.trim().is_empty() {
            return Err(Error::invalid_input(
                "sharding.shardingEntries.database",
                Some(&self.database),
                "is empty; name the database of the collection to shard",
            ));
        }
        if self.collection.trim().is_empty() {
            return Err(Error::invalid_input(
                "sharding.shardingEntries.collection",
                Some(&self.collection),
                "is empty; name the collection to shard",
            ));
        }
        if self.keys.is_empty() {
            return Err(Error::invalid_input(
                "sharding.shardingEntries.shardCollection.key",
                None,
                format!(
                    "{}.{} has no shard key; add at least one field with ShardEntry::key",
                    self.database, self.collection
                ),
            ));
        }
        if let Some((field, _)) = self.keys.iter().find(|(f, _)| f.trim().is_empty()) {
            return Err(Error::invalid_input(
                "sharding.shardingEntries.shardCollection.key",
                Some(field),
                "a shard key field name is empty",
            ));
        }
        Ok(())
    }
}

/// Sharding of the destination: which collections to shard and whether Atlas may create the
/// indexes the shard keys need.
///
/// ```
/// use atlas_migration::{ShardEntry, ShardKeyKind, Sharding};
///
/// let sharding = Sharding::new(true)
///     .entry(ShardEntry::new("shop", "orders").key("a", ShardKeyKind::Ascending));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sharding {
    pub(crate) create_supporting_indexes: bool,
    pub(crate) entries: Vec<ShardEntry>,
}

impl Sharding {
    /// Sharding with no entries yet; `create_supporting_indexes` lets Atlas create the
    /// indexes the shard keys need.
    ///
    /// ```
    /// let sharding = atlas_migration::Sharding::new(false);
    /// ```
    pub fn new(create_supporting_indexes: bool) -> Self {
        Self {
            create_supporting_indexes,
            entries: Vec::new(),
        }
    }

    /// Adds a collection to shard.
    ///
    /// ```
    /// let sharding = atlas_migration::Sharding::new(true)
    ///     .entry(atlas_migration::ShardEntry::new("db", "c").key("a", atlas_migration::ShardKeyKind::Hashed));
    /// ```
    pub fn entry(mut self, entry: ShardEntry) -> Self {
        self.entries.push(entry);
        self
    }

    pub(super) fn check(&self) -> Result<(), Error> {
        for (n, e) in self.entries.iter().enumerate() {
            e.check()?;
            if self.entries[..n]
                .iter()
                .any(|o| o.database == e.database && o.collection == e.collection)
            {
                return Err(Error::invalid_input(
                    "sharding.shardingEntries",
                    Some(&format!("{}.{}", e.database, e.collection)),
                    "appears twice; give each collection one shard key",
                ));
            }
        }
        Ok(())
    }
}
