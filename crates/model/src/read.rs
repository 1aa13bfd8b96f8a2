//! Reading single-value fields out of automerge maps, noting conflicts on the way.

use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value};
use chrono::NaiveDate;

use crate::view::{Conflict, ConflictValue};

/// How a stored scalar is shown in a conflict, and compared when resolving one.
pub(crate) fn scalar_text(value: &Value<'_>) -> String {
    match value {
        Value::Scalar(scalar) => match scalar.as_ref() {
            ScalarValue::Str(text) => text.to_string(),
            ScalarValue::Boolean(true) => "yes".into(),
            ScalarValue::Boolean(false) => "no".into(),
            ScalarValue::Null => String::new(),
            ScalarValue::Int(n) => n.to_string(),
            ScalarValue::Uint(n) => n.to_string(),
            ScalarValue::F64(n) => n.to_string(),
            other => format!("{other}"),
        },
        Value::Object(kind) => format!("({kind:?})"),
    }
}

/// The hex actor id of the operation that wrote a value.
pub(crate) fn author_of(id: &ObjId) -> String {
    match id {
        ObjId::Root => String::new(),
        ObjId::Id(_, actor, _) => actor.to_hex_string(),
    }
}

/// Reads the fields of one record (one automerge map), collecting its conflicts.
pub(crate) struct Fields<'a> {
    doc: &'a AutoCommit,
    obj: ObjId,
    conflicts: Vec<Conflict>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(doc: &'a AutoCommit, obj: ObjId) -> Self {
        Self { doc, obj, conflicts: Vec::new() }
    }

    /// The winning value of a field, recording a conflict when several stand.
    fn scalar(&mut self, key: &str) -> Option<ScalarValue> {
        let all = self.doc.get_all(&self.obj, key).ok()?;
        if all.len() > 1 {
            self.conflicts.push(Conflict {
                field: key.to_owned(),
                values: all
                    .iter()
                    .map(|(value, id)| ConflictValue { value: scalar_text(value), author: author_of(id) })
                    .collect(),
            });
        }
        match self.doc.get(&self.obj, key).ok()?? {
            (Value::Scalar(scalar), _) => Some(scalar.into_owned()),
            (Value::Object(_), _) => None,
        }
    }

    pub(crate) fn string(&mut self, key: &str) -> Option<String> {
        match self.scalar(key)? {
            ScalarValue::Str(text) => Some(text.to_string()),
            _ => None,
        }
    }

    pub(crate) fn date(&mut self, key: &str) -> Option<NaiveDate> {
        self.string(key).and_then(|text| text.parse().ok())
    }

    pub(crate) fn boolean(&mut self, key: &str) -> bool {
        matches!(self.scalar(key), Some(ScalarValue::Boolean(true)))
    }

    pub(crate) fn int(&mut self, key: &str) -> Option<i64> {
        match self.scalar(key)? {
            ScalarValue::Int(n) => Some(n),
            ScalarValue::Uint(n) => i64::try_from(n).ok(),
            _ => None,
        }
    }

    /// A collaborative text field's content ("" when missing).
    pub(crate) fn text(&self, key: &str) -> String {
        child(self.doc, &self.obj, key, ObjType::Text)
            .and_then(|text| self.doc.text(&text).ok())
            .unwrap_or_default()
    }

    /// The keys of a nested map field.
    pub(crate) fn map_keys(&self, key: &str) -> Vec<String> {
        child(self.doc, &self.obj, key, ObjType::Map).map(|map| self.doc.keys(&map).collect()).unwrap_or_default()
    }

    pub(crate) fn finish(self) -> Vec<Conflict> {
        self.conflicts
    }
}

/// The nested object at `key` if it has the expected type.
pub(crate) fn child(doc: &AutoCommit, parent: &ObjId, key: &str, kind: ObjType) -> Option<ObjId> {
    match doc.get(parent, key).ok()?? {
        (Value::Object(found), id) if found == kind => Some(id),
        _ => None,
    }
}
