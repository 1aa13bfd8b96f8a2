//! Reading records out of automerge maps in one pass each, noting conflicts on the way.
//!
//! Looking a key up in a large automerge map costs a search of the map's operations; a group with thousands of
//! action items would pay it for every field of every record. Instead each record's map is read once with
//! `map_range`, and only fields that automerge flags as conflicted are looked up again for all their values.

use std::collections::BTreeMap;

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

/// Every key of a map with the object id of its (winning) value, for maps whose values are records.
pub(crate) fn entries(doc: &AutoCommit, map: &ObjId) -> Vec<(String, Value<'static>, ObjId)> {
    doc.map_range(map, ..)
        .map(|item| {
            let id = item.id();
            (item.key.into_owned(), item.value.into_value(), id)
        })
        .collect()
}

/// The fields of one record (one automerge map), read in one pass, collecting its conflicts.
pub(crate) struct Fields<'a> {
    doc: &'a AutoCommit,
    values: BTreeMap<String, (Value<'static>, ObjId)>,
    conflicts: Vec<Conflict>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(doc: &'a AutoCommit, obj: ObjId) -> Self {
        let mut values = BTreeMap::new();
        let mut conflicts = Vec::new();
        for item in doc.map_range(&obj, ..) {
            let id = item.id();
            let key = item.key.into_owned();
            if item.conflict {
                if let Ok(all) = doc.get_all(&obj, key.as_str()) {
                    conflicts.push(Conflict {
                        field: key.clone(),
                        values: all
                            .iter()
                            .map(|(value, id)| ConflictValue { value: scalar_text(value), author: author_of(id) })
                            .collect(),
                    });
                }
            }
            values.insert(key, (item.value.into_value(), id));
        }
        Self { doc, values, conflicts }
    }

    fn scalar(&self, key: &str) -> Option<&ScalarValue> {
        match self.values.get(key)? {
            (Value::Scalar(scalar), _) => Some(scalar.as_ref()),
            (Value::Object(_), _) => None,
        }
    }

    /// The nested object at `key` if it has the expected type.
    pub(crate) fn object(&self, key: &str, kind: ObjType) -> Option<ObjId> {
        match self.values.get(key)? {
            (Value::Object(found), id) if *found == kind => Some(id.clone()),
            _ => None,
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
            ScalarValue::Int(n) => Some(*n),
            ScalarValue::Uint(n) => i64::try_from(*n).ok(),
            _ => None,
        }
    }

    /// A collaborative text field's content ("" when missing).
    pub(crate) fn text(&self, key: &str) -> String {
        self.object(key, ObjType::Text).and_then(|text| self.doc.text(&text).ok()).unwrap_or_default()
    }

    /// The keys of a nested map field.
    pub(crate) fn map_keys(&self, key: &str) -> Vec<String> {
        self.object(key, ObjType::Map).map(|map| self.doc.keys(&map).collect()).unwrap_or_default()
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
