//! The command line.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};
use sunspace_model::{DecisionMethod, PatternState, Stance, Warmth};

use crate::dates::parse_date;

fn date(text: &str) -> Result<NaiveDate, String> {
    parse_date(text)
}

fn method(text: &str) -> Result<DecisionMethod, String> {
    text.parse()
}

/// Sunspace keeps your organizing group's records — meetings, minutes, attendance, decisions, action items — on
/// your own devices, encrypted with your passphrase. No server holds them.
#[derive(Debug, Parser)]
#[command(name = "sunspace", version, propagate_version = true)]
pub(crate) struct Cli {
    /// Where this device keeps its data (default: your platform's data folder).
    #[arg(long, global = true, env = "SUNSPACE_HOME", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// Which group to work on: a name or the start of its id (default: the one chosen with `group use`, or the
    /// only one).
    #[arg(long, short = 'g', global = true, env = "SUNSPACE_GROUP", value_name = "GROUP")]
    pub(crate) group: Option<String>,

    /// Print machine-readable JSON instead of tables (list and show commands).
    #[arg(long, global = true)]
    pub(crate) json: bool,

    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Set up this device: create its keys and protect them with a passphrase.
    Init {
        /// Your name, as your group knows you.
        #[arg(long)]
        name: Option<String>,
    },
    /// Run this device as a peer: sync with the other member devices it can reach (keep it running). Other
    /// `sunspace` commands keep working meanwhile, through it.
    Serve(ServeOptions),
    /// Invite someone in person: shows a QR code and a typed code for their device (`sunspace serve` must run).
    Invite(InviteOptions),
    /// Join a group with the code an existing member shows you, in person (`sunspace serve` must run).
    Join {
        /// The code (typed, or the text of the QR code).
        code: String,
        /// An address of the inviting device to try, if it is not found on the local network.
        #[arg(long, value_name = "ADDRESS")]
        peer: Vec<String>,
        /// Say yes to "do the words match?" without asking (for scripts that compare them themselves).
        #[arg(long)]
        confirm: bool,
    },
    /// This device and your other devices.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Other member devices to sync with.
    #[command(subcommand)]
    Peer(PeerCommand),
    /// Member-run relays, through which members on different networks reach each other.
    #[command(subcommand)]
    Relay(RelayCommand),
    /// Peers seen per group, when each last synced, and what is still to send.
    Status,
    /// The group's safety number: read it aloud with another member; if yours match, you agree on who is in
    /// the group and on their keys.
    SafetyNumber,
    /// Create, list, show and choose groups.
    #[command(subcommand)]
    Group(GroupCommand),
    /// The group's charter: purpose, how decisions are made, how often you meet, confidentiality.
    #[command(subcommand)]
    Charter(CharterCommand),
    /// Members of the group, including people who do not use the app.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Roles held by members for a term (facilitator, note-taker, steward, …).
    #[command(subcommand)]
    Role(RoleCommand),
    /// Meetings.
    #[command(subcommand)]
    Meeting(MeetingCommand),
    /// A meeting's agenda.
    #[command(subcommand)]
    Agenda(AgendaCommand),
    /// A meeting's minutes.
    #[command(subcommand)]
    Minutes(MinutesCommand),
    /// Who came to a meeting.
    #[command(subcommand)]
    Attendance(AttendanceCommand),
    /// Decisions and how they were made.
    #[command(subcommand)]
    Decision(DecisionCommand),
    /// Action items: who does what by when.
    #[command(subcommand)]
    Action(ActionCommand),
    /// One-on-one conversations: the notes stay on your own devices.
    #[command(subcommand, name = "one-on-one")]
    OneOnOne(OneOnOneCommand),
    /// Stories shared from one-on-ones.
    #[command(subcommand)]
    Story(StoryCommand),
    /// The base: people the group talks to who are not members.
    #[command(subcommand)]
    Base(BaseCommand),
    /// Patterns the group names in the stories, and where each stands.
    #[command(subcommand)]
    Pattern(PatternCommand),
    /// Compartments: records only some members' devices can read.
    #[command(subcommand)]
    Compartment(CompartmentCommand),
    /// Move a record to a compartment, to "only me", or to the whole group ("group").
    Move {
        /// The record (the start of its id, as shown).
        record: String,
        /// Where: a compartment's name, `only me`, or `group`.
        #[arg(long)]
        to: String,
    },
    /// Settle a conflict: keep one of the values two devices wrote to the same field at the same time.
    Resolve {
        /// The record (the start of its id, as shown).
        record: String,
        /// The field with the conflict (as shown, e.g. "outcome").
        field: String,
        /// Which value to keep: its number as listed, or the value itself.
        keep: String,
    },
    /// The group's signs of life and decay, computed on this device from the records.
    Vitality {
        /// Compute as of this date instead of today.
        #[arg(long, value_parser = date)]
        as_of: Option<NaiveDate>,
    },
    /// Carry records between devices by file (a USB stick, a shared folder), when no network joins them.
    #[command(subcommand)]
    Carry(CarryCommand),
    /// Export the group's records.
    Export {
        /// markdown: readable minutes and decisions; json: every record; automerge: the raw document.
        #[arg(long, value_enum, default_value = "markdown")]
        format: ExportFormat,
        /// Write to this file instead of the terminal.
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
}

/// `sunspace carry …`
#[derive(Debug, Subcommand)]
pub(crate) enum CarryCommand {
    /// Write the records another device may lack to a file only the group's devices can open.
    Export {
        /// The file to write.
        #[arg(long, short = 'o')]
        output: PathBuf,
        /// Only for this device of the group (the start of its id, as `status` shows it): only it can open the
        /// file, and it holds only what that device lacks as far as this one knows.
        #[arg(long = "for", value_name = "DEVICE")]
        for_device: Option<String>,
    },
    /// Check the records in a file and apply them, as if they had come over the network.
    Import {
        /// The file to read.
        file: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportFormat {
    Markdown,
    Json,
    Automerge,
}

/// How `serve` runs.
#[derive(Debug, Args)]
pub(crate) struct ServeOptions {
    /// Listen on 127.0.0.1 only (not reachable from the local network).
    #[arg(long)]
    pub(crate) loopback: bool,
    /// Do not look for peers on the local network with mDNS.
    #[arg(long)]
    pub(crate) no_mdns: bool,
    /// An address to listen on (repeatable), e.g. /ip4/0.0.0.0/tcp/4001; default: every interface, any port.
    #[arg(long, value_name = "ADDRESS")]
    pub(crate) listen: Vec<String>,
    /// Run as a relay for a group's member devices (on an always-on machine, with its own data folder: the relay
    /// holds no group keys). Needs --owner.
    #[arg(long, requires = "owner")]
    pub(crate) relay: bool,
    /// The member device that runs this relay (its full id, from `sunspace device show` on that device): only it
    /// can tell the relay which devices it may serve.
    #[arg(long, value_name = "DEVICE", requires = "relay")]
    pub(crate) owner: Option<String>,
}

/// How an invitation is made.
#[derive(Debug, Args)]
pub(crate) struct InviteOptions {
    /// The newcomer is someone already in the records (added with `member add-local`): name or id.
    #[arg(long, value_name = "MEMBER")]
    pub(crate) member: Option<String>,
    /// How many minutes the code stays valid (1 to 60).
    #[arg(long, default_value_t = 10, value_name = "MINUTES")]
    pub(crate) minutes: u64,
    /// Say yes to "do the words match?" without asking (for scripts that compare them themselves).
    #[arg(long)]
    pub(crate) confirm: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RelayCommand {
    /// Let the group's devices use a relay you run (started with `sunspace serve --relay --owner <your device>`):
    /// give the addresses its `serve` printed.
    Add {
        /// The relay's addresses, each ending in /p2p/<relay>.
        #[arg(required = true)]
        addresses: Vec<String>,
    },
    /// Stop the group's devices from using a relay.
    Remove {
        /// The start of the relay's device id (see `sunspace relay list`).
        relay: String,
    },
    /// The relays the group uses.
    List,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DeviceCommand {
    /// This device's full id and owner name (give the id to a relay you run, with `serve --relay --owner`).
    Show,
    /// Link another of your own devices (a phone, a second laptop) to the group, in person, like an invitation.
    Link(InviteOptions),
    /// Revoke a device (a lost or seized phone: your own, from another of your devices; anyone's, as a steward).
    Revoke {
        /// The start of the device's id (see `sunspace member show`).
        device: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PeerCommand {
    /// Connect to a member device at an address (as printed by its `serve`), e.g. when mDNS cannot find it.
    Add {
        /// The address, ending in /p2p/<device>.
        address: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum GroupCommand {
    /// Create a group; you become its first member and steward.
    Create {
        /// The group's name.
        name: String,
        /// Your name in this group, if not the one you gave at `init`.
        #[arg(long = "as", value_name = "NAME")]
        display_name: Option<String>,
    },
    /// List the groups on this device.
    List,
    /// Show a group: members, meetings, decisions, open actions.
    Show,
    /// Make a group the one commands work on by default.
    Use {
        /// A name or the start of the group's id.
        group: String,
    },
    /// Rename the group.
    Rename {
        /// The new name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum CharterCommand {
    /// Show the charter.
    Show,
    /// Edit the charter; with no options, opens it in your editor ($EDITOR).
    Edit {
        /// Why the group exists.
        #[arg(long)]
        purpose: Option<String>,
        /// How the group makes decisions.
        #[arg(long)]
        decision_rules: Option<String>,
        /// How often the group meets: weekly, every 2 weeks, monthly, quarterly, …
        #[arg(long)]
        cadence: Option<String>,
        /// What members promise about what is said in the group.
        #[arg(long)]
        confidentiality: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum MemberCommand {
    /// Add someone who does not use the app (yet), so attendance and roles can name them.
    AddLocal {
        /// Their name.
        name: String,
        /// The member who brought them in.
        #[arg(long)]
        sponsor: Option<String>,
        /// When they joined (default today).
        #[arg(long, value_parser = date)]
        joined: Option<NaiveDate>,
    },
    /// List members.
    List,
    /// Show a member, their roles and attendance.
    Show {
        /// A name or the start of the member's id.
        member: String,
    },
    /// Change a member's name.
    Rename {
        /// A name or the start of the member's id.
        member: String,
        /// The new name.
        name: String,
    },
    /// Remove a member from the group (stewards): their devices get nothing written from now on, and the group
    /// key changes. Says plainly what they could already read.
    Remove {
        /// A name or the start of the member's id.
        member: String,
        /// Why, in a few words (kept in the signed record the group sees).
        #[arg(long)]
        reason: String,
    },
    /// Make a member a steward (stewards admit and remove members), or end it with --end. This is the group's
    /// signed authority, apart from the informal roles of `sunspace role`; a group can have several stewards.
    Steward {
        /// A name or the start of the member's id.
        member: String,
        /// End their stewardship instead.
        #[arg(long)]
        end: bool,
    },
    /// Change a member's standing.
    Status {
        /// A name or the start of the member's id.
        member: String,
        /// active, inactive or left.
        #[arg(value_enum)]
        status: StatusArg,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StatusArg {
    Active,
    Inactive,
    Left,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RoleCommand {
    /// Give a member a role for a term.
    Grant {
        /// A name or the start of the member's id.
        member: String,
        /// The role: facilitator, note-taker, steward, treasurer, …
        role: String,
        /// Start of the term (default today).
        #[arg(long, value_parser = date)]
        from: Option<NaiveDate>,
        /// End of the term.
        #[arg(long, value_parser = date)]
        until: Option<NaiveDate>,
    },
    /// List roles (current ones unless --all).
    List {
        /// Include terms that have ended or not started.
        #[arg(long)]
        all: bool,
    },
    /// End a role's term.
    End {
        /// The start of the grant's id, as shown by `role list`.
        grant: String,
        /// Last day of the term (default today).
        #[arg(long, value_parser = date)]
        on: Option<NaiveDate>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct MeetingFields {
    /// When (YYYY-MM-DD, today, tomorrow).
    #[arg(long, value_parser = date)]
    pub(crate) date: Option<NaiveDate>,
    /// The meeting's title.
    #[arg(long)]
    pub(crate) title: Option<String>,
    /// The meeting's type: regular, special, planning, action, …
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) kind: Option<String>,
    /// Where.
    #[arg(long)]
    pub(crate) place: Option<String>,
    /// Who facilitates (a member's name or id).
    #[arg(long)]
    pub(crate) facilitator: Option<String>,
    /// Who takes notes (a member's name or id).
    #[arg(long)]
    pub(crate) note_taker: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum MeetingCommand {
    /// Add a meeting.
    Add {
        #[command(flatten)]
        fields: MeetingFields,
        /// Who may read it: `group` (default), or a compartment you are in; its minutes, decisions and action
        /// items go there with it.
        #[arg(long)]
        readers: Option<String>,
    },
    /// List meetings by date.
    List,
    /// Show a meeting: agenda, attendance, minutes, decisions, actions.
    Show {
        /// The start of the meeting's id, or `last` for the most recent.
        meeting: String,
    },
    /// Change a meeting's details.
    Edit {
        /// The start of the meeting's id, or `last`.
        meeting: String,
        #[command(flatten)]
        fields: MeetingFields,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AgendaCommand {
    /// Add an item to a meeting's agenda.
    Add {
        /// The start of the meeting's id, or `last`.
        meeting: String,
        /// The item.
        title: String,
        /// Who brings it.
        #[arg(long)]
        owner: Option<String>,
    },
    /// Mark an agenda item as covered.
    Done {
        /// The start of the item's id, as shown by `meeting show`.
        item: String,
        /// Mark it as not covered instead.
        #[arg(long)]
        undo: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum MinutesCommand {
    /// Print a meeting's minutes.
    Show {
        /// The start of the meeting's id, or `last`.
        meeting: String,
    },
    /// Edit a meeting's minutes in your editor ($EDITOR).
    Edit {
        /// The start of the meeting's id, or `last`.
        meeting: String,
    },
    /// Replace a meeting's minutes with a file's text (`-` reads standard input).
    Set {
        /// The start of the meeting's id, or `last`.
        meeting: String,
        /// The file.
        #[arg(long)]
        file: PathBuf,
    },
    /// Add text at the end of a meeting's minutes.
    Append {
        /// The start of the meeting's id, or `last`.
        meeting: String,
        /// The text.
        text: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AttendanceCommand {
    /// Record that someone came: a member (name or id) or a guest.
    Add {
        /// The start of the meeting's id, or `last`.
        meeting: String,
        /// A member's name or id; anyone else is recorded as a guest.
        who: String,
        /// This was their first time.
        #[arg(long)]
        new_face: bool,
        /// Record as a guest even if a member has this name.
        #[arg(long)]
        guest: bool,
    },
    /// Remove someone from a meeting's attendance (a correction).
    Remove {
        /// The start of the meeting's id, or `last`.
        meeting: String,
        /// A member's name or id, or a guest's name.
        who: String,
    },
    /// List who came to a meeting.
    List {
        /// The start of the meeting's id, or `last`.
        meeting: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum DecisionCommand {
    /// Record a decision.
    Add {
        /// What was decided, in a line.
        title: String,
        /// How: consent, consensus, majority, supermajority or advice.
        #[arg(long, value_parser = method)]
        method: DecisionMethod,
        /// The outcome: what was agreed, the count, objections.
        #[arg(long)]
        outcome: String,
        /// When (default: the meeting's date, or today).
        #[arg(long, value_parser = date)]
        date: Option<NaiveDate>,
        /// When the group should look at it again.
        #[arg(long, value_parser = date)]
        review_by: Option<NaiveDate>,
        /// The meeting where it was made (start of its id, or `last`).
        #[arg(long)]
        meeting: Option<String>,
    },
    /// List decisions.
    List,
    /// Show a decision and its action items.
    Show {
        /// The start of the decision's id.
        decision: String,
    },
    /// Who changed a decision, when, and from what (each change is bound to the device that signed it).
    History {
        /// The start of the decision's id.
        decision: String,
    },
    /// Change a decision.
    Edit {
        /// The start of the decision's id.
        decision: String,
        /// New title.
        #[arg(long)]
        title: Option<String>,
        /// New method.
        #[arg(long, value_parser = method)]
        method: Option<DecisionMethod>,
        /// New outcome.
        #[arg(long)]
        outcome: Option<String>,
        /// New date.
        #[arg(long, value_parser = date)]
        date: Option<NaiveDate>,
        /// New review date.
        #[arg(long, value_parser = date)]
        review_by: Option<NaiveDate>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ActionCommand {
    /// Add an action item.
    Add {
        /// What is to be done.
        title: String,
        /// Who does it (repeat for several people).
        #[arg(long = "owner")]
        owners: Vec<String>,
        /// By when.
        #[arg(long, value_parser = date)]
        due: Option<NaiveDate>,
        /// The decision it follows from (start of its id).
        #[arg(long)]
        decision: Option<String>,
        /// The meeting where it was agreed (start of its id, or `last`).
        #[arg(long)]
        meeting: Option<String>,
    },
    /// Mark an action item done.
    Done {
        /// The start of the item's id.
        action: String,
        /// When it was done (default today).
        #[arg(long, value_parser = date)]
        on: Option<NaiveDate>,
        /// Mark it open again instead.
        #[arg(long)]
        undo: bool,
    },
    /// List action items.
    List {
        /// Only those past their due date and not done.
        #[arg(long)]
        overdue: bool,
        /// Only those not done.
        #[arg(long)]
        open: bool,
        /// Judge "overdue" as of this date instead of today.
        #[arg(long, value_parser = date)]
        as_of: Option<NaiveDate>,
    },
    /// Change an action item.
    Edit {
        /// The start of the item's id.
        action: String,
        /// New title.
        #[arg(long)]
        title: Option<String>,
        /// New due date.
        #[arg(long, value_parser = date)]
        due: Option<NaiveDate>,
        /// Add an owner (repeatable).
        #[arg(long = "add-owner")]
        add_owners: Vec<String>,
        /// Remove an owner (repeatable).
        #[arg(long = "remove-owner")]
        remove_owners: Vec<String>,
    },
}

// ---- listening: one-on-ones, stories, the base, patterns, compartments ----

#[derive(Debug, Subcommand)]
pub(crate) enum OneOnOneCommand {
    /// Record a one-on-one conversation. Its notes stay on your own devices ("only me"); the group sees only
    /// that a conversation happened.
    Add {
        /// With whom: a member or someone in the base (by name), or anyone else.
        #[arg(long)]
        with: String,
        /// When (default today).
        #[arg(long, value_parser = date)]
        on: Option<NaiveDate>,
        /// Where.
        #[arg(long)]
        place: Option<String>,
        /// What keeps them up at night.
        #[arg(long, default_value = "")]
        worries: String,
        /// What they wish were different.
        #[arg(long, default_value = "")]
        wish: String,
        /// Who else shares it.
        #[arg(long, default_value = "")]
        shared_with: String,
        /// How warm the relationship is: cold, warming, warm or close.
        #[arg(long)]
        warmth: Option<Warmth>,
        /// The next step you agreed.
        #[arg(long)]
        next_step: Option<String>,
        /// When.
        #[arg(long, value_parser = date)]
        next_step_on: Option<NaiveDate>,
    },
    /// Your one-on-ones (only this member's devices hold them).
    List,
}

#[derive(Debug, Subcommand)]
pub(crate) enum StoryCommand {
    /// Share a passage from a one-on-one as a story.
    Share {
        /// The passage.
        text: String,
        /// How to name the teller ("someone on the night shift"); leave out for nobody.
        #[arg(long)]
        told_by: Option<String>,
        /// The one-on-one it comes from (the start of its id).
        #[arg(long)]
        from: Option<String>,
        /// Who may read it: `group` (default), or a compartment you are in.
        #[arg(long)]
        readers: Option<String>,
    },
    /// The stories this device can read.
    List,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BaseCommand {
    /// Add someone the group is talking to who is not a member.
    Add {
        /// Their name.
        name: String,
        /// Where they work or live in the institution.
        #[arg(long)]
        place: Option<String>,
        /// Who holds the relationship (default you).
        #[arg(long)]
        holder: Option<String>,
        /// Their stance: unknown, supportive, undecided or opposed.
        #[arg(long)]
        stance: Option<Stance>,
        /// Who may read it: `group` (default), or a compartment you are in.
        #[arg(long)]
        readers: Option<String>,
    },
    /// Change what the base records about someone.
    Edit {
        /// Their name or the start of the id.
        person: String,
        /// New stance.
        #[arg(long)]
        stance: Option<Stance>,
        /// New place.
        #[arg(long)]
        place: Option<String>,
        /// Who holds the relationship now.
        #[arg(long)]
        holder: Option<String>,
        /// They joined: the member they became.
        #[arg(long)]
        became_member: Option<String>,
    },
    /// The base.
    List,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PatternCommand {
    /// Name a pattern the group hears in the stories.
    Name {
        /// Its name: "scheduling makes us invisible".
        name: String,
        /// What the group means by it.
        #[arg(long, default_value = "")]
        description: String,
        /// The meeting where it was named (start of its id, or `last`).
        #[arg(long)]
        meeting: Option<String>,
        /// A story it comes from (repeatable).
        #[arg(long = "story")]
        stories: Vec<String>,
        /// How many conversations surfaced it.
        #[arg(long, default_value_t = 0)]
        conversations: u32,
    },
    /// Move a pattern along, or link stories and meetings to it.
    Edit {
        /// Its name or the start of its id.
        pattern: String,
        /// Where it stands: named, researching, demand, won or retired.
        #[arg(long)]
        state: Option<PatternState>,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New description.
        #[arg(long)]
        description: Option<String>,
        /// How many conversations surfaced it.
        #[arg(long)]
        conversations: Option<u32>,
        /// A story to link (repeatable).
        #[arg(long = "story")]
        stories: Vec<String>,
        /// A meeting that discussed it (repeatable).
        #[arg(long = "meeting")]
        meetings: Vec<String>,
    },
    /// The group's patterns.
    List,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CompartmentCommand {
    /// Create a compartment: records only its members' devices can read (you are always in it).
    Create {
        /// What the group calls it (the group sees the name; a secret one belongs inside).
        name: String,
        /// A member in it (repeatable).
        #[arg(long = "member")]
        members: Vec<String>,
    },
    /// Add a member to a compartment: they can read what was placed there before.
    Add {
        /// The compartment.
        compartment: String,
        /// The member.
        member: String,
    },
    /// Take a member out of a compartment: its key changes; they read nothing written there afterwards.
    Remove {
        /// The compartment.
        compartment: String,
        /// The member.
        member: String,
    },
    /// The compartments you are in, who can read each, and their safety numbers.
    List,
}
