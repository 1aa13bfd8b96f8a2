//! The group's signs of life and decay, computed from its records on the device.
//!
//! Everything here is group-level: counts, averages and shares, never a ranking of people. The figures follow the
//! pattern card's "signs of life" (consistent and growing attendance, new faces who come back, rotating roles,
//! follow-through) and "signs of decay" (falling attendance, the same person always facilitating, actions left
//! undone, meetings skipped).
//!
//! Only meetings held on or before `as_of` count. [`compute`] is a pure function of the view and the date, so the
//! same records always give the same answer.
//!
//! The listening step ([`Listening`]) is counted from the content-free conversation markers, never from the notes
//! (which this device may not even hold): one-on-ones this month and over the last months, the base and how many of
//! it joined, time since the last new pattern, and whether the signs of decay have lasted long enough that the
//! pattern card says to replant. Counts per member per month exist only in
//! [`conversations_by_member_month`], which returns counts keyed by member id, never an order of people.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::view::{ActionStatus, GroupView, MeetingView};
use crate::Cadence;

/// How many recent meetings make up the "last meetings" window for the attendance trend.
pub const TREND_WINDOW: usize = 3;
/// How many recent meetings role rotation looks at: about half a year for a monthly group, long enough for a
/// healthy rotation to show, short enough that founders facilitating the first year do not count forever.
pub const ROTATION_WINDOW: usize = 6;
/// How far back the cadence check looks, in days: one year.
pub const CADENCE_WINDOW_DAYS: i64 = 365;
/// How many calendar months the conversation trend shows, this one last.
pub const CONVERSATION_MONTHS: u32 = 6;
/// How long, in months, the signs of decay must have lasted before the figures say to replant: the pattern card's
/// "if signs of decay emerge after 12–18 months", at its lower end.
pub const REPLANT_MONTHS: u32 = 12;
/// The window, in months, over which conversations now are compared with conversations a year before.
pub const QUARTER_MONTHS: u32 = 3;

/// All the figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Vitality {
    /// The date the figures are computed for.
    pub as_of: NaiveDate,
    /// Meetings held up to `as_of`.
    pub meetings_held: usize,
    /// Attendance over recent meetings.
    pub attendance: AttendanceTrend,
    /// New faces and whether they came back.
    pub new_faces: NewFaces,
    /// Rotation of facilitation over recent meetings.
    pub facilitation: Rotation,
    /// Rotation of note-taking over recent meetings.
    pub note_taking: Rotation,
    /// Follow-through on action items.
    pub actions: FollowThrough,
    /// Meetings held against the charter's cadence.
    pub cadence: CadenceCheck,
    /// The listening step: one-on-ones, the base, patterns, and whether to replant.
    #[serde(default)]
    pub listening: Listening,
    /// The share of the group's devices that were verified in person, from the signed membership
    /// ([`MembershipFacts`]); `None` when no devices were given.
    #[serde(default)]
    pub verified_in_person_share: Option<f64>,
    /// The figures in plain sentences.
    pub summary: Vec<String>,
}

/// Attendance of the last meetings against the meetings before them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AttendanceTrend {
    /// People at each of the recent meetings (up to 2 × [`TREND_WINDOW`]), oldest first.
    pub per_meeting: Vec<MeetingCount>,
    /// People at every held meeting, oldest first: attendance over time, for a chart.
    #[serde(default)]
    pub history: Vec<MeetingCount>,
    /// Average attendance over the last [`TREND_WINDOW`] meetings.
    pub recent_average: Option<f64>,
    /// Average attendance over the [`TREND_WINDOW`] meetings before those.
    pub previous_average: Option<f64>,
    /// Relative change from previous to recent, in percent.
    pub change_percent: Option<f64>,
}

/// A count at one meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MeetingCount {
    /// The meeting's id.
    pub meeting: String,
    /// Its date.
    pub date: NaiveDate,
    /// The count.
    pub count: usize,
}

/// New faces at each meeting and how many of them came to a later meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewFaces {
    /// Per held meeting with at least one new face, oldest first.
    pub per_meeting: Vec<NewFacesAtMeeting>,
    /// New faces over all held meetings.
    pub total: usize,
    /// Of those, how many attended a later meeting.
    pub came_back: usize,
    /// Average new faces per held meeting.
    pub per_meeting_average: Option<f64>,
}

/// New faces at one meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewFacesAtMeeting {
    /// The meeting's id.
    pub meeting: String,
    /// Its date.
    pub date: NaiveDate,
    /// New faces recorded.
    pub new_faces: usize,
    /// Of those, how many attended a later meeting.
    pub came_back: usize,
}

/// How a role moved between people over recent meetings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Rotation {
    /// Recent held meetings looked at.
    pub meetings: usize,
    /// Of those, meetings where someone was recorded in the role.
    pub meetings_with_role: usize,
    /// Different people who held it.
    pub distinct_people: usize,
    /// How many of those meetings the most frequent person held it.
    pub top_count: usize,
    /// `top_count / meetings_with_role`.
    pub top_share: Option<f64>,
}

/// Action items done on time, late, or not yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FollowThrough {
    /// All action items.
    pub total: usize,
    /// Done by their due date (or done and never had one).
    pub done_on_time: usize,
    /// Done after their due date.
    pub done_late: usize,
    /// Open and past their due date.
    pub overdue: usize,
    /// Open and not yet due (or with no due date).
    pub open: usize,
}

/// Meetings held in the last year against what the charter's cadence asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CadenceCheck {
    /// The cadence as the charter states it, if it does.
    pub cadence: Option<String>,
    /// Start of the window looked at (the later of a year ago and the first meeting).
    pub window_start: Option<NaiveDate>,
    /// Meetings the cadence asks for in the window.
    pub expected: Option<usize>,
    /// Meetings held in the window.
    pub held: usize,
}

/// What vitality needs to know of the group's signed membership, which the group document does not hold: the
/// caller reads it from the membership log. The default (nothing known) leaves the share out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MembershipFacts {
    /// Devices admitted and not revoked.
    pub devices: usize,
    /// Of those, devices verified in person (an inviter and the newcomer compared the code face to face).
    pub verified_in_person: usize,
}

/// The listening step, counted for the group as a whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Listening {
    /// One-on-ones (conversation markers) in the calendar month of `as_of`, up to `as_of`.
    pub conversations_this_month: usize,
    /// One-on-ones in each of the last [`CONVERSATION_MONTHS`] calendar months, oldest first, this one last.
    pub conversations_by_month: Vec<MonthCount>,
    /// One-on-ones in the last [`QUARTER_MONTHS`] months: after `as_of` less three months, up to `as_of`.
    pub conversations_last_quarter: usize,
    /// One-on-ones in the same three months a year before.
    pub conversations_quarter_a_year_before: usize,
    /// One-on-ones held with people in the base rather than members, of all held up to `as_of`.
    pub conversations_with_base: usize,
    /// People in the base, added up to `as_of`.
    pub people_in_base: usize,
    /// Of those, how many became members.
    pub became_members: usize,
    /// Patterns named up to `as_of`.
    pub patterns_named: usize,
    /// When the last new pattern was named.
    pub last_pattern_named: Option<NaiveDate>,
    /// Days from then to `as_of` (`None`: no pattern named yet).
    pub days_since_last_pattern: Option<i64>,
    /// Whether the signs of decay have lasted long enough to replant: rebuild from listening, with new one-on-ones
    /// with new people, rather than add effort to the structure. True when no new pattern was named for
    /// [`REPLANT_MONTHS`] months (counted from the group's founding when it never named one), and either fewer
    /// one-on-ones were held in the last three months than in the same three months a year before, or none at all
    /// in [`REPLANT_MONTHS`] months.
    pub replant: bool,
}

/// A count in one calendar month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MonthCount {
    /// The month, "YYYY-MM".
    pub month: String,
    /// The count.
    pub count: usize,
}

fn month_key(date: NaiveDate) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

fn months_before(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_sub_months(Months::new(months)).unwrap_or(NaiveDate::MIN)
}

/// How many one-on-ones each member held in each month, up to `as_of`: member id → months (oldest first) with a
/// count. Counts only, keyed and ordered by member id, for a member's own page or a steward checking that the
/// work is shared; never an order of people by how much they did.
pub fn conversations_by_member_month(view: &GroupView, as_of: NaiveDate) -> BTreeMap<String, Vec<MonthCount>> {
    let mut counts: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
    for conversation in view.conversations.iter().filter(|c| c.on <= as_of) {
        *counts.entry(conversation.by.as_str()).or_default().entry(month_key(conversation.on)).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(member, months)| {
            (member.to_owned(), months.into_iter().map(|(month, count)| MonthCount { month, count }).collect())
        })
        .collect()
}

fn listening(view: &GroupView, as_of: NaiveDate) -> Listening {
    let held: Vec<NaiveDate> = view.conversations.iter().map(|c| c.on).filter(|on| *on <= as_of).collect();
    let in_range = |after: NaiveDate, until: NaiveDate| held.iter().filter(|on| **on > after && **on <= until).count();
    let this_month = as_of.with_day(1).unwrap_or(as_of);
    let conversations_by_month: Vec<MonthCount> = (0..CONVERSATION_MONTHS)
        .rev()
        .map(|back| {
            let start = months_before(this_month, back);
            let key = month_key(start);
            MonthCount { count: held.iter().filter(|on| month_key(**on) == key).count(), month: key }
        })
        .collect();
    let conversations_this_month = conversations_by_month.last().map_or(0, |m| m.count);
    let conversations_last_quarter = in_range(months_before(as_of, QUARTER_MONTHS), as_of);
    let year_ago = months_before(as_of, REPLANT_MONTHS);
    let conversations_quarter_a_year_before = in_range(months_before(as_of, REPLANT_MONTHS + QUARTER_MONTHS), year_ago);

    let base: Vec<_> = view.people.iter().filter(|p| p.added <= as_of).collect();
    let named: Vec<NaiveDate> = view.patterns.iter().map(|p| p.named_on).filter(|on| *on <= as_of).collect();
    let last_pattern_named = named.iter().copied().max();

    // Since when the group has gone without a new pattern: its last one, or its founding (or, for a document that
    // does not say, its first record) if it never named one.
    let started = view.created.or_else(|| {
        let meetings = view.meetings.iter().map(|m| m.date);
        let people = view.people.iter().map(|p| p.added);
        meetings.chain(held.iter().copied()).chain(people).filter(|d| *d <= as_of).min()
    });
    let no_new_pattern_for_a_year = last_pattern_named.or(started).is_some_and(|since| since <= year_ago);
    let falling = conversations_last_quarter < conversations_quarter_a_year_before;
    let silent_year = in_range(year_ago, as_of) == 0;
    Listening {
        conversations_this_month,
        conversations_by_month,
        conversations_last_quarter,
        conversations_quarter_a_year_before,
        conversations_with_base: view.conversations.iter().filter(|c| c.on <= as_of && c.with_base).count(),
        people_in_base: base.len(),
        became_members: base.iter().filter(|p| p.became_member.is_some()).count(),
        patterns_named: named.len(),
        last_pattern_named,
        days_since_last_pattern: last_pattern_named.map(|last| (as_of - last).num_days()),
        replant: no_new_pattern_for_a_year && (falling || silent_year),
    }
}

fn average(counts: &[usize]) -> Option<f64> {
    (!counts.is_empty()).then(|| counts.iter().sum::<usize>() as f64 / counts.len() as f64)
}

fn rotation(recent: &[&MeetingView], role: impl Fn(&MeetingView) -> Option<&String>) -> Rotation {
    let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
    for meeting in recent {
        if let Some(person) = role(meeting) {
            *counts.entry(person).or_default() += 1;
        }
    }
    let meetings_with_role = counts.values().sum();
    let top_count = counts.values().copied().max().unwrap_or(0);
    Rotation {
        meetings: recent.len(),
        meetings_with_role,
        distinct_people: counts.len(),
        top_count,
        top_share: (meetings_with_role > 0).then(|| top_count as f64 / meetings_with_role as f64),
    }
}

/// Computes the figures for the group as of `as_of`, with nothing known of its signed membership.
pub fn compute(view: &GroupView, as_of: NaiveDate) -> Vitality {
    compute_with(view, as_of, MembershipFacts::default())
}

/// Computes the figures for the group as of `as_of`, with what the caller read of its signed membership.
pub fn compute_with(view: &GroupView, as_of: NaiveDate, membership: MembershipFacts) -> Vitality {
    let held: Vec<&MeetingView> = view.meetings.iter().filter(|meeting| meeting.date <= as_of).collect();

    // Attendance trend.
    let history: Vec<MeetingCount> = held
        .iter()
        .map(|meeting| MeetingCount {
            meeting: meeting.id.clone(),
            date: meeting.date,
            count: meeting.attendance.len(),
        })
        .collect();
    let per_meeting: Vec<MeetingCount> = history[history.len().saturating_sub(2 * TREND_WINDOW)..].to_vec();
    let counts: Vec<usize> = per_meeting.iter().map(|m| m.count).collect();
    let split = counts.len().saturating_sub(TREND_WINDOW);
    let recent_average = average(&counts[split..]);
    let previous_average = if split >= TREND_WINDOW { average(&counts[..split]) } else { None };
    let change_percent = match (recent_average, previous_average) {
        (Some(recent), Some(previous)) if previous > 0.0 => Some((recent - previous) / previous * 100.0),
        _ => None,
    };

    // New faces, and whether each came to any later held meeting.
    let mut faces = Vec::new();
    let (mut total, mut came_back_total) = (0, 0);
    for (index, meeting) in held.iter().enumerate() {
        let new: Vec<String> = meeting.attendance.iter().filter(|a| a.new_face).map(|a| a.who.identity()).collect();
        if new.is_empty() {
            continue;
        }
        let later: BTreeSet<String> =
            held[index + 1..].iter().flat_map(|m| m.attendance.iter().map(|a| a.who.identity())).collect();
        let came_back = new.iter().filter(|who| later.contains(*who)).count();
        total += new.len();
        came_back_total += came_back;
        faces.push(NewFacesAtMeeting {
            meeting: meeting.id.clone(),
            date: meeting.date,
            new_faces: new.len(),
            came_back,
        });
    }
    let new_faces = NewFaces {
        per_meeting: faces,
        total,
        came_back: came_back_total,
        per_meeting_average: (!held.is_empty()).then(|| total as f64 / held.len() as f64),
    };

    let recent = &held[held.len().saturating_sub(ROTATION_WINDOW)..];
    let facilitation = rotation(recent, |m| m.facilitator.as_ref());
    let note_taking = rotation(recent, |m| m.note_taker.as_ref());

    let mut actions = FollowThrough { total: view.actions.len(), done_on_time: 0, done_late: 0, overdue: 0, open: 0 };
    for action in &view.actions {
        match (action.status, action.due, action.done_on) {
            (ActionStatus::Done, Some(due), Some(done)) if done > due => actions.done_late += 1,
            (ActionStatus::Done, _, _) => actions.done_on_time += 1,
            (ActionStatus::Open, Some(due), _) if due < as_of => actions.overdue += 1,
            (ActionStatus::Open, _, _) => actions.open += 1,
        }
    }

    let cadence = cadence_check(view, &held, as_of);
    let mut vitality = Vitality {
        as_of,
        meetings_held: held.len(),
        attendance: AttendanceTrend { per_meeting, history, recent_average, previous_average, change_percent },
        new_faces,
        facilitation,
        note_taking,
        actions,
        cadence,
        listening: listening(view, as_of),
        verified_in_person_share: (membership.devices > 0)
            .then(|| membership.verified_in_person.min(membership.devices) as f64 / membership.devices as f64),
        summary: Vec::new(),
    };
    vitality.summary = summarize(&vitality, membership);
    vitality
}

fn cadence_check(view: &GroupView, held: &[&MeetingView], as_of: NaiveDate) -> CadenceCheck {
    let stated = view.charter.cadence.clone();
    let parsed = stated.as_deref().and_then(|text| text.parse::<Cadence>().ok());
    let year_ago = as_of - chrono::Duration::days(CADENCE_WINDOW_DAYS);
    let window_start = held.first().map(|first| first.date.max(year_ago));
    let held_in_window = window_start.map_or(0, |start| held.iter().filter(|m| m.date >= start).count());
    let expected = match (parsed, window_start) {
        // The first meeting itself counts, so a window of one period expects two meetings: the one at its start and
        // the one at its end.
        (Some(cadence), Some(start)) => {
            Some(((as_of - start).num_days() as f64 / cadence.period_days()).floor() as usize + 1)
        }
        _ => None,
    };
    CadenceCheck { cadence: stated, window_start, expected, held: held_in_window }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn summarize(v: &Vitality, membership: MembershipFacts) -> Vec<String> {
    let mut lines = Vec::new();
    if v.meetings_held == 0 {
        lines.push("No meetings have been held yet.".to_owned());
    } else {
        summarize_meetings(v, &mut lines);
    }
    summarize_listening(&v.listening, &mut lines);
    if membership.devices > 0 {
        lines.push(format!(
            "{} of {} were verified in person.",
            membership.verified_in_person.min(membership.devices),
            plural(membership.devices, "device", "devices")
        ));
    }
    lines
}

fn summarize_listening(l: &Listening, lines: &mut Vec<String>) {
    let recent: usize = l.conversations_by_month.iter().map(|m| m.count).sum();
    if recent > 0 || l.conversations_quarter_a_year_before > 0 {
        let months: Vec<String> = l.conversations_by_month.iter().map(|m| m.count.to_string()).collect();
        lines.push(format!(
            "{} this month; month by month over the last {CONVERSATION_MONTHS}: {}.",
            plural(l.conversations_this_month, "one-on-one", "one-on-ones"),
            months.join(", ")
        ));
    }
    if l.people_in_base > 0 {
        lines.push(format!(
            "{} in the base; {} of them became members.",
            plural(l.people_in_base, "person", "people"),
            l.became_members
        ));
    }
    match (l.last_pattern_named, l.days_since_last_pattern) {
        (Some(last), Some(days)) => lines.push(format!(
            "The last new pattern was named {} ago ({last}).",
            plural(usize::try_from(days).unwrap_or(0), "day", "days")
        )),
        _ if recent > 0 || l.people_in_base > 0 => lines.push("No pattern has been named yet.".to_owned()),
        _ => {}
    }
    if l.replant {
        lines.push(format!(
            "No new pattern in {REPLANT_MONTHS} months, and the one-on-ones have fallen off: time to replant. Pause \
             and rebuild from listening, with new one-on-ones with new people, until new patterns emerge."
        ));
    }
}

fn summarize_meetings(v: &Vitality, lines: &mut Vec<String>) {
    let a = &v.attendance;
    match (a.recent_average, a.previous_average, a.change_percent) {
        (Some(recent), Some(previous), Some(change)) => lines.push(format!(
            "Attendance {}: {recent:.1} people on average at the last {TREND_WINDOW} meetings, against {previous:.1} at the {TREND_WINDOW} before ({change:+.0}%).",
            if change >= 5.0 { "is growing" } else if change <= -5.0 { "is falling" } else { "is steady" }
        )),
        (Some(recent), _, _) => lines.push(format!(
            "{recent:.1} people on average at the last {} (too few meetings yet for a trend).",
            plural(a.per_meeting.len(), "meeting", "meetings")
        )),
        _ => {}
    }
    let f = &v.new_faces;
    if f.total == 0 {
        lines.push("No new faces have been recorded.".to_owned());
    } else {
        lines.push(format!(
            "{} came to a meeting; {} of them came back to a later one.",
            plural(f.total, "new face", "new faces"),
            f.came_back
        ));
    }
    let roles = [
        (
            "facilitator",
            "were all facilitated by the same person",
            "were facilitated by the same person",
            &v.facilitation,
        ),
        ("note-taker", "all had the same note-taker", "had the same note-taker", &v.note_taking),
    ];
    for (who, all_same, some_same, r) in roles {
        match r.meetings_with_role {
            0 => {}
            1 => lines.push(format!("Only one recent meeting records a {who}.")),
            n if r.distinct_people == 1 => {
                lines.push(format!("The last {n} meetings {all_same}: consider rotating the {who}."))
            }
            n => lines.push(format!(
                "{} of the last {n} meetings {some_same} ({} different people in all).",
                r.top_count, r.distinct_people
            )),
        }
    }
    let t = &v.actions;
    if t.total > 0 {
        lines.push(format!(
            "Action items: {} done on time, {} done late, {} overdue, {} open.",
            t.done_on_time, t.done_late, t.overdue, t.open
        ));
    }
    match (&v.cadence.cadence, v.cadence.expected) {
        (Some(cadence), Some(expected)) => lines.push(format!(
            "The charter says {cadence}: {} held in the last year, where the cadence asks for {expected}.",
            plural(v.cadence.held, "meeting", "meetings")
        )),
        (Some(cadence), None) => lines.push(format!("The charter's cadence \"{cadence}\" could not be read.")),
        (None, _) => lines.push("The charter does not say how often the group meets.".to_owned()),
    }
}

#[cfg(test)]
mod tests;
