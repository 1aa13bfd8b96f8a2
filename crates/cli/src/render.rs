//! Output for people: tables, dates, plain sentences. (`--json` output is the view types serialized.)

use comfy_table::{presets, ContentArrangement, Table};
use sunspace_model::view::{short, ActionView, Conflict, DecisionView, GroupView, MeetingView};
use sunspace_model::ActionStatus;

/// A table with a header row and no heavy borders.
/// The first eight characters of an id, for display. Ids can come from the group's records, which any member can
/// write, so this never slices past the end or inside a character.
pub(crate) fn prefix(id: &str) -> &str {
    id.char_indices().nth(8).map_or(id, |(end, _)| &id[..end])
}

pub(crate) fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table.load_preset(presets::UTF8_HORIZONTAL_ONLY).set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(headers.iter().copied());
    for row in rows {
        table.add_row(row);
    }
    table.to_string()
}

/// Fields whose values are member ids, shown as names in conflicts.
const MEMBER_FIELDS: [&str; 5] = ["facilitator", "note_taker", "owner", "member", "sponsor"];

fn conflict_value(view: &GroupView, field: &str, value: &str) -> String {
    if value.is_empty() {
        "(cleared)".to_owned()
    } else if MEMBER_FIELDS.contains(&field) {
        view.member_name(value)
    } else {
        format!("\"{value}\"")
    }
}

/// Lines that show each conflict, the values, who wrote them, and how to settle it.
pub(crate) fn conflicts(view: &GroupView, record: &str, conflicts: &[Conflict]) -> Vec<String> {
    let mut lines = Vec::new();
    for conflict in conflicts {
        lines.push(format!(
            "! {}: {} conflicting values (two devices changed it at the same time):",
            conflict.field.replace('_', "-"),
            conflict.values.len()
        ));
        for (n, value) in conflict.values.iter().enumerate() {
            let author = match view.device_member_name(&value.author) {
                Some(name) => format!("{name}'s device {}", short(&value.author)),
                None => format!("device {}", short(&value.author)),
            };
            lines.push(format!(
                "    ({}) {}  — written by {author}",
                n + 1,
                conflict_value(view, &conflict.field, &value.value)
            ));
        }
        lines.push(format!("  keep one with: sunspace resolve {record} {} <number>", conflict.field));
    }
    lines
}

fn opt<T: ToString>(value: &Option<T>) -> String {
    value.as_ref().map_or_else(|| "—".to_owned(), ToString::to_string)
}

fn member_opt(view: &GroupView, id: &Option<String>) -> String {
    id.as_ref().map_or_else(|| "—".to_owned(), |id| view.member_name(id))
}

pub(crate) fn meetings_table(view: &GroupView) -> String {
    if view.meetings.is_empty() {
        return "No meetings yet. Add one with `sunspace meeting add --title \"…\"`.".to_owned();
    }
    let rows = view
        .meetings
        .iter()
        .map(|m| {
            vec![
                short(&m.id).to_owned(),
                m.date.to_string(),
                flag_conflicts(&m.title, !m.conflicts.is_empty()),
                m.kind.clone(),
                member_opt(view, &m.facilitator),
                m.attendance.len().to_string(),
            ]
        })
        .collect();
    table(&["id", "date", "title", "type", "facilitator", "present"], rows)
}

fn flag_conflicts(text: &str, conflicted: bool) -> String {
    if conflicted {
        format!("{text} (!)")
    } else {
        text.to_owned()
    }
}

pub(crate) fn meeting(view: &GroupView, meeting: &MeetingView) -> String {
    let mut out = vec![format!("{} — {} ({})", meeting.title, meeting.date, meeting.kind)];
    out.push(format!("  id           {}", short(&meeting.id)));
    out.push(format!("  place        {}", opt(&meeting.place)));
    out.push(format!("  facilitator  {}", member_opt(view, &meeting.facilitator)));
    out.push(format!("  note-taker   {}", member_opt(view, &meeting.note_taker)));
    out.extend(conflicts(view, short(&meeting.id), &meeting.conflicts));
    out.push(String::new());
    out.push(format!("Agenda ({})", meeting.agenda.len()));
    for (n, item) in meeting.agenda.iter().enumerate() {
        let owner = item.owner.as_ref().map(|o| format!(" — {}", view.member_name(o))).unwrap_or_default();
        let done = if item.done { " [covered]" } else { "" };
        out.push(format!("  {}. {}{owner}{done}  ({})", n + 1, item.title, short(&item.id)));
        out.extend(conflicts(view, short(&item.id), &item.conflicts).into_iter().map(|l| format!("  {l}")));
    }
    out.push(String::new());
    out.push(format!("Attendance ({})", meeting.attendance.len()));
    let mut attendance: Vec<_> = meeting.attendance.iter().collect();
    attendance.sort_by_key(|a| view.attendee_name(&a.who).to_lowercase());
    for attendee in attendance {
        let new = if attendee.new_face { " — new face" } else { "" };
        out.push(format!("  {}{new}", view.attendee_name(&attendee.who)));
    }
    out.push(String::new());
    out.push("Minutes".to_owned());
    if meeting.minutes.trim().is_empty() {
        out.push("  (none yet)".to_owned());
    } else {
        out.extend(meeting.minutes.lines().map(|line| format!("  {line}")));
    }
    let decisions: Vec<&DecisionView> =
        view.decisions.iter().filter(|d| d.meeting.as_deref() == Some(meeting.id.as_str())).collect();
    if !decisions.is_empty() {
        out.push(String::new());
        out.push(format!("Decisions ({})", decisions.len()));
        for d in decisions {
            out.push(format!("  {} ({}, {}): {}  ({})", d.title, d.method, d.date, d.outcome, short(&d.id)));
            out.extend(conflicts(view, short(&d.id), &d.conflicts).into_iter().map(|l| format!("  {l}")));
        }
    }
    let actions: Vec<&ActionView> =
        view.actions.iter().filter(|a| a.meeting.as_deref() == Some(meeting.id.as_str())).collect();
    if !actions.is_empty() {
        out.push(String::new());
        out.push(format!("Action items ({})", actions.len()));
        for a in actions {
            out.push(format!("  {}", action_line(view, a)));
        }
    }
    out.join("\n")
}

/// Owners' names in alphabetical order (ids are random, so their order means nothing to people).
fn owner_names(view: &GroupView, owners: &[String]) -> Vec<String> {
    let mut names: Vec<String> = owners.iter().map(|o| view.member_name(o)).collect();
    names.sort_by_key(|name| name.to_lowercase());
    names
}

pub(crate) fn action_line(view: &GroupView, action: &ActionView) -> String {
    let owners = owner_names(view, &action.owners);
    let status = match (action.status, action.done_on) {
        (ActionStatus::Done, Some(on)) => format!("done {on}"),
        (ActionStatus::Done, None) => "done".to_owned(),
        (ActionStatus::Open, _) => "open".to_owned(),
    };
    format!(
        "{} — {} — due {} — {status}  ({})",
        action.title,
        if owners.is_empty() { "no owner".to_owned() } else { owners.join(", ") },
        opt(&action.due),
        short(&action.id)
    )
}

pub(crate) fn actions_table(view: &GroupView, actions: &[&ActionView], today: chrono::NaiveDate) -> String {
    let rows = actions
        .iter()
        .map(|a| {
            let owners = owner_names(view, &a.owners);
            let status = match (a.status, a.done_on) {
                (ActionStatus::Done, Some(on)) => format!("done {on}"),
                (ActionStatus::Done, None) => "done".to_owned(),
                (ActionStatus::Open, _) if a.is_overdue(today) => "OVERDUE".to_owned(),
                (ActionStatus::Open, _) => "open".to_owned(),
            };
            vec![
                short(&a.id).to_owned(),
                flag_conflicts(&a.title, !a.conflicts.is_empty()),
                if owners.is_empty() { "—".to_owned() } else { owners.join(", ") },
                opt(&a.due),
                status,
            ]
        })
        .collect();
    table(&["id", "action", "owners", "due", "status"], rows)
}

pub(crate) fn decisions_table(view: &GroupView) -> String {
    if view.decisions.is_empty() {
        return "No decisions recorded yet.".to_owned();
    }
    let rows = view
        .decisions
        .iter()
        .map(|d| {
            vec![
                short(&d.id).to_owned(),
                d.date.to_string(),
                flag_conflicts(&d.title, !d.conflicts.is_empty()),
                d.method.to_string(),
                d.outcome.clone(),
                opt(&d.review_by),
            ]
        })
        .collect();
    table(&["id", "date", "decision", "method", "outcome", "review by"], rows)
}

pub(crate) fn decision(view: &GroupView, d: &DecisionView) -> String {
    let mut out = vec![format!("{} — {}", d.title, d.date)];
    out.push(format!("  id         {}", short(&d.id)));
    out.push(format!("  method     {}", d.method));
    out.push(format!("  outcome    {}", d.outcome));
    out.push(format!("  review by  {}", opt(&d.review_by)));
    if let Some(meeting) = d.meeting.as_ref().and_then(|m| view.meeting(m)) {
        out.push(format!("  meeting    {} — {} ({})", meeting.title, meeting.date, short(&meeting.id)));
    }
    out.extend(conflicts(view, short(&d.id), &d.conflicts));
    let actions: Vec<&ActionView> =
        view.actions.iter().filter(|a| a.decision.as_deref() == Some(d.id.as_str())).collect();
    if !actions.is_empty() {
        out.push(String::new());
        out.push("Action items".to_owned());
        out.extend(actions.iter().map(|a| format!("  {}", action_line(view, a))));
    }
    out.join("\n")
}

pub(crate) fn members_table(view: &GroupView, today: chrono::NaiveDate) -> String {
    let rows = view
        .members
        .iter()
        .map(|m| {
            let roles: Vec<String> =
                view.current_roles(today).filter(|r| r.member == m.id).map(|r| r.role.clone()).collect();
            vec![
                short(&m.id).to_owned(),
                flag_conflicts(&m.name, !m.conflicts.is_empty()),
                m.status.as_str().to_owned(),
                if m.kind == "app" { "uses the app".to_owned() } else { "recorded by others".to_owned() },
                opt(&m.joined),
                if roles.is_empty() { "—".to_owned() } else { roles.join(", ") },
            ]
        })
        .collect();
    table(&["id", "name", "status", "", "joined", "roles"], rows)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::NaiveDate;
    use sunspace_model::{DecisionMethod, DecisionPatch, Founder, GroupDoc, NewDecision};

    use super::*;

    /// Two devices set a decision's outcome at the same time; the merged document is what any member would hold.
    fn conflicted() -> (GroupView, String) {
        let day = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let founder =
            Founder { device_id: "aa".repeat(32), agreement_key: "bb".repeat(32), display_name: "Ana".into() };
        let (mut laptop, _) = GroupDoc::create(&"cc".repeat(16), "Tenants", &founder, day).unwrap();
        let id = laptop
            .add_decision(NewDecision {
                title: "Rent strike".into(),
                method: DecisionMethod::Majority,
                outcome: "pending".into(),
                date: day,
                review_by: None,
                meeting: None,
            })
            .unwrap();
        laptop.commit(0);
        let mut phone = GroupDoc::load(&laptop.save()).unwrap();
        phone.set_author(&"dd".repeat(32)).unwrap();
        laptop
            .update_decision(&id, DecisionPatch { outcome: Some("Passed 9 to 2".into()), ..Default::default() })
            .unwrap();
        phone
            .update_decision(&id, DecisionPatch { outcome: Some("Passed 9 to 3".into()), ..Default::default() })
            .unwrap();
        laptop.commit(0);
        phone.commit(0);
        laptop.automerge().merge(phone.automerge()).unwrap();
        (laptop.view(), id)
    }

    #[test]
    fn a_conflicting_field_is_shown_with_every_value_its_author_and_how_to_settle_it() {
        let (view, id) = conflicted();
        let decision = view.decisions.iter().find(|d| d.id == id).unwrap();
        let shown = super::decision(&view, decision);
        assert!(shown.contains("! outcome: 2 conflicting values"), "{shown}");
        assert!(shown.contains("\"Passed 9 to 2\"  — written by Ana's device aaaaaaaa"), "{shown}");
        assert!(shown.contains("\"Passed 9 to 3\"  — written by device dddddddd"), "{shown}");
        assert!(shown.contains(&format!("keep one with: sunspace resolve {} outcome <number>", short(&id))), "{shown}");
        assert!(decisions_table(&view).contains("Rent strike (!)"), "the list flags the conflict");
    }
}
