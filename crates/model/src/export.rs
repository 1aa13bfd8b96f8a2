//! Readable exports of the group's records.
//!
//! [`markdown`] writes the charter, members, roles, every meeting with its agenda, attendance, minutes and
//! decisions, and the action items, as one Markdown document for reading and printing. The JSON export is the
//! [`crate::GroupView`] serialized; the automerge export is [`crate::GroupDoc::save`].

use std::fmt::Write;

use crate::view::{short, ActionStatus, Conflict, GroupView};

fn conflicts_note(out: &mut String, view: &GroupView, conflicts: &[Conflict]) {
    for conflict in conflicts {
        let values: Vec<String> = conflict
            .values
            .iter()
            .map(|value| {
                let author = view.device_member_name(&value.author).unwrap_or_else(|| short(&value.author).to_owned());
                format!("\"{}\" ({author})", value.value)
            })
            .collect();
        let _ = writeln!(out, "> **Conflict:** {} has {} values: {}", conflict.field, values.len(), values.join(", "));
    }
}

/// The group's records as one Markdown document.
pub fn markdown(view: &GroupView) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", view.name);
    if let Some(created) = view.created {
        let _ = writeln!(out, "Founded {created}.\n");
    }
    conflicts_note(&mut out, view, &view.conflicts);

    let charter = &view.charter;
    let _ = writeln!(out, "## Charter\n");
    for (heading, text) in [
        ("Purpose", &charter.purpose),
        ("How we decide", &charter.decision_rules),
        ("Confidentiality", &charter.confidentiality),
    ] {
        if !text.trim().is_empty() {
            let _ = writeln!(out, "### {heading}\n\n{}\n", text.trim());
        }
    }
    if let Some(cadence) = &charter.cadence {
        let _ = writeln!(out, "We meet {cadence}.\n");
    }
    conflicts_note(&mut out, view, &charter.conflicts);

    let _ = writeln!(out, "## Members\n");
    for member in &view.members {
        let roles: Vec<&str> = view.roles.iter().filter(|r| r.member == member.id).map(|r| r.role.as_str()).collect();
        let _ = write!(out, "- {}", member.name);
        if !roles.is_empty() {
            let _ = write!(out, " ({})", roles.join(", "));
        }
        if member.status != crate::MemberStatus::Active {
            let _ = write!(out, " [{}]", member.status.as_str());
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out);

    let _ = writeln!(out, "## Meetings\n");
    for meeting in &view.meetings {
        let _ = writeln!(out, "### {} — {}\n", meeting.date, meeting.title);
        let mut facts = vec![format!("Type: {}", meeting.kind)];
        if let Some(place) = &meeting.place {
            facts.push(format!("Place: {place}"));
        }
        if let Some(id) = &meeting.facilitator {
            facts.push(format!("Facilitator: {}", view.member_name(id)));
        }
        if let Some(id) = &meeting.note_taker {
            facts.push(format!("Notes: {}", view.member_name(id)));
        }
        let _ = writeln!(out, "{}\n", facts.join(" · "));
        conflicts_note(&mut out, view, &meeting.conflicts);
        if !meeting.agenda.is_empty() {
            let _ = writeln!(out, "**Agenda**\n");
            for (n, item) in meeting.agenda.iter().enumerate() {
                let _ = writeln!(out, "{}. {}{}", n + 1, item.title, if item.done { " ✓" } else { "" });
            }
            let _ = writeln!(out);
        }
        if !meeting.attendance.is_empty() {
            let mut names: Vec<String> = meeting
                .attendance
                .iter()
                .map(|a| format!("{}{}", view.attendee_name(&a.who), if a.new_face { " (new)" } else { "" }))
                .collect();
            names.sort_by_key(|name| name.to_lowercase());
            let _ = writeln!(out, "**Present ({}):** {}\n", names.len(), names.join(", "));
        }
        if !meeting.minutes.trim().is_empty() {
            let _ = writeln!(out, "**Minutes**\n\n{}\n", meeting.minutes.trim());
        }
        let decisions: Vec<_> = view.decisions.iter().filter(|d| d.meeting.as_ref() == Some(&meeting.id)).collect();
        if !decisions.is_empty() {
            let _ = writeln!(out, "**Decisions**\n");
            for decision in decisions {
                let _ = writeln!(out, "- {} ({}): {}", decision.title, decision.method, decision.outcome);
            }
            let _ = writeln!(out);
        }
    }

    let _ = writeln!(out, "## Decisions\n");
    for decision in &view.decisions {
        let _ = writeln!(out, "### {} — {}\n", decision.date, decision.title);
        let _ = writeln!(out, "Method: {}", decision.method);
        if let Some(review) = decision.review_by {
            let _ = writeln!(out, "Review by: {review}");
        }
        let _ = writeln!(out, "\n{}\n", decision.outcome);
        conflicts_note(&mut out, view, &decision.conflicts);
    }

    let _ = writeln!(out, "## Action items\n");
    for action in &view.actions {
        let mut owners: Vec<String> = action.owners.iter().map(|id| view.member_name(id)).collect();
        owners.sort_by_key(|name| name.to_lowercase());
        let status = match (action.status, action.done_on) {
            (ActionStatus::Done, Some(on)) => format!("done {on}"),
            (ActionStatus::Done, None) => "done".to_owned(),
            (ActionStatus::Open, _) => "open".to_owned(),
        };
        let due = action.due.map(|d| format!(", due {d}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "- [{}] {} — {}{due} ({status})",
            if action.status == ActionStatus::Done { "x" } else { " " },
            action.title,
            if owners.is_empty() { "no owner".to_owned() } else { owners.join(", ") },
        );
    }
    out
}
