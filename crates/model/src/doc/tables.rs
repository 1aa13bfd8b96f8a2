//! The root tables, read through every concurrent value of their root key.
//!
//! The tables of the listening step ([`crate::input::LISTENING_TABLES`]) came after the first layout: a document created before
//! them has no such keys, and the first device that writes such a record makes the table. Two devices doing that
//! at once each make a table under the same root key, and automerge keeps both as concurrent values of the key,
//! showing one. Reading only the one shown would make the other device's records vanish, so every read here goes
//! through all of them ([`GroupDoc::tables`]), merging their records, and writes go to the one automerge shows
//! ([`GroupDoc::table_for_write`]), so devices converge on writing to the same table.
//!
//! The tables of the first layout are made once, by the founder's first change (vetting refuses any other write
//! to the root), so they have one value; they are read the same way all the same.

use crate::input::LISTENING_TABLES;
use std::collections::BTreeSet;

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ReadDoc, Value};

use super::GroupDoc;
use crate::ModelError;

impl GroupDoc {
    /// Every map held under root key `key`: the one automerge shows first, then the concurrent ones.
    pub(crate) fn tables(&self, key: &str) -> Vec<ObjId> {
        let Ok(all) = self.doc.get_all(ObjId::Root, key) else { return Vec::new() };
        let mut maps: Vec<ObjId> = all
            .into_iter()
            .filter_map(|(value, id)| matches!(value, Value::Object(ObjType::Map)).then_some(id))
            .collect();
        if let Ok(Some((Value::Object(ObjType::Map), shown))) = self.doc.get(ObjId::Root, key) {
            if let Some(at) = maps.iter().position(|id| *id == shown) {
                let shown = maps.remove(at);
                maps.insert(0, shown);
            }
        }
        maps
    }

    /// Every record key in the tables under root key `key`, each once.
    pub(crate) fn table_keys(&self, key: &str) -> Vec<String> {
        let mut seen = BTreeSet::new();
        self.tables(key)
            .iter()
            .flat_map(|table| self.doc.keys(table).collect::<Vec<_>>())
            .filter(|k| seen.insert(k.clone()))
            .collect()
    }

    /// The record `id` in the tables under root key `key` (the first table that has it as a map).
    pub(crate) fn find_in_tables(&self, key: &str, id: &str) -> Option<ObjId> {
        self.tables(key).iter().find_map(|table| crate::read::child(&self.doc, table, id, ObjType::Map))
    }

    /// The table new records under root key `key` go into: the one automerge shows, made if the document has none
    /// (a document from before the listening step's tables).
    pub(crate) fn table_for_write(&mut self, key: &'static str) -> Result<ObjId, ModelError> {
        if let Some(table) = self.tables(key).into_iter().next() {
            return Ok(table);
        }
        if self.doc.get(ObjId::Root, key)?.is_some() {
            // A value that is not a table: writing over it would supersede it, which vetting refuses from anyone.
            return Err(ModelError::Unreadable(format!("the document's {key} table is malformed")));
        }
        if !LISTENING_TABLES.contains(&key) {
            return Err(ModelError::Unreadable(format!("the document has no {key} table")));
        }
        Ok(self.doc.put_object(ObjId::Root, key, ObjType::Map)?)
    }
}
