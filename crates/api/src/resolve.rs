//! From what a person typed to a record id: pure functions of the model's view, the same for every front end.
//!
//! A member is found by the start of their id, by their whole name (ignoring case) or by the start of a name only
//! one member has; a meeting also by `last`; other records by at least four characters of their id; a group by
//! its name or id, else the default one, else the only one.
//!
//! ```
//! # use sunspace_api::resolve;
//! # let founder = sunspace_model::Founder { device_id: "aa".repeat(32), agreement_key: "bb".repeat(32), display_name: "Ana Ruiz".into() };
//! # let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
//! # let (doc, ana) = sunspace_model::GroupDoc::create(&"cd".repeat(16), "Tenants", &founder, today).unwrap();
//! let view = doc.view();
//! assert_eq!(resolve::member(&view, "ana").unwrap(), ana);
//! assert!(resolve::member(&view, "Bea").is_err());
//! ```

use sunspace_model::{Attendee, GroupView, RecordKind};
use sunspace_node::{GroupId, GroupSummary};

use crate::error::{ApiError, ErrorKind};
use crate::words;

/// The device of the group's signed membership whose id starts with `wanted`.
pub fn device(snapshot: &sunspace_node::GroupSnapshot, wanted: &str) -> Result<sunspace_crypto::DeviceId, ApiError> {
    by_prefix(snapshot.devices.keys().map(String::as_str), wanted)
        .and_then(sunspace_crypto::DeviceId::from_hex)
        .ok_or_else(|| ApiError::new(ErrorKind::NotFound, words::no_single_device(wanted)))
}

/// The group `wanted` names, else the default one (`current`), else the only one.
pub fn group(groups: &[GroupSummary], current: Option<GroupId>, wanted: Option<&str>) -> Result<GroupId, ApiError> {
    if groups.is_empty() {
        return Err(ApiError::new(ErrorKind::NotFound, words::NO_GROUPS));
    }
    // A whole id names its group, whatever another group is called: a name is a member's to write, an id is not
    // (so a group renamed to look like another's id cannot stand in for it).
    let whole_id = wanted.map(|w| w.trim().to_lowercase()).and_then(|w| groups.iter().find(|g| g.id == w));
    let found = match (whole_id, wanted) {
        (Some(group), _) => group,
        (None, Some(wanted)) => {
            let lower = wanted.trim().to_lowercase();
            let by_name: Vec<_> = groups.iter().filter(|g| g.name.to_lowercase() == lower).collect();
            let by_id: Vec<_> = groups.iter().filter(|g| lower.len() >= 4 && g.id.starts_with(&lower)).collect();
            match (by_name.as_slice(), by_id.as_slice()) {
                ([one], _) | ([], [one]) => *one,
                ([], []) => return Err(ApiError::new(ErrorKind::NotFound, words::no_group_called(wanted))),
                _ => return Err(ApiError::input(words::several_groups_match(wanted))),
            }
        }
        (None, None) => {
            let current = current.map(|c| c.to_hex());
            match groups.iter().find(|g| Some(&g.id) == current.as_ref()) {
                Some(group) => group,
                None => match groups {
                    [only] => only,
                    _ => {
                        let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
                        return Err(ApiError::input(words::choose_a_group(&names)));
                    }
                },
            }
        }
    };
    GroupId::from_hex(&found.id).ok_or_else(|| ApiError::new(ErrorKind::Storage, words::MALFORMED_GROUP_ID))
}

/// Ids of every record of `kind` in the view.
fn ids(view: &GroupView, kind: RecordKind) -> Vec<&str> {
    match kind {
        RecordKind::Member => view.members.iter().map(|m| m.id.as_str()).collect(),
        RecordKind::Role => view.roles.iter().map(|r| r.id.as_str()).collect(),
        RecordKind::Meeting => view.meetings.iter().map(|m| m.id.as_str()).collect(),
        RecordKind::Agenda => view.meetings.iter().flat_map(|m| m.agenda.iter().map(|i| i.id.as_str())).collect(),
        RecordKind::Decision => view.decisions.iter().map(|d| d.id.as_str()).collect(),
        RecordKind::Action => view.actions.iter().map(|a| a.id.as_str()).collect(),
        RecordKind::Person => view.people.iter().map(|p| p.id.as_str()).collect(),
        RecordKind::OneOnOne => view.one_on_ones.iter().map(|o| o.id.as_str()).collect(),
        RecordKind::Conversation => view.conversations.iter().map(|c| c.id.as_str()).collect(),
        RecordKind::Story => view.stories.iter().map(|s| s.id.as_str()).collect(),
        RecordKind::Pattern => view.patterns.iter().map(|p| p.id.as_str()).collect(),
        RecordKind::Group | RecordKind::Charter => Vec::new(),
    }
}

/// A record of `kind` by id prefix, or by its name (whole, ignoring case, or the start of one record's): people in
/// the base and patterns are named.
pub fn named(view: &GroupView, kind: RecordKind, wanted: &str) -> Result<String, ApiError> {
    if let Ok(id) = record(view, kind, wanted) {
        return Ok(id);
    }
    let names: Vec<(&str, &str)> = match kind {
        RecordKind::Person => view.people.iter().map(|p| (p.id.as_str(), p.name.as_str())).collect(),
        RecordKind::Pattern => view.patterns.iter().map(|p| (p.id.as_str(), p.name.as_str())).collect(),
        _ => Vec::new(),
    };
    let lower = wanted.trim().to_lowercase();
    let exact: Vec<&str> = names.iter().filter(|(_, n)| n.to_lowercase() == lower).map(|(id, _)| *id).collect();
    let starts: Vec<&str> =
        names.iter().filter(|(_, n)| n.to_lowercase().starts_with(&lower)).map(|(id, _)| *id).collect();
    match (exact.as_slice(), starts.as_slice()) {
        ([one], _) => Ok((*one).to_owned()),
        ([], [one]) if !lower.is_empty() => Ok((*one).to_owned()),
        ([_, _, ..], _) | ([], [_, _, ..]) => Err(ApiError::input(words::several_records(kind, wanted))),
        _ => Err(ApiError::new(ErrorKind::NotFound, words::no_record(kind, wanted))),
    }
}

/// Where a record is to be read: `group` (or empty) for the whole group; `only me`; or a compartment this
/// device's member is in, by name (ignoring case) or the start of its id. `Ok(None)` is the whole group.
pub fn compartment(compartments: &[sunspace_node::CompartmentView], wanted: &str) -> Result<Option<Place>, ApiError> {
    let lower = wanted.trim().to_lowercase();
    if lower.is_empty() || lower == "group" || lower == "everyone" || lower == "the whole group" {
        return Ok(None);
    }
    if lower == "only me" || lower == "only-me" || lower == "me" {
        return Ok(Some(Place::OnlyMe));
    }
    let by_name: Vec<&sunspace_node::CompartmentView> =
        compartments.iter().filter(|c| c.name.to_lowercase() == lower).collect();
    if let [one] = by_name.as_slice() {
        return Ok(Some(Place::Compartment(one.id.clone())));
    }
    if by_name.len() > 1 {
        return Err(ApiError::input(words::several_compartments_called(wanted)));
    }
    match by_prefix(compartments.iter().map(|c| c.id.as_str()), wanted) {
        Some(id) => Ok(Some(Place::Compartment(id.to_owned()))),
        None => Err(ApiError::new(ErrorKind::NotFound, words::no_compartment_called(wanted))),
    }
}

/// A place for records other than the whole group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// This device's member's "only me" (made on first use).
    OnlyMe,
    /// A compartment by id (hex).
    Compartment(String),
}

/// The record of `kind` whose id starts with `wanted` (at least four characters), or has it whole.
pub fn record(view: &GroupView, kind: RecordKind, wanted: &str) -> Result<String, ApiError> {
    let prefix = wanted.trim().to_lowercase();
    let not_found = || ApiError::new(ErrorKind::NotFound, words::no_record(kind, wanted));
    if prefix.len() < 4 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let all = ids(view, kind);
    if let Some(exact) = all.iter().find(|id| **id == prefix) {
        return Ok((*exact).to_owned());
    }
    let mut matching = all.into_iter().filter(|id| id.starts_with(&prefix));
    match (matching.next(), matching.next()) {
        (Some(id), None) => Ok(id.to_owned()),
        (Some(_), Some(_)) => Err(ApiError::input(words::several_records(kind, wanted))),
        (None, _) => Err(not_found()),
    }
}

/// A member by id prefix, whole name (ignoring case) or the start of one member's name; `None` if nobody matches.
pub fn try_member(view: &GroupView, wanted: &str) -> Result<Option<String>, ApiError> {
    if let Ok(id) = record(view, RecordKind::Member, wanted) {
        return Ok(Some(id));
    }
    let lower = wanted.trim().to_lowercase();
    let exact: Vec<&str> =
        view.members.iter().filter(|m| m.name.to_lowercase() == lower).map(|m| m.id.as_str()).collect();
    match exact.as_slice() {
        [one] => return Ok(Some((*one).to_owned())),
        [_, _, ..] => return Err(ApiError::input(words::several_members_called(wanted))),
        [] => {}
    }
    let starts: Vec<&str> =
        view.members.iter().filter(|m| m.name.to_lowercase().starts_with(&lower)).map(|m| m.id.as_str()).collect();
    match starts.as_slice() {
        [one] if !lower.is_empty() => Ok(Some((*one).to_owned())),
        [_, _, ..] => Err(ApiError::input(words::could_be_several_members(wanted))),
        _ => Ok(None),
    }
}

/// A member, or a refusal naming who was not found.
pub fn member(view: &GroupView, wanted: &str) -> Result<String, ApiError> {
    try_member(view, wanted)?.ok_or_else(|| ApiError::new(ErrorKind::NotFound, words::no_member_called(wanted)))
}

/// A member of the signed membership (one holding devices, `signed`), by what [`member`] finds in the view or
/// else by id (whole, or a prefix of at least four characters): a member whose record the view cannot read —
/// a hostile member may break their own — can still be removed or have their stewardship ended.
pub fn signed_member<'a>(
    view: &GroupView,
    signed: impl IntoIterator<Item = &'a str>,
    wanted: &str,
) -> Result<String, ApiError> {
    match member(view, wanted) {
        Ok(found) => Ok(found),
        Err(error) => {
            let signed: std::collections::BTreeSet<&str> = signed.into_iter().collect();
            by_prefix(signed, wanted).map(str::to_owned).ok_or(error)
        }
    }
}

/// A member if one matches (and `force_guest` is off), otherwise a guest by that name.
pub fn attendee(view: &GroupView, wanted: &str, force_guest: bool) -> Result<Attendee, ApiError> {
    if force_guest {
        return Ok(Attendee::Guest(wanted.trim().to_owned()));
    }
    Ok(match try_member(view, wanted)? {
        Some(id) => Attendee::Member(id),
        None => Attendee::Guest(wanted.trim().to_owned()),
    })
}

/// A meeting by id prefix, or `last` for the most recent.
pub fn meeting(view: &GroupView, wanted: &str) -> Result<String, ApiError> {
    if wanted.trim().eq_ignore_ascii_case("last") {
        return view
            .meetings
            .last()
            .map(|m| m.id.clone())
            .ok_or_else(|| ApiError::new(ErrorKind::NotFound, words::NO_MEETINGS));
    }
    record(view, RecordKind::Meeting, wanted)
}

/// Any record by id prefix, every kind searched; `group` and `charter` name those.
pub fn any(view: &GroupView, wanted: &str) -> Result<(RecordKind, String), ApiError> {
    if wanted.trim().eq_ignore_ascii_case("group") {
        return Ok((RecordKind::Group, String::new()));
    }
    if wanted.trim().eq_ignore_ascii_case("charter") {
        return Ok((RecordKind::Charter, String::new()));
    }
    let kinds = [
        RecordKind::Meeting,
        RecordKind::Decision,
        RecordKind::Action,
        RecordKind::Member,
        RecordKind::Role,
        RecordKind::Agenda,
        RecordKind::Person,
        RecordKind::OneOnOne,
        RecordKind::Story,
        RecordKind::Pattern,
    ];
    let mut found: Vec<(RecordKind, String)> =
        kinds.iter().filter_map(|kind| record(view, *kind, wanted).ok().map(|id| (*kind, id))).collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(ApiError::new(ErrorKind::NotFound, words::no_record_at_all(wanted))),
        _ => Err(ApiError::input(words::several_records_at_all(wanted))),
    }
}

/// One of `candidates` (hex ids) starting with `wanted`, at least four characters of it.
pub fn by_prefix<'a>(candidates: impl IntoIterator<Item = &'a str>, wanted: &str) -> Option<&'a str> {
    let wanted = wanted.trim().to_lowercase();
    if wanted.len() < 4 {
        return None;
    }
    let mut matching = candidates.into_iter().filter(|id| id.starts_with(&wanted));
    match (matching.next(), matching.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn view() -> (GroupView, String) {
        let founder = sunspace_model::Founder {
            device_id: "aa".repeat(32),
            agreement_key: "bb".repeat(32),
            display_name: "Ana Ruiz".into(),
        };
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default();
        let (mut doc, ana) = sunspace_model::GroupDoc::create(&"cd".repeat(16), "Tenants", &founder, today)
            .unwrap_or_else(|e| panic!("{e}"));
        for name in ["Bea Diaz", "Bea Lopez", "Cal"] {
            doc.add_local_member(name, today, None).unwrap_or_else(|e| panic!("{e}"));
        }
        (doc.view(), ana)
    }

    #[test]
    fn a_member_is_found_by_name_start_or_id_and_ambiguity_is_refused() {
        let (view, ana) = view();
        assert_eq!(member(&view, "ANA RUIZ").ok(), Some(ana.clone()));
        assert_eq!(member(&view, "an").ok(), Some(ana.clone()));
        assert_eq!(member(&view, &ana[..6]).ok(), Some(ana));
        assert!(member(&view, "bea").unwrap_err().message.contains("several members"));
        assert_eq!(member(&view, "Dee").unwrap_err().kind, ErrorKind::NotFound);
        assert_eq!(attendee(&view, "Dee", false).ok(), Some(Attendee::Guest("Dee".into())));
        assert_eq!(attendee(&view, "Cal", true).ok(), Some(Attendee::Guest("Cal".into())));
    }

    #[test]
    fn a_member_the_view_cannot_read_is_found_by_id_in_the_signed_membership() {
        let (view, ana) = view();
        let hidden = "fe".repeat(16);
        let signed = [ana.as_str(), hidden.as_str()];
        assert_eq!(signed_member(&view, signed, &hidden[..6]).ok(), Some(hidden.clone()));
        assert_eq!(signed_member(&view, signed, "ana").ok(), Some(ana.clone()));
        assert_eq!(signed_member(&view, signed, "Dee").unwrap_err().kind, ErrorKind::NotFound);
    }

    #[test]
    fn a_whole_id_names_its_group_even_if_another_is_called_by_it() {
        let a = GroupSummary { id: "ab".repeat(16), name: "Tenants".into() };
        let b = GroupSummary { id: "cd".repeat(16), name: "ab".repeat(16) };
        let both = [a.clone(), b];
        assert_eq!(group(&both, None, Some(&a.id)).ok().map(|g| g.to_hex()), Some(a.id));
    }

    #[test]
    fn the_default_group_is_the_chosen_one_else_the_only_one() {
        let a = GroupSummary { id: "ab".repeat(16), name: "Tenants".into() };
        let b = GroupSummary { id: "cd".repeat(16), name: "Night shift".into() };
        let both = [a.clone(), b.clone()];
        assert_eq!(group(&both, None, Some("night SHIFT")).ok().map(|g| g.to_hex()), Some(b.id.clone()));
        assert_eq!(group(&both, None, Some("abab")).ok().map(|g| g.to_hex()), Some(a.id.clone()));
        assert!(group(&both, None, None).unwrap_err().message.contains("several groups"));
        let current = GroupId::from_hex(&b.id);
        assert_eq!(group(&both, current, None).ok().map(|g| g.to_hex()), Some(b.id));
        assert_eq!(group(std::slice::from_ref(&a), None, None).ok().map(|g| g.to_hex()), Some(a.id));
        assert!(group(&[], None, None).unwrap_err().message.contains("no groups"));
    }
}
