//! Every sentence the application tells a person, in one place: the outcomes of requests, the refusals of
//! resolution, sync status and the steps of an invitation. Front ends print or show these; they do not write
//! their own. (The command line adds only hints about its own commands: "Next: `sunspace …`".)

use sunspace_model::view::short;
use sunspace_model::RecordKind;

// ---- The device ----

/// Locked.
pub const UNLOCK_FIRST: &str = "Unlock this device first";
/// No device yet.
pub const NOT_SET_UP: &str = "This device is not set up yet";
/// A second set-up.
pub const ALREADY_SET_UP: &str = "This device is already set up: unlock it instead";
/// A wrong passphrase.
pub const WRONG_PASSPHRASE: &str = "That passphrase does not open this device. Nothing was changed";
/// Data of another version.
pub const OTHER_VERSION: &str =
    "This device's data was written by a different version of Sunspace; open it with that version";
/// A group id that is not here.
pub const GROUP_NOT_HERE: &str = "That group is not on this device";
/// Removed or revoked.
pub const NO_LONGER_A_MEMBER: &str = "This device is no longer a member device of the group";
/// The engine task ended.
pub const ENGINE_STOPPED: &str = "Sunspace's engine has stopped; restart the app";
/// Stored data that does not read.
pub const DAMAGED: &str = "Some stored data on this device is damaged and could not be read; nothing was changed";
/// The store is held by another process.
pub const ALREADY_OPEN: &str =
    "Sunspace is already open on this device (another window, or the command line's serve): close it first";

/// Set-up without a name.
pub const NAME_NEEDED: &str = "Your name cannot be empty";
/// A task that did not finish (the app closing meanwhile).
pub const INTERRUPTED: &str = "That was interrupted before it finished; nothing was changed";
/// The device's state behind a poisoned lock.
pub const STATE_LOST: &str = "The device's state was lost; restart Sunspace";
/// A change the device did not make.
pub const NOT_MADE: &str = "That could not be made; nothing was changed";

/// The device answered a request with something else (a defect, worded plainly).
pub fn out_of_turn(what: &str) -> String {
    format!("The device answered out of turn ({what}); please report it")
}

/// An export that could not be saved.
pub fn export_not_saved(error: &impl std::fmt::Display) -> String {
    format!("Could not save the export: {error}")
}

/// A short passphrase.
pub fn passphrase_too_short(min: usize) -> String {
    format!("The passphrase is too short: use at least {min} characters")
}

/// The network refused.
pub fn network_failed(reason: &str) -> String {
    format!("The network could not do it: {reason}")
}

/// The store refused.
pub fn storage_failed(error: &impl std::fmt::Display) -> String {
    format!("The device's storage failed: {error}")
}

// ---- Finding what was named ----

/// No group at all.
pub const NO_GROUPS: &str = "There are no groups on this device yet: create one first.";
/// No meeting for `last`.
pub const NO_MEETINGS: &str = "There are no meetings yet: add one first.";
/// A stored group id that does not parse.
pub const MALFORMED_GROUP_ID: &str = "A group's id on this device is malformed.";

/// No group has that name or id.
pub fn no_group_called(wanted: &str) -> String {
    format!("There is no group called \"{wanted}\" on this device.")
}

/// Several groups match.
pub fn several_groups_match(wanted: &str) -> String {
    format!("\"{wanted}\" matches more than one group: use more of the group's id.")
}

/// Several groups and none chosen.
pub fn choose_a_group(names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!("This device holds several groups ({}): choose one.", names.join(", "))
}

/// No record of `kind` has that id.
pub fn no_record(kind: RecordKind, wanted: &str) -> String {
    format!("There is no {} with id {}.", kind.noun(), wanted.trim())
}

/// Several records of `kind` match.
pub fn several_records(kind: RecordKind, wanted: &str) -> String {
    format!("\"{}\" matches more than one {}: give more characters of the id.", wanted.trim(), kind.noun())
}

/// No record of any kind matches.
pub fn no_record_at_all(wanted: &str) -> String {
    format!("No record has an id starting with \"{}\".", wanted.trim())
}

/// Records of several kinds match.
pub fn several_records_at_all(wanted: &str) -> String {
    format!("\"{}\" matches several records: give more of the id.", wanted.trim())
}

/// No member by that name or id.
pub fn no_member_called(wanted: &str) -> String {
    format!("There is no member called \"{wanted}\".")
}

/// Two members share the name.
pub fn several_members_called(wanted: &str) -> String {
    format!("Several members are called \"{wanted}\": use the start of their id.")
}

/// The start of several names.
pub fn could_be_several_members(wanted: &str) -> String {
    format!("\"{wanted}\" could be several members: write more of the name.")
}

/// A date that does not parse.
pub fn not_a_date(what: &str, text: &str) -> String {
    format!("The {what} \"{text}\" is not a date (year-month-day).")
}

/// An edit with nothing in it.
pub fn nothing_to_change(what: &str) -> String {
    format!("Nothing to change: give the {what}'s new values.")
}

/// A device id prefix that names no single device.
pub fn no_single_device(wanted: &str) -> String {
    format!("No single device in the group has an id starting with \"{}\".", wanted.trim())
}

/// A device, by its member's name where known: "Bea's device 1a2b3c4d".
pub fn device_of(member_name: Option<&str>, device: &str) -> String {
    let short = device.get(..8).unwrap_or(device);
    match member_name.filter(|n| !n.is_empty()) {
        Some(name) => format!("{name}'s device {short}"),
        None => format!("device {short}"),
    }
}

/// A records file was made.
pub fn carry_written(entries: usize, for_device: Option<&str>) -> String {
    let what = match entries {
        0 => "No entries".to_owned(),
        1 => "1 entry".to_owned(),
        n => format!("{n} entries"),
    };
    match for_device {
        Some(device) => format!(
            "{what} saved for {device}. Only that device can open the file: carry it there and load it \
             (\"Load records from a file\", or `sunspace carry import`)."
        ),
        None => format!(
            "{what} saved. Only the group's current devices can open the file: carry it to one and load it there \
             (\"Load records from a file\", or `sunspace carry import`)."
        ),
    }
}

/// What a records file brought.
pub fn carried(receipt: &sunspace_node::CarryReceipt) -> String {
    let mut parts = Vec::new();
    match receipt.applied {
        0 => {}
        1 => parts.push("1 new entry applied".to_owned()),
        n => parts.push(format!("{n} new entries applied")),
    }
    if receipt.already_held > 0 {
        parts.push(format!("{} already here", receipt.already_held));
    }
    if receipt.waiting > 0 {
        parts.push(format!("{} wait for earlier entries this device does not have yet", receipt.waiting));
    }
    if !receipt.refused.is_empty() {
        parts.push(format!(
            "{} refused and not kept (the first: {})",
            receipt.refused.len(),
            receipt.refused.first().map(String::as_str).unwrap_or_default()
        ));
    }
    let from = format!("From {} (\"{}\")", receipt.writer_name, receipt.group_name);
    if receipt.applied == 0 && receipt.waiting == 0 && receipt.refused.is_empty() {
        format!("{from}: nothing new; everything in this file is already here.")
    } else {
        format!("{from}: {}.", parts.join(", "))
    }
}

/// A relay id prefix that names no single relay.
pub fn no_single_relay(wanted: &str) -> String {
    format!("No single relay has an id starting with \"{}\".", wanted.trim())
}

/// A removal without a reason.
pub const REASON_NEEDED: &str = "Give a reason: the group keeps it in the signed record.";

/// Someone not on the attendance.
pub fn not_in_attendance(name: &str) -> String {
    format!("{name} is not in that meeting's attendance.")
}

/// Conflict settling.
pub fn no_conflict(field: &str, kind: RecordKind) -> String {
    format!("The {} of this {} has no conflict to settle.", field.replace('_', "-"), kind.noun())
}

/// A conflict value number out of range.
pub fn no_value_number(n: u32, count: usize) -> String {
    format!("There is no value number {n}: choose 1 to {count}.")
}

/// Minutes typed on a version that cannot be named.
pub const UNKNOWN_VERSION: &str = "The minutes were typed on a version this window cannot name; reload the meeting.";

/// Requests that need the engine, made without it.
pub const NEEDS_THE_ENGINE: &str =
    "This needs Sunspace running as a peer on this device (the app, or `sunspace serve`).";

// ---- Outcomes ----

/// A group was created.
pub fn group_created(name: &str, id: &str) -> String {
    format!("Created the group \"{name}\" ({}). You are its first member and steward.", short(id))
}

/// A group became the default.
pub fn group_chosen(name: &str) -> String {
    format!("Commands now work on \"{name}\".")
}

/// The group was renamed.
pub fn group_renamed(name: &str) -> String {
    format!("The group is now called \"{name}\".")
}

/// The charter was saved.
pub const CHARTER_SAVED: &str = "Charter saved.";

/// A member without the app was added.
pub fn local_member_added(name: &str, id: &str) -> String {
    format!("Added {} ({}) as a member recorded by the group.", name.trim(), short(id))
}

/// A member was renamed.
pub fn member_renamed(name: &str) -> String {
    format!("Renamed to {}.", name.trim())
}

/// A member's standing changed.
pub fn member_status(name: &str, status: &str) -> String {
    format!("{name} is now {status}.")
}

/// What a removed member (or revoked device) could already read.
pub fn could_already_read(name: &str) -> String {
    format!(
        "What {name} could already read: everything the group recorded up to now — the charter, the member list, \
         every meeting's minutes and attendance, every decision and action item. Assume they have it, and act on it \
         as a group."
    )
}

/// A member was removed.
pub fn removed(name: &str, devices: usize) -> String {
    let devices = if devices == 1 { "1 device".to_owned() } else { format!("{devices} devices") };
    format!(
        "Removed {name} from the group ({devices}). The group key was changed and given only to the remaining \
         devices: nothing written from now on can be read by them, and anything their devices write from now on is \
         refused.\n\n{}\n\nOther devices learn of the removal when they next sync; compare the safety number with \
         another member to check that you agree.",
        could_already_read(name)
    )
}

/// What the person reads before removing a member.
pub fn removal_warning(name: &str) -> String {
    format!(
        "{name} keeps everything they could already read: every record up to now. After removal the group key \
         changes, and nothing written afterwards can be read on their devices."
    )
}

/// What the person reads before revoking a device.
pub const REVOCATION_WARNING: &str = "This device keeps everything it could already read: every record up to now. \
                                      After revoking, the group key changes and nothing written afterwards can be \
                                      read on it. Use this for a lost, stolen or seized device.";

/// What a revoked device could already read.
pub const DEVICE_COULD_ALREADY_READ: &str = "What it could already read: everything in the group up to now.";

/// A device was revoked.
pub fn revoked(device: &str, cutoff: u64) -> String {
    format!(
        "Device {} was revoked. The group key was changed and given only to the remaining devices: nothing written \
         from now on can be read with that device.\n{DEVICE_COULD_ALREADY_READ} Its own entries up to #{cutoff} are \
         kept; anything it writes from now on is refused.",
        short(device)
    )
}

/// A stewardship changed.
pub fn steward(name: &str, steward: bool) -> String {
    if steward {
        format!(
            "{name} is now a steward: they can admit and remove members. The change is signed and reaches every \
             device when it syncs."
        )
    } else {
        format!("{name} is no longer a steward. The change is signed and reaches every device when it syncs.")
    }
}

/// A role was granted.
pub fn role_granted(name: &str, role: &str, until: Option<chrono::NaiveDate>, grant: &str) -> String {
    let term = until.map(|u| format!(" until {u}")).unwrap_or_default();
    format!("{name} is {}{term} ({}).", role.trim().to_lowercase(), short(grant))
}

/// A role's term ends.
pub fn role_ends(on: chrono::NaiveDate) -> String {
    format!("The term ends on {on}.")
}

/// A meeting was added.
pub fn meeting_added(date: chrono::NaiveDate, id: &str) -> String {
    format!("Added the meeting on {date} ({}).", short(id))
}

/// A meeting was changed.
pub const MEETING_UPDATED: &str = "Meeting updated.";

/// An agenda item was added.
pub fn agenda_added(id: &str) -> String {
    format!("Added to the agenda ({}).", short(id))
}

/// An agenda item was marked.
pub fn agenda_done(done: bool) -> &'static str {
    if done {
        "Marked as covered."
    } else {
        "Marked as not covered."
    }
}

/// Minutes were saved.
pub const MINUTES_SAVED: &str = "Minutes saved.";
/// Minutes were added to.
pub const MINUTES_APPENDED: &str = "Added to the minutes.";

/// Someone's attendance was recorded.
pub fn attended(name: &str, new_face: bool, as_guest: bool) -> String {
    let face = if new_face { " (a new face)" } else { "" };
    let note = if as_guest { " No member has that name, so they are recorded as a guest." } else { "" };
    format!("{name} was there{face}.{note}")
}

/// Someone was taken off the attendance.
pub fn attendance_removed(name: &str) -> String {
    format!("Removed {name} from the attendance.")
}

/// A decision was recorded.
pub fn decision_recorded(id: &str) -> String {
    format!("Decision recorded ({}).", short(id))
}

/// A decision was changed.
pub const DECISION_UPDATED: &str = "Decision updated.";

/// An action item was added.
pub fn action_added(id: &str) -> String {
    format!("Action item added ({}).", short(id))
}

/// An action item was marked.
pub fn action_done(done: bool) -> &'static str {
    if done {
        "Marked done. Well done."
    } else {
        "Marked open again."
    }
}

/// An action item was changed.
pub const ACTION_UPDATED: &str = "Action item updated.";

/// A conflict was settled.
pub fn kept(value: &str, field: &str) -> String {
    format!("Kept \"{value}\" for the {}.", field.replace('_', "-"))
}

/// A relay was listed.
pub fn relay_added(relay: &str) -> String {
    format!(
        "The group's devices will use relay {} once they have synced with the group; this device keeps its list of \
         member devices up to date while it runs as a peer.\nThe relay cannot read anything: it learns which devices \
         are members and sees when they talk and how much, never what.",
        short(relay)
    )
}

/// A relay was taken off the list.
pub fn relay_removed(relay: &str) -> String {
    format!("The group's devices will stop using relay {}.", short(relay))
}

/// A relay address that is not one.
pub fn relay_address_problem(text: &str, problem: RelayAddressProblem) -> String {
    match problem {
        RelayAddressProblem::NotAnAddress => format!("\"{text}\" is not an address."),
        RelayAddressProblem::ThroughAnotherRelay => {
            format!("\"{text}\" goes through another relay; give the relay's own address.")
        }
        RelayAddressProblem::NoDevice => {
            format!("\"{text}\" needs a /p2p/ part naming the relay (copy it from the relay's own output).")
        }
        RelayAddressProblem::SeveralDevices => {
            "These addresses name different devices; add one relay at a time.".to_owned()
        }
        RelayAddressProblem::MemberDevice => "That is a member device, not a relay: a relay runs with its own data \
                                               folder and holds no group keys."
            .to_owned(),
        RelayAddressProblem::None => "Give the relay's address.".to_owned(),
    }
}

/// What is wrong with relay addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayAddressProblem {
    /// It does not parse.
    NotAnAddress,
    /// A circuit address.
    ThroughAnotherRelay,
    /// No `/p2p/` part.
    NoDevice,
    /// Addresses of different devices.
    SeveralDevices,
    /// A member's device.
    MemberDevice,
    /// No address given.
    None,
}

/// Connecting to a peer by address.
pub const CONNECTING: &str = "Connecting; the sync status shows when it is synced.";

// ---- Sync ----

/// A peer device's sync state, in words.
pub fn peer_state(connected: bool, to_send: Option<u64>) -> String {
    match (connected, to_send) {
        (_, Some(0)) => "up to date".into(),
        (_, Some(1)) => "1 change to send".into(),
        (_, Some(n)) => format!("{n} changes to send"),
        (true, None) => "comparing".into(),
        (false, None) => "not in reach since Sunspace started on this device".into(),
    }
}

/// How a member device is reached, in words: the path now, or when it was last reached.
pub fn peer_reach(peer: &sunspace_node::status::PeerStatus) -> String {
    use sunspace_node::reach::Path;
    let when = |t: Option<&str>| {
        t.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Local).format("%-d %b %Y, %H:%M").to_string())
    };
    let network = match (peer.connected, peer.path, when(peer.last_reached.as_deref())) {
        (true, Some(Path::Lan), _) => "in reach on this network".to_owned(),
        (true, Some(Path::Direct), _) => "in reach directly, across networks".to_owned(),
        (true, Some(Path::Relay), _) => "in reach through the group's relay".to_owned(),
        (true, None, _) => "in reach".to_owned(),
        (false, _, Some(last)) => format!("not in reach; last reached {last}, and tried again by itself"),
        (false, _, None) => "not in reach; this device has not reached it yet".to_owned(),
    };
    match when(peer.last_carried.as_deref()) {
        Some(carried) => format!("{network}; its records last came by file {carried}"),
        None => network,
    }
}

/// The sync summary: nobody else yet, nobody in reach, up to date with some, or sharing.
pub fn sync_summary(peers: usize, in_reach: &[&str], all_up_to_date: bool) -> String {
    if peers == 0 {
        "No other device is in the group yet. Invite someone in person to share the records.".to_owned()
    } else if in_reach.is_empty() {
        "No other member device is in reach. Everything is saved here and will be shared when you meet.".to_owned()
    } else if all_up_to_date {
        format!("Up to date with {}.", in_reach.join(", "))
    } else {
        format!("Sharing changes with {}.", in_reach.join(", "))
    }
}

/// A new device receiving the history.
pub fn receiving(held: u64, total: u64) -> String {
    format!("Receiving the group's records: {held} of {total}.")
}

// ---- Invitations ----

/// Who is on the other side of an invitation.
pub fn inviting_device(name: &str) -> String {
    format!("{name}'s device")
}

/// Who is inviting, on the joining side.
pub fn invited_by(inviter: &str, group: &str) -> String {
    format!("{inviter}'s device, inviting you to \"{group}\"")
}

/// The inviter's side once the newcomer is admitted.
pub const THEY_ARE_IN: &str = "They are in: the records are on their way to them.";

/// The joining side once admitted.
pub fn you_are_in(group: &str) -> String {
    format!("You are in \"{group}\".")
}

/// An invitation or join that ended.
pub const INVITATION_ENDED: &str = "That invitation has ended.";

// ---- listening and compartments ----

/// What "only me" is called: the compartment holding one member's own notes.
pub const ONLY_ME: &str = "Only me";
/// Who reads a record of the group's own document.
pub const WHOLE_GROUP: &str = "the whole group";
/// Who reads a record in this member's "only me".
pub const ONLY_YOU: &str = "only you (your own devices)";
/// A request about a compartment that named none.
pub const NAME_A_COMPARTMENT: &str = "Name a compartment you are in (its name or the start of its id).";
/// This device's owner is not a member of the group by its signed membership.
pub const NOT_A_MEMBER_HERE: &str = "This device is not a member of that group.";
/// Someone in the base was updated.
pub const PERSON_UPDATED: &str = "Updated.";
/// A pattern was updated.
pub const PATTERN_UPDATED: &str = "Pattern updated.";

/// No compartment has that name.
pub fn no_compartment_called(wanted: &str) -> String {
    format!("You are in no compartment called \"{}\".", wanted.trim())
}

/// Several compartments have that name.
pub fn several_compartments_called(wanted: &str) -> String {
    format!("More than one compartment is called \"{}\": give the start of its id.", wanted.trim())
}

/// A one-on-one was recorded.
pub fn one_on_one_recorded(id: &str) -> String {
    format!(
        "One-on-one recorded ({}). Its notes are readable only on your own devices; the group sees only that a \
         conversation happened.",
        short(id)
    )
}

/// A story was shared.
pub fn story_shared(id: &str) -> String {
    format!("Story shared ({}).", short(id))
}

/// Someone was added to the base.
pub fn person_added(id: &str) -> String {
    format!("Added to the base ({}).", short(id))
}

/// A pattern was named.
pub fn pattern_named(id: &str) -> String {
    format!("Pattern named ({}).", short(id))
}

/// A compartment was created, with who reads it.
pub fn compartment_created(name: &str, members: &[String]) -> String {
    format!("{name} created. Only the devices of {} can read what is placed in it.", list(members))
}

/// Someone was added to a compartment.
pub fn added_to_compartment(person: &str, compartment: &str) -> String {
    format!("{person} is in {compartment} now, and can read what was placed there before.")
}

/// Someone was taken out of a compartment.
pub fn taken_out_of_compartment(person: &str, compartment: &str) -> String {
    format!(
        "{person} is out of {compartment}. It gets a new key before anything more is written there: {person} \
         reads nothing written there from now on (what they read before, they may still remember)."
    )
}

/// A record of a kind that cannot move.
pub fn cannot_move(kind: RecordKind) -> String {
    format!("A {} stays where it is: who is in the group is the group's to read.", kind.noun())
}

/// A record was moved.
pub fn record_moved(kind: RecordKind, readers: &str) -> String {
    format!(
        "The {} is readable by {readers} from now on. Whoever could read it before may have kept what they read.",
        kind.noun()
    )
}

/// "Who can read this", for a record placed in compartment `hex` (as the export's "Readable by" line).
pub fn readers_label(snapshot: &sunspace_node::GroupSnapshot, hex: &str) -> String {
    match snapshot.compartments.iter().find(|c| c.id == hex) {
        Some(c) if c.members.len() == 1 && c.name == ONLY_ME => ONLY_YOU.to_owned(),
        Some(c) if c.members.len() == 1 => format!("{} (only you)", c.name),
        Some(c) => format!("{} ({})", c.name, list(&c.member_names)),
        None => snapshot.all_compartments.get(hex).cloned().unwrap_or_else(|| "a compartment".to_owned()),
    }
}

fn list(names: &[String]) -> String {
    match names {
        [] => "nobody".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_reads_as_sentences() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default();
        let id = "0123456789abcdef0123456789abcdef";
        let samples = [
            group_created("Tenants", id),
            removed("Cal", 2),
            revoked(id, 7),
            steward("Bea", true),
            steward("Bea", false),
            role_granted("Bea", "Facilitator", Some(day), id),
            meeting_added(day, id),
            attended("Dee", true, true),
            sync_summary(2, &["Ana"], true),
            sync_summary(0, &[], false),
            relay_added(id),
            no_member_called("Dee"),
            choose_a_group(&["A", "B"]),
        ];
        for sentence in samples {
            assert!(sentence.chars().next().is_some_and(|c| c.is_uppercase()), "{sentence}");
            assert!(sentence.ends_with('.'), "{sentence}");
            assert!(!sentence.contains("sunspace ") && !sentence.contains("--"), "{sentence}");
        }
        assert!(removed("Cal", 1).contains("What Cal could already read: everything"));
    }
}
