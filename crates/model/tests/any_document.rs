//! Readers tolerate any document a member can shape: whatever values, of whatever types, sit in the group's tables
//! and records, the view, the Markdown export and the vitality figures come out without a panic.
#![allow(clippy::unwrap_used)]

use automerge::transaction::Transactable;
use automerge::{ObjType, ReadDoc, ScalarValue, ROOT};
use chrono::NaiveDate;
use proptest::prelude::*;
use sunspace_model::{Founder, GroupDoc, NewMeeting, NewOneOnOne, NewPattern, NewPerson, NewStory, RecordKind};

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

/// A value a hostile member might write.
#[derive(Debug, Clone)]
enum Value {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    Bytes(Vec<u8>),
    Counter(i64),
    Map,
    List,
    Prose(String),
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        ".{0,40}".prop_map(Value::Text),
        "(19|20|99)[0-9]{2}-[0-9]{2}-[0-9]{2}".prop_map(Value::Text),
        "(relay:)?[0-9a-f]{0,70}".prop_map(Value::Text),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Float),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(Value::Bytes),
        any::<i64>().prop_map(Value::Counter),
        Just(Value::Map),
        Just(Value::List),
        ".{0,40}".prop_map(Value::Prose),
    ]
}

const TABLES: [&str; 13] = [
    "group",
    "charter",
    "members",
    "devices",
    "roles",
    "meetings",
    "decisions",
    "actions",
    "people",
    "one_on_ones",
    "conversations",
    "stories",
    "patterns",
];
const FIELDS: [&str; 45] = [
    "name",
    "status",
    "joined",
    "kind",
    "sponsor",
    "member",
    "agreement_key",
    "method",
    "added",
    "role",
    "from",
    "until",
    "date",
    "title",
    "place",
    "facilitator",
    "note_taker",
    "minutes",
    "agenda",
    "attendance",
    "outcome",
    "owners",
    "due",
    "relay:ab",
    "holder",
    "stance",
    "became_member",
    "with_member",
    "with_person",
    "with_name",
    "on",
    "keeps_up_at_night",
    "warmth",
    "next_step_on",
    "by",
    "with_base",
    "text",
    "told_by",
    "shared_by",
    "shared_on",
    "named_on",
    "state",
    "stories",
    "meetings",
    "conversations",
];

/// One write: in table `t`, at record `r` (an existing one, or a new key), field `f` (or the record itself).
fn write() -> impl Strategy<Value = (usize, usize, Option<usize>, Value)> {
    (0..TABLES.len(), 0..4usize, proptest::option::of(0..FIELDS.len()), value())
}

fn put(doc: &mut automerge::AutoCommit, obj: &automerge::ObjId, key: &str, value: &Value) {
    let _ = match value {
        Value::Text(s) => doc.put(obj, key, s.as_str()),
        Value::Int(i) => doc.put(obj, key, *i),
        Value::Float(f) => doc.put(obj, key, *f),
        Value::Bool(b) => doc.put(obj, key, *b),
        Value::Null => doc.put(obj, key, ScalarValue::Null),
        Value::Bytes(b) => doc.put(obj, key, ScalarValue::Bytes(b.clone())),
        Value::Counter(c) => doc.put(obj, key, ScalarValue::counter(*c)),
        Value::Map => doc.put_object(obj, key, ObjType::Map).map(|_| ()),
        Value::List => doc.put_object(obj, key, ObjType::List).map(|_| ()),
        Value::Prose(s) => doc.put_object(obj, key, ObjType::Text).and_then(|t| doc.splice_text(&t, 0, 0, s)),
    };
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn views_exports_and_vitality_never_panic_on_a_document_of_the_wrong_shape(
        writes in proptest::collection::vec(write(), 1..24)
    ) {
        let founder = Founder { device_id: "aa".repeat(32), agreement_key: "bb".repeat(32), display_name: "Ana".into() };
        let (mut doc, _) = GroupDoc::create(&"cd".repeat(16), "Tenants", &founder, day()).unwrap();
        let meeting = doc.add_meeting(NewMeeting::new(day(), "First")).unwrap();
        fill_listening(&mut doc, &meeting);
        let raw = doc.automerge();
        for (table, record, field, value) in writes {
            let Some((automerge::Value::Object(_), table_id)) = raw.get(ROOT, TABLES[table]).unwrap() else { continue };
            let keys: Vec<String> = raw.keys(&table_id).collect();
            match field {
                None => {
                    let key = keys.get(record).cloned().unwrap_or_else(|| format!("r{record}"));
                    put(raw, &table_id, &key, &value);
                }
                Some(field) => match keys.get(record).and_then(|k| raw.get(&table_id, k.as_str()).unwrap()) {
                    Some((automerge::Value::Object(_), record_id)) => put(raw, &record_id, FIELDS[field], &value),
                    _ => put(raw, &table_id, FIELDS[field], &value),
                },
            }
        }
        let mut view = doc.view();
        let _ = sunspace_model::export::markdown(&view);
        let _ = sunspace_model::vitality::compute(&view, day());
        let _ = sunspace_model::vitality::conversations_by_member_month(&view, day());
        for (kind, id) in records(&view) {
            if let Ok(data) = doc.copy_record_out(kind, &id) {
                let _ = doc.put_record(kind, &data);
            }
        }
        let other = view.clone();
        view.absorb("0c", other);
        let _ = sunspace_model::export::markdown(&view);
        let _ = doc.relays();
        let _ = doc.name();
    }
}

/// One record of each kind of the listening step, so that hostile writes land in real records too.
fn fill_listening(doc: &mut GroupDoc, meeting: &str) {
    let ana = doc.view().members[0].id.clone();
    let person = doc.add_person(NewPerson::new("Lee", day())).unwrap();
    let notes = NewOneOnOne { with_person: Some(person), ..NewOneOnOne::new(&ana, day(), "") };
    let one = doc.add_one_on_one(notes).unwrap();
    doc.add_conversation(&ana, day(), true).unwrap();
    let story =
        NewStory { text: "Cold.".into(), told_by: None, from_one_on_one: Some(one), shared_by: ana, shared_on: day() };
    let story = doc.add_story(story).unwrap();
    let pattern =
        doc.add_pattern(NewPattern { named_at: Some(meeting.to_owned()), ..NewPattern::new("Heat", day()) }).unwrap();
    doc.link_pattern_story(&pattern, &story).unwrap();
}

fn records(view: &sunspace_model::GroupView) -> Vec<(RecordKind, String)> {
    let mut out: Vec<(RecordKind, String)> = Vec::new();
    out.extend(view.meetings.iter().map(|r| (RecordKind::Meeting, r.id.clone())));
    out.extend(view.people.iter().map(|r| (RecordKind::Person, r.id.clone())));
    out.extend(view.one_on_ones.iter().map(|r| (RecordKind::OneOnOne, r.id.clone())));
    out.extend(view.conversations.iter().map(|r| (RecordKind::Conversation, r.id.clone())));
    out.extend(view.stories.iter().map(|r| (RecordKind::Story, r.id.clone())));
    out.extend(view.patterns.iter().map(|r| (RecordKind::Pattern, r.id.clone())));
    out
}

#[test]
fn a_relay_record_that_names_no_device_is_skipped() {
    let founder = Founder { device_id: "aa".repeat(32), agreement_key: "bb".repeat(32), display_name: "Ana".into() };
    let (mut doc, _) = GroupDoc::create(&"cd".repeat(16), "Tenants", &founder, day()).unwrap();
    doc.set_relay(&"ef".repeat(32), &"aa".repeat(32), &["/ip4/127.0.0.1/tcp/4001".into()]).unwrap();
    let raw = doc.automerge();
    let group = raw.get(ROOT, "group").unwrap().unwrap().1;
    // Written by a member's modified client: `relay list` used to panic slicing these.
    raw.put(&group, "relay:ab", "cd").unwrap();
    raw.put(&group, "relay:é", "ü\n/ip4/1.2.3.4/tcp/1").unwrap();
    let relays = doc.relays();
    assert_eq!(relays.len(), 1);
    assert_eq!(relays[0].device, "ef".repeat(32));
}
