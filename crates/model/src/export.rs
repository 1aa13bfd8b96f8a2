//! Readable exports of the group's records.
//!
//! [`markdown`] writes the charter, members, roles, every meeting with its agenda, attendance, minutes and
//! decisions, the action items, and the listening step's records in the view (the base, one-on-ones, stories and
//! patterns, with the number of conversations held), as one Markdown document for reading and printing. The JSON
//! export is the [`crate::GroupView`] serialized; the automerge export is [`crate::GroupDoc::save`].
//!
//! An export is plaintext, and a merged view ([`crate::GroupView::absorb`]) may hold records of compartments that
//! not every member can read: so every record of the listening step says who can read it where it is kept
//! ("Readable by: the whole group", or the compartment), and so does any other record kept in a compartment.
//! [`markdown_with`] names compartments as the caller does ("only me", "the base team"); [`markdown`] by their id.

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

/// The "Readable by" line of a record: the whole group, or the compartment that holds it, named by `label`.
fn readable_by(view: &GroupView, id: &str, label: &dyn Fn(&str) -> String) -> String {
    match view.compartment_of(id) {
        Some(compartment) => format!("Readable by: {}", label(compartment)),
        None => "Readable by: the whole group".to_owned(),
    }
}

/// The "Readable by" line of a record kept in a compartment, nothing for one in the group's document: for the
/// kinds of record an export has always shown without the line.
fn readable_if_compartment(out: &mut String, view: &GroupView, id: &str, label: &dyn Fn(&str) -> String) {
    if view.compartment_of(id).is_some() {
        let _ = writeln!(out, "{}\n", readable_by(view, id, label));
    }
}

/// The group's records as one Markdown document, compartments named by their hex id ("compartment 3fa2…").
pub fn markdown(view: &GroupView) -> String {
    markdown_with(view, &|compartment| format!("compartment {compartment}"))
}

/// The group's records as one Markdown document, `compartment_label` naming a compartment (given its hex id, as in
/// [`GroupView::placement`]) in each record's "Readable by" line, e.g. "only me" or "the research team".
pub fn markdown_with(view: &GroupView, compartment_label: &dyn Fn(&str) -> String) -> String {
    let label = compartment_label;
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
        readable_if_compartment(&mut out, view, &meeting.id, label);
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
        readable_if_compartment(&mut out, view, &decision.id, label);
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
        if view.compartment_of(&action.id).is_some() {
            let _ = writeln!(out, "  {}", readable_by(view, &action.id, label));
        }
    }
    listening(&mut out, view, label);
    out
}

/// Starts a section: one blank line after whatever came before, one after the heading.
fn section(out: &mut String, heading: &str) {
    while out.ends_with("\n\n") {
        out.pop();
    }
    let _ = write!(out, "\n## {heading}\n\n");
}

/// The listening step's records: each section only when the view has such records, so a group that does not use
/// them exports as before.
fn listening(out: &mut String, view: &GroupView, label: &dyn Fn(&str) -> String) {
    if !view.conversations.is_empty() {
        // Markers carry no content and no names: the export says how many, as the group sees them.
        let with_base = view.conversations.iter().filter(|c| c.with_base).count();
        section(out, "One-on-one conversations");
        let _ = writeln!(out, "{} held ({with_base} with people in the base).", view.conversations.len());
    }

    if !view.people.is_empty() {
        section(out, "The base");
        for person in &view.people {
            let mut facts = vec![format!("stance: {}", person.stance)];
            if let Some(place) = &person.place {
                facts.insert(0, place.clone());
            }
            if let Some(holder) = &person.holder {
                facts.push(format!("relationship held by {}", view.member_name(holder)));
            }
            if let Some(member) = &person.became_member {
                facts.push(format!("became a member: {}", view.member_name(member)));
            }
            facts.push(format!("added {}", person.added));
            let _ = writeln!(out, "- **{}** — {}", person.name, facts.join(" · "));
            let _ = writeln!(out, "  {}", readable_by(view, &person.id, label));
        }
    }

    if !view.one_on_ones.is_empty() {
        section(out, "One-on-ones");
        for one in &view.one_on_ones {
            let with = match (&one.with_member, &one.with_person) {
                (Some(member), _) => view.member_name(member),
                (None, Some(person)) => view.person_name(person),
                (None, None) => one.with_name.clone(),
            };
            let _ = writeln!(out, "### {} — with {with}\n", one.on);
            let mut facts = vec![format!("Held by: {}", view.member_name(&one.by))];
            if let Some(place) = &one.place {
                facts.push(format!("Place: {place}"));
            }
            facts.push(format!("Warmth: {}", one.warmth));
            let _ = writeln!(out, "{}\n", facts.join(" · "));
            let _ = writeln!(out, "{}\n", readable_by(view, &one.id, label));
            conflicts_note(out, view, &one.conflicts);
            for (question, answer) in [
                ("What keeps them up at night", &one.keeps_up_at_night),
                ("What they wish was different", &one.wish_different),
                ("Who else shares it", &one.others_who_share),
            ] {
                if !answer.trim().is_empty() {
                    let _ = writeln!(out, "**{question}**\n\n{}\n", answer.trim());
                }
            }
            if let Some(step) = &one.next_step {
                let by = one.next_step_on.map(|d| format!(" (by {d})")).unwrap_or_default();
                let _ = writeln!(out, "**Next step:** {step}{by}\n");
            }
        }
    }

    if !view.stories.is_empty() {
        section(out, "Stories");
        for story in &view.stories {
            let teller = story.told_by.as_deref().unwrap_or("someone");
            let _ = writeln!(
                out,
                "### {} — told by {teller}\n\nShared by {}.\n",
                story.shared_on,
                view.member_name(&story.shared_by)
            );
            let _ = writeln!(out, "{}\n", readable_by(view, &story.id, label));
            conflicts_note(out, view, &story.conflicts);
            let quoted: Vec<String> = story.text.trim().lines().map(|line| format!("> {line}")).collect();
            let _ = writeln!(out, "{}\n", quoted.join("\n"));
        }
    }

    if !view.patterns.is_empty() {
        section(out, "Patterns");
        for pattern in &view.patterns {
            let _ = writeln!(out, "### {} ({})\n", pattern.name, pattern.state);
            let mut facts = vec![format!("Named {}", pattern.named_on)];
            if let Some(meeting) = pattern.named_at.as_deref().and_then(|id| view.meeting(id)) {
                facts.push(format!("at {} — {}", meeting.date, meeting.title));
            }
            facts.push(format!("surfaced in {} conversations", pattern.conversations));
            let _ = writeln!(out, "{}\n", facts.join(" · "));
            let _ = writeln!(out, "{}\n", readable_by(view, &pattern.id, label));
            conflicts_note(out, view, &pattern.conflicts);
            if !pattern.description.trim().is_empty() {
                let _ = writeln!(out, "{}\n", pattern.description.trim());
            }
            // Stories this view cannot read (kept in a compartment this device is not in) are counted, not shown.
            let readable: Vec<_> = pattern.stories.iter().filter_map(|id| view.story(id)).collect();
            let hidden = pattern.stories.len() - readable.len();
            if !pattern.stories.is_empty() {
                let _ = writeln!(out, "**Stories ({}):**\n", pattern.stories.len());
                for story in readable {
                    let first = story.text.trim().lines().next().unwrap_or_default();
                    let _ = writeln!(out, "- {} — {first}", story.shared_on);
                }
                if hidden > 0 {
                    let _ = writeln!(out, "- and {hidden} kept where this export cannot read them");
                }
                let _ = writeln!(out);
            }
            let meetings: Vec<String> = pattern
                .meetings
                .iter()
                .filter_map(|id| view.meeting(id))
                .map(|m| format!("{} — {}", m.date, m.title))
                .collect();
            if !meetings.is_empty() {
                let _ = writeln!(out, "**Discussed at:** {}\n", meetings.join("; "));
            }
        }
    }
}

#[cfg(test)]
mod tests;
