//! Who changed a record, when, and from what: read from the document's own history, where every change is under
//! the actor id of the device that signed the entry carrying it (vetting refuses any other), so the answer is
//! attributable to a device the signed membership admitted.
//!
//! ```
//! use chrono::NaiveDate;
//! use sunspace_model::{DecisionMethod, DecisionPatch, Founder, GroupDoc, NewDecision, RecordKind};
//!
//! let founder = Founder { device_id: "aa".repeat(32), agreement_key: "bb".repeat(32), display_name: "Ana".into() };
//! let day = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
//! let (mut doc, _) = GroupDoc::create(&"cd".repeat(16), "Tenants", &founder, day).unwrap();
//! let decision = doc
//!     .add_decision(NewDecision {
//!         title: "Meet monthly".into(),
//!         method: DecisionMethod::Consensus,
//!         outcome: "agreed".into(),
//!         date: day,
//!         review_by: None,
//!         meeting: None,
//!     })
//!     .unwrap();
//! doc.commit(1_790_000_000);
//! doc.update_decision(&decision, DecisionPatch { outcome: Some("postponed".into()), ..Default::default() }).unwrap();
//! doc.commit(1_790_000_100);
//! let history = doc.history(RecordKind::Decision, &decision).unwrap();
//! let outcome: Vec<_> = history.iter().filter(|c| c.field == "outcome").collect();
//! assert_eq!(outcome[1].value.as_deref(), Some("postponed"));
//! assert_eq!(outcome[1].previous.as_deref(), Some("agreed"));
//! assert_eq!(outcome[1].actor, "aa".repeat(32));
//! ```

use std::collections::BTreeMap;

use automerge::legacy::{Key, ObjectId, OpType};
use automerge::{ObjId, ScalarValue};
use serde::Serialize;

use crate::{GroupDoc, ModelError, RecordKind};

/// One change to one field of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FieldChange {
    /// The field.
    pub field: String,
    /// The value written, in words (`None`: the field was cleared).
    pub value: Option<String>,
    /// The value it replaced, as this device saw the history (`None`: the field was empty).
    pub previous: Option<String>,
    /// The device that made the change (its id, hex): the signing device of the entry that carried it.
    pub actor: String,
    /// When, by the device's clock, in seconds since the epoch (as the device claimed it).
    pub at: i64,
}

fn words(value: &ScalarValue) -> String {
    match value {
        ScalarValue::Str(text) => text.to_string(),
        ScalarValue::Int(n) | ScalarValue::Timestamp(n) => n.to_string(),
        ScalarValue::Uint(n) => n.to_string(),
        ScalarValue::F64(n) => n.to_string(),
        ScalarValue::Boolean(b) => b.to_string(),
        ScalarValue::Null => String::new(),
        _ => "(a value Sunspace does not show)".to_owned(),
    }
}

impl GroupDoc {
    /// Every change to the fields of record `id` (of `kind`), oldest first.
    pub fn history(&mut self, kind: RecordKind, id: &str) -> Result<Vec<FieldChange>, ModelError> {
        let target = match self.record(kind, id)? {
            ObjId::Id(counter, actor, _) => (counter, actor),
            ObjId::Root => return Ok(Vec::new()),
        };
        let mut last: BTreeMap<String, String> = BTreeMap::new();
        let mut out = Vec::new();
        for change in self.doc.get_changes(&[]) {
            let Ok(expanded) = std::panic::catch_unwind(|| change.decode()) else { continue };
            for op in &expanded.operations {
                let ObjectId::Id(opid) = &op.obj else { continue };
                if opid.0 != target.0 || opid.1 != target.1 {
                    continue;
                }
                let Key::Map(field) = &op.key else { continue };
                let field = field.to_string();
                let value = match &op.action {
                    OpType::Put(value) => Some(words(value)),
                    OpType::Delete => None,
                    _ => continue,
                };
                let previous = match &value {
                    Some(value) => last.insert(field.clone(), value.clone()),
                    None => last.remove(&field),
                };
                out.push(FieldChange {
                    field,
                    value,
                    previous,
                    actor: expanded.actor_id.to_hex_string(),
                    at: expanded.time,
                });
            }
        }
        Ok(out)
    }
}
