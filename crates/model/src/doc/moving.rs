//! Moving a record between documents: out of the group's document into a compartment's, or back.
//!
//! A move is three steps the caller takes in order, each an ordinary edit of one document:
//! [`GroupDoc::copy_record_out`] from the document that holds the record, [`GroupDoc::put_record`] into the other
//! (the same id), then [`GroupDoc::delete_record`] from the first. Caught half-way, the record is in both, and a
//! merged view shows it once, from the compartment ([`crate::GroupView::absorb`]).
//!
//! What is copied is the record's map as it is shown: each field's value as automerge shows it (a conflict is
//! settled by that pick: settle it first with [`GroupDoc::resolve`] to choose), collaborative texts as their
//! current text, nested maps (a meeting's agenda and attendance, an action's owners, a pattern's links) whole. The
//! record's history stays in the document it leaves: the deletion removes it from the view, not from the log.

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ReadDoc, ScalarValue, Value};
use serde::{Deserialize, Serialize};

use super::GroupDoc;
use crate::ids::is_record_id;
use crate::input::check_len;
use crate::{ModelError, RecordId, RecordKind, MAX_TEXT_LEN, MAX_TITLE_LEN};

/// How deeply maps may nest in a record that is copied or written: the layout nests three levels (a meeting, its
/// attendance, a record in it); the bound keeps a hostile record from exhausting the stack.
const MAX_DEPTH: usize = 8;

/// One record's content, out of one document and into another ([`GroupDoc::copy_record_out`],
/// [`GroupDoc::put_record`]): a plain tree of values, serializable, so it can cross between two documents' owners.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordData {
    /// The record's id, the same in both documents.
    pub id: RecordId,
    /// The record's fields.
    pub fields: BTreeMap<String, RecordValue>,
}

/// A value in a [`RecordData`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum RecordValue {
    /// A single-value string.
    Str(String),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    Uint(u64),
    /// A floating-point number.
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// Null.
    Null,
    /// Bytes.
    Bytes(Vec<u8>),
    /// A timestamp (milliseconds since the epoch).
    Timestamp(i64),
    /// A collaborative text, by its content.
    Text(String),
    /// A nested map.
    Map(BTreeMap<String, RecordValue>),
    /// A list. Sunspace's layout has none and receivers refuse changes that make one, so
    /// [`GroupDoc::put_record`] refuses it; it is here so that copying out never loses what a record holds.
    List(Vec<RecordValue>),
}

fn movable(kind: RecordKind) -> Result<&'static str, ModelError> {
    match kind.table() {
        Some(table) if kind.movable() => Ok(table),
        _ => Err(ModelError::Invalid(format!("a {} cannot be moved to another document", kind.noun()))),
    }
}

fn read_value(
    doc: &automerge::AutoCommit,
    value: Value<'_>,
    obj: ObjId,
    depth: usize,
) -> Result<RecordValue, ModelError> {
    let too_deep = || ModelError::Unreadable("the record nests too deeply to be copied".into());
    Ok(match value {
        Value::Scalar(scalar) => match scalar.as_ref() {
            ScalarValue::Str(text) => RecordValue::Str(text.to_string()),
            ScalarValue::Int(n) => RecordValue::Int(*n),
            ScalarValue::Uint(n) => RecordValue::Uint(*n),
            ScalarValue::F64(n) => RecordValue::F64(*n),
            ScalarValue::Boolean(b) => RecordValue::Bool(*b),
            ScalarValue::Null => RecordValue::Null,
            ScalarValue::Bytes(bytes) => RecordValue::Bytes(bytes.clone()),
            ScalarValue::Timestamp(t) => RecordValue::Timestamp(*t),
            _ => return Err(ModelError::Unreadable("the record holds a kind of value Sunspace does not copy".into())),
        },
        Value::Object(ObjType::Text) => RecordValue::Text(doc.text(&obj)?),
        Value::Object(ObjType::Map | ObjType::Table) => {
            if depth >= MAX_DEPTH {
                return Err(too_deep());
            }
            RecordValue::Map(read_map(doc, &obj, depth + 1)?)
        }
        Value::Object(ObjType::List) => {
            if depth >= MAX_DEPTH {
                return Err(too_deep());
            }
            let items: Vec<(Value<'static>, ObjId)> = doc
                .list_range(&obj, ..)
                .map(|item| {
                    let id = item.id();
                    (item.value.into_value(), id)
                })
                .collect();
            RecordValue::List(
                items.into_iter().map(|(value, id)| read_value(doc, value, id, depth + 1)).collect::<Result<_, _>>()?,
            )
        }
    })
}

fn read_map(
    doc: &automerge::AutoCommit,
    obj: &ObjId,
    depth: usize,
) -> Result<BTreeMap<String, RecordValue>, ModelError> {
    crate::read::entries(doc, obj)
        .into_iter()
        .map(|(key, value, id)| Ok((key, read_value(doc, value, id, depth)?)))
        .collect()
}

/// Checks a tree of values against what receivers accept of a change (no lists) and the layout's bounds (depth,
/// key and text lengths).
fn check_tree(fields: &BTreeMap<String, RecordValue>, depth: usize) -> Result<(), ModelError> {
    if depth > MAX_DEPTH {
        return Err(ModelError::Invalid("the record nests too deeply".into()));
    }
    for (key, value) in fields {
        if key.is_empty() {
            return Err(ModelError::Empty { field: "field name" });
        }
        check_len("field name", key, MAX_TITLE_LEN)?;
        match value {
            RecordValue::Str(text) | RecordValue::Text(text) => check_len("field", text, MAX_TEXT_LEN)?,
            RecordValue::Bytes(bytes) if bytes.len() > MAX_TEXT_LEN => {
                return Err(ModelError::TooLong { field: "field", len: bytes.len(), max: MAX_TEXT_LEN })
            }
            RecordValue::Map(map) => check_tree(map, depth + 1)?,
            RecordValue::List(_) => {
                return Err(ModelError::Invalid("a record cannot hold a list: other devices would refuse it".into()))
            }
            _ => {}
        }
    }
    Ok(())
}

fn write_map(
    doc: &mut automerge::AutoCommit,
    obj: &ObjId,
    fields: &BTreeMap<String, RecordValue>,
) -> Result<(), ModelError> {
    for (key, value) in fields {
        let key = key.as_str();
        match value {
            RecordValue::Str(text) => doc.put(obj, key, text.as_str())?,
            RecordValue::Int(n) => doc.put(obj, key, *n)?,
            RecordValue::Uint(n) => doc.put(obj, key, *n)?,
            RecordValue::F64(n) => doc.put(obj, key, *n)?,
            RecordValue::Bool(b) => doc.put(obj, key, *b)?,
            RecordValue::Null => doc.put(obj, key, ScalarValue::Null)?,
            RecordValue::Bytes(bytes) => doc.put(obj, key, ScalarValue::Bytes(bytes.clone()))?,
            RecordValue::Timestamp(t) => doc.put(obj, key, ScalarValue::Timestamp(*t))?,
            RecordValue::Text(text) => {
                let made = doc.put_object(obj, key, ObjType::Text)?;
                doc.splice_text(&made, 0, 0, text)?;
            }
            RecordValue::Map(map) => {
                let made = doc.put_object(obj, key, ObjType::Map)?;
                write_map(doc, &made, map)?;
            }
            RecordValue::List(_) => {
                return Err(ModelError::Invalid("a record cannot hold a list: other devices would refuse it".into()))
            }
        }
    }
    Ok(())
}

impl GroupDoc {
    /// A copy of record `id` of `kind`, to write into another document with [`GroupDoc::put_record`]. Only kinds
    /// that may live in a compartment are copied ([`RecordKind::movable`]).
    pub fn copy_record_out(&self, kind: RecordKind, id: &str) -> Result<RecordData, ModelError> {
        movable(kind)?;
        let obj = self.record(kind, id)?;
        Ok(RecordData { id: id.to_owned(), fields: read_map(&self.doc, &obj, 1)? })
    }

    /// Writes a record copied out of another document ([`GroupDoc::copy_record_out`]) into this one, under the
    /// same id; one already there is replaced whole (a move tried again after it was cut short).
    ///
    /// It is checked as what it is, a change from elsewhere: with the rules received changes pass (no lists; see
    /// [`crate::incoming`]), within the layout's bounds, and only if it reads as a record of `kind`, so a record
    /// this document's view would list as unreadable is refused rather than written. The records it names
    /// (members, meetings, persons) are not looked for: they may be in the document it came from.
    pub fn put_record(&mut self, kind: RecordKind, record: &RecordData) -> Result<(), ModelError> {
        let table = movable(kind)?;
        if !is_record_id(&record.id) {
            return Err(ModelError::Invalid("the record's id is not a record id".into()));
        }
        check_tree(&record.fields, 1)?;
        // Read back from a scratch document, with the same readers as the view.
        let mut scratch = automerge::AutoCommit::new();
        let scratch_table = scratch.put_object(ObjId::Root, table, ObjType::Map)?;
        let scratch_obj = scratch.put_object(&scratch_table, record.id.as_str(), ObjType::Map)?;
        write_map(&mut scratch, &scratch_obj, &record.fields)?;
        let scratch = GroupDoc { doc: scratch, vetting: Default::default() };
        if !scratch.reads_as(kind, &record.id, scratch_obj) {
            return Err(ModelError::Invalid(format!("the record does not read as a {}", kind.noun())));
        }
        let target = self.table_for_write(table)?;
        let obj = self.doc.put_object(&target, record.id.as_str(), ObjType::Map)?;
        write_map(&mut self.doc, &obj, &record.fields)?;
        // A copy under the same id in a concurrent table would show instead of this one: take it away.
        for other in self.tables(table).into_iter().skip(1) {
            if self.doc.get(&other, record.id.as_str())?.is_some() {
                self.doc.delete(&other, record.id.as_str())?;
            }
        }
        Ok(())
    }

    /// Deletes record `id` of `kind` from this document (the last step of a move, or a record taken back). Only
    /// kinds that may live in a compartment are deleted this way ([`RecordKind::movable`]); members leave by their
    /// status, role grants end by their term. The record's history stays in the document's log.
    pub fn delete_record(&mut self, kind: RecordKind, id: &str) -> Result<(), ModelError> {
        let table = movable(kind)?;
        let mut found = false;
        for table in self.tables(table) {
            if self.doc.get(&table, id)?.is_some() {
                self.doc.delete(&table, id)?;
                found = true;
            }
        }
        if found {
            Ok(())
        } else {
            Err(ModelError::NotFound { kind: kind.noun(), id: id.to_owned() })
        }
    }
}

#[cfg(test)]
mod tests;
