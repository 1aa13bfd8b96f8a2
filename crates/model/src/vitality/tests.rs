//! Vitality on hand-built histories whose answers are worked out by hand in each test.

use chrono::NaiveDate;

use super::*;
use crate::{Attendee, Cadence, CharterPatch, Founder, GroupDoc, NewAction, NewMeeting, RecordId};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

struct History {
    doc: GroupDoc,
    people: Vec<RecordId>,
}

/// A group with `n` local members besides the founder.
fn history(n: usize) -> History {
    let founder = Founder { device_id: "a1".repeat(32), agreement_key: "b2".repeat(32), display_name: "Ana".into() };
    let (mut doc, ana) = GroupDoc::create(&"c3".repeat(16), "Tenants", &founder, date(2025, 1, 1)).unwrap();
    let mut people = vec![ana];
    for i in 0..n {
        people.push(doc.add_local_member(&format!("Member {i}"), date(2025, 1, 1), None).unwrap());
    }
    History { doc, people }
}

impl History {
    /// A meeting on `day` attended by the first `present` people, facilitated by person `facilitator`.
    fn meeting(
        &mut self,
        day: NaiveDate,
        present: usize,
        facilitator: Option<usize>,
        note_taker: Option<usize>,
    ) -> RecordId {
        let mut meeting = NewMeeting::new(day, "Monthly meeting");
        meeting.facilitator = facilitator.map(|i| self.people[i].clone());
        meeting.note_taker = note_taker.map(|i| self.people[i].clone());
        let id = self.doc.add_meeting(meeting).unwrap();
        for person in &self.people[..present] {
            self.doc.add_attendance(&id, Attendee::Member(person.clone()), false).unwrap();
        }
        id
    }
}

#[test]
fn attendance_trend_compares_the_last_three_meetings_with_the_three_before() {
    let mut h = history(12);
    // Attendance 10, 10, 10, then 8, 7, 6: previous average 10, recent 7, change -30%.
    for (month, present) in [(1, 10), (2, 10), (3, 10), (4, 8), (5, 7), (6, 6)] {
        h.meeting(date(2025, month, 5), present, None, None);
    }
    let v = compute(&h.doc.view(), date(2025, 6, 30));
    assert_eq!(v.meetings_held, 6);
    assert_eq!(v.attendance.recent_average, Some(7.0));
    assert_eq!(v.attendance.previous_average, Some(10.0));
    assert!((v.attendance.change_percent.unwrap() + 30.0).abs() < 1e-9);
    assert!(v.summary[0].contains("is falling"), "{:?}", v.summary);
}

#[test]
fn meetings_after_the_as_of_date_do_not_count() {
    let mut h = history(5);
    h.meeting(date(2025, 1, 5), 3, None, None);
    h.meeting(date(2025, 2, 5), 5, None, None);
    let v = compute(&h.doc.view(), date(2025, 1, 31));
    assert_eq!(v.meetings_held, 1);
    assert_eq!(v.attendance.recent_average, Some(3.0));
    assert_eq!(v.attendance.previous_average, None, "too few meetings for a trend");
}

#[test]
fn new_faces_who_came_back_are_counted() {
    let mut h = history(2);
    let first = h.meeting(date(2025, 1, 5), 1, None, None);
    h.doc.add_attendance(&first, Attendee::Guest("Rosa".into()), true).unwrap();
    h.doc.add_attendance(&first, Attendee::Guest("Lee".into()), true).unwrap();
    let second = h.meeting(date(2025, 2, 5), 1, None, None);
    // Rosa returns (name written differently); Lee does not; Kim is new at the second meeting.
    h.doc.add_attendance(&second, Attendee::Guest("rosa".into()), false).unwrap();
    h.doc.add_attendance(&second, Attendee::Guest("Kim".into()), true).unwrap();
    let v = compute(&h.doc.view(), date(2025, 3, 1));
    assert_eq!(v.new_faces.total, 3);
    assert_eq!(v.new_faces.came_back, 1);
    assert_eq!(v.new_faces.per_meeting.len(), 2);
    assert_eq!((v.new_faces.per_meeting[0].new_faces, v.new_faces.per_meeting[0].came_back), (2, 1));
    assert_eq!((v.new_faces.per_meeting[1].new_faces, v.new_faces.per_meeting[1].came_back), (1, 0));
    assert_eq!(v.new_faces.per_meeting_average, Some(1.5));
}

#[test]
fn rotation_counts_distinct_people_and_the_top_share_over_the_last_six_meetings() {
    let mut h = history(4);
    // Eight meetings; only the last six count. Facilitators in those six: 1, 1, 1, 2, 1, 3 → 3 people, top 4/6.
    // Note-takers in those six: 2 every time → one person, 6/6.
    for (i, facilitator) in [0, 0, 1, 1, 1, 2, 1, 3].into_iter().enumerate() {
        h.meeting(date(2025, i as u32 + 1, 5), 3, Some(facilitator), Some(2));
    }
    let v = compute(&h.doc.view(), date(2025, 12, 31));
    assert_eq!(v.facilitation.meetings, 6);
    assert_eq!(v.facilitation.distinct_people, 3);
    assert_eq!(v.facilitation.top_count, 4);
    assert!((v.facilitation.top_share.unwrap() - 4.0 / 6.0).abs() < 1e-9);
    assert_eq!(v.note_taking.distinct_people, 1);
    assert_eq!(v.note_taking.top_share, Some(1.0));
    assert!(
        v.summary.iter().any(|s| s.contains("4 of the last 6 meetings were facilitated by the same person")),
        "{:?}",
        v.summary
    );
    assert!(v.summary.iter().any(|s| s.contains("The last 6 meetings all had the same note-taker")), "{:?}", v.summary);
}

#[test]
fn action_follow_through_sorts_items_into_on_time_late_overdue_and_open() {
    let mut h = history(1);
    let owner = vec![h.people[0].clone()];
    let mut add = |title: &str, due: Option<NaiveDate>, done: Option<NaiveDate>| {
        let id = h
            .doc
            .add_action(NewAction { title: title.into(), owners: owner.clone(), due, decision: None, meeting: None })
            .unwrap();
        if done.is_some() {
            h.doc.set_action_done(&id, done).unwrap();
        }
    };
    add("on time", Some(date(2025, 3, 10)), Some(date(2025, 3, 9)));
    add("on the day", Some(date(2025, 3, 10)), Some(date(2025, 3, 10)));
    add("late", Some(date(2025, 3, 10)), Some(date(2025, 3, 12)));
    add("done, no due date", None, Some(date(2025, 3, 1)));
    add("overdue", Some(date(2025, 3, 31)), None);
    add("due today is not overdue", Some(date(2025, 4, 1)), None);
    add("no due date", None, None);
    let v = compute(&h.doc.view(), date(2025, 4, 1));
    assert_eq!(v.actions, FollowThrough { total: 7, done_on_time: 3, done_late: 1, overdue: 1, open: 2 });
}

#[test]
fn meetings_held_are_compared_with_the_charter_cadence_over_the_last_year() {
    let mut h = history(2);
    h.doc.edit_charter(&CharterPatch { cadence: Some(Cadence::Months(1)), ..Default::default() }).unwrap();
    // A meeting in 2024 (outside the window), then meetings in Jan, Feb, Apr, Jul 2025; as of 2025-07-31 the window
    // starts 2024-07-31, a year before. That is 365 days / 30.44 = 11.99 → 11 whole months, plus the meeting at the
    // start: 12 expected; 4 held in the window.
    h.meeting(date(2024, 6, 1), 2, None, None);
    for (m, d) in [(1, 10), (2, 10), (4, 10), (7, 10)] {
        h.meeting(date(2025, m, d), 2, None, None);
    }
    let v = compute(&h.doc.view(), date(2025, 7, 31));
    assert_eq!(v.cadence.cadence.as_deref(), Some("monthly"));
    assert_eq!(v.cadence.window_start, Some(date(2024, 7, 31)));
    assert_eq!(v.cadence.held, 4);
    assert_eq!(v.cadence.expected, Some(12));
}

#[test]
fn a_young_group_is_measured_from_its_first_meeting() {
    let mut h = history(2);
    h.doc.edit_charter(&CharterPatch { cadence: Some(Cadence::Weeks(2)), ..Default::default() }).unwrap();
    // First meeting 2025-03-01, as of 2025-03-29: 28 days = 2 fortnights → 3 meetings expected (1, 15, 29).
    h.meeting(date(2025, 3, 1), 2, None, None);
    h.meeting(date(2025, 3, 15), 2, None, None);
    let v = compute(&h.doc.view(), date(2025, 3, 29));
    assert_eq!(v.cadence.expected, Some(3));
    assert_eq!(v.cadence.held, 2);
}

#[test]
fn a_group_with_no_meetings_says_so() {
    let h = history(0);
    let v = compute(&h.doc.view(), date(2025, 1, 1));
    assert_eq!(v.meetings_held, 0);
    assert_eq!(v.summary, vec!["No meetings have been held yet.".to_owned()]);
}

impl History {
    /// A conversation marker by person `by` on `on`.
    fn conversation(&mut self, by: usize, on: NaiveDate) {
        self.doc.add_conversation(&self.people[by].clone(), on, false).unwrap();
    }
}

fn month(month: &str, count: usize) -> MonthCount {
    MonthCount { month: month.into(), count }
}

#[test]
fn one_on_ones_are_counted_this_month_and_for_each_of_the_last_six_months() {
    let mut h = history(2);
    // As of 2025-06-21 the six months are January to June 2025. December 2024 is outside them; 2025-06-25 is after
    // the date. January 1, February 1, March 2, April and May none, June 2 (the 1st and the 20th).
    for on in [
        date(2024, 12, 31),
        date(2025, 1, 31),
        date(2025, 2, 1),
        date(2025, 3, 15),
        date(2025, 3, 16),
        date(2025, 6, 1),
        date(2025, 6, 20),
        date(2025, 6, 25),
    ] {
        h.conversation(0, on);
    }
    h.doc.add_conversation(&h.people[1].clone(), date(2025, 6, 2), true).unwrap();
    let v = compute(&h.doc.view(), date(2025, 6, 21));
    let l = &v.listening;
    assert_eq!(l.conversations_this_month, 3);
    assert_eq!(
        l.conversations_by_month,
        vec![
            month("2025-01", 1),
            month("2025-02", 1),
            month("2025-03", 2),
            month("2025-04", 0),
            month("2025-05", 0),
            month("2025-06", 3)
        ]
    );
    // The last three months: after 2025-03-21, up to 2025-06-21.
    assert_eq!(l.conversations_last_quarter, 3);
    assert_eq!(l.conversations_with_base, 1);
    assert!(
        v.summary.iter().any(|s| s == "3 one-on-ones this month; month by month over the last 6: 1, 1, 2, 0, 0, 3."),
        "{:?}",
        v.summary
    );
}

#[test]
fn conversations_per_member_per_month_are_counts_keyed_by_member() {
    let mut h = history(2);
    for (by, on) in [
        (1, date(2025, 3, 2)),
        (0, date(2025, 3, 5)),
        (1, date(2025, 3, 9)),
        (1, date(2025, 4, 1)),
        (0, date(2025, 5, 1)),
    ] {
        h.conversation(by, on);
    }
    let counts = conversations_by_member_month(&h.doc.view(), date(2025, 4, 30));
    assert_eq!(counts.len(), 2);
    assert_eq!(counts[&h.people[0]], vec![month("2025-03", 1)], "May is after the date");
    assert_eq!(counts[&h.people[1]], vec![month("2025-03", 2), month("2025-04", 1)]);
    let keys: Vec<&String> = counts.keys().collect();
    let mut by_id = keys.clone();
    by_id.sort();
    assert_eq!(keys, by_id, "ordered by member id, not by how many");
}

#[test]
fn the_base_and_how_many_of_it_joined_are_counted() {
    let mut h = history(2);
    let joined = h.people[2].clone();
    for (name, added) in
        [("Lee", date(2025, 2, 1)), ("Kim", date(2025, 2, 3)), ("Jo", date(2025, 3, 1)), ("Later", date(2025, 9, 1))]
    {
        let id = h.doc.add_person(crate::NewPerson::new(name, added)).unwrap();
        if name == "Kim" {
            let patch = crate::PersonPatch { became_member: Some(Some(joined.clone())), ..Default::default() };
            h.doc.update_person(&id, patch).unwrap();
        }
    }
    let v = compute(&h.doc.view(), date(2025, 6, 1));
    assert_eq!((v.listening.people_in_base, v.listening.became_members), (3, 1));
    assert!(v.summary.iter().any(|s| s == "3 people in the base; 1 of them became members."), "{:?}", v.summary);
}

#[test]
fn days_since_the_last_new_pattern_count_from_the_latest_named_by_the_date() {
    let mut h = history(1);
    let none = compute(&h.doc.view(), date(2025, 6, 1));
    assert_eq!((none.listening.last_pattern_named, none.listening.days_since_last_pattern), (None, None));
    for named in [date(2025, 2, 1), date(2025, 5, 2), date(2025, 7, 1)] {
        h.doc.add_pattern(crate::NewPattern::new("A pattern", named)).unwrap();
    }
    let v = compute(&h.doc.view(), date(2025, 6, 1));
    assert_eq!(v.listening.patterns_named, 2, "the July one is after the date");
    assert_eq!(v.listening.last_pattern_named, Some(date(2025, 5, 2)));
    assert_eq!(v.listening.days_since_last_pattern, Some(30));
    assert!(
        v.summary.iter().any(|s| s == "The last new pattern was named 30 days ago (2025-05-02)."),
        "{:?}",
        v.summary
    );
}

/// The group (founded 2025-01-01) named a pattern on 2025-01-10 and held three one-on-ones from February to
/// April 2025; a year later, `later` more in the same months.
fn decaying(later: &[NaiveDate]) -> History {
    let mut h = history(1);
    h.doc.add_pattern(crate::NewPattern::new("Scheduling", date(2025, 1, 10))).unwrap();
    for on in [date(2025, 2, 15), date(2025, 3, 15), date(2025, 4, 15)] {
        h.conversation(0, on);
    }
    for on in later {
        h.conversation(0, *on);
    }
    h
}

#[test]
fn replant_when_no_new_pattern_for_a_year_and_fewer_one_on_ones_than_a_year_before() {
    // As of 2026-04-30: the last pattern is more than 12 months old; the last three months (after 2026-01-30) hold
    // one conversation, the same three months of 2025 (after 2025-01-30, up to 2025-04-30) three.
    let h = decaying(&[date(2026, 3, 15)]);
    let v = compute(&h.doc.view(), date(2026, 4, 30));
    assert_eq!((v.listening.conversations_last_quarter, v.listening.conversations_quarter_a_year_before), (1, 3));
    assert!(v.listening.replant);
    assert!(v.summary.iter().any(|s| s.contains("time to replant")), "{:?}", v.summary);
}

#[test]
fn no_replant_while_one_on_ones_hold_up_or_a_new_pattern_was_named_within_the_year() {
    let steady = decaying(&[date(2026, 2, 15), date(2026, 3, 15), date(2026, 4, 15)]);
    let v = compute(&steady.doc.view(), date(2026, 4, 30));
    assert_eq!((v.listening.conversations_last_quarter, v.listening.conversations_quarter_a_year_before), (3, 3));
    assert!(!v.listening.replant, "as many as a year before is not fewer");

    let mut renewed = decaying(&[date(2026, 3, 15)]);
    renewed.doc.add_pattern(crate::NewPattern::new("Pay", date(2025, 6, 1))).unwrap();
    assert!(!compute(&renewed.doc.view(), date(2026, 4, 30)).listening.replant);
}

#[test]
fn replant_after_a_year_with_no_one_on_ones_at_all() {
    // Nothing held in the year before 2026-05-01, and nothing held in 2025's February to April window either: the
    // silent year is the sign.
    let mut h = history(1);
    h.doc.add_pattern(crate::NewPattern::new("Scheduling", date(2025, 1, 10))).unwrap();
    h.conversation(0, date(2025, 1, 20));
    let v = compute(&h.doc.view(), date(2026, 5, 1));
    assert_eq!((v.listening.conversations_last_quarter, v.listening.conversations_quarter_a_year_before), (0, 0));
    assert!(v.listening.replant);
}

#[test]
fn a_group_younger_than_a_year_is_never_told_to_replant() {
    // Founded 2025-01-01, no pattern and no conversation: the year without a new pattern counts from the founding.
    let h = history(1);
    assert!(!compute(&h.doc.view(), date(2025, 12, 31)).listening.replant);
    assert!(compute(&h.doc.view(), date(2026, 1, 1)).listening.replant, "a year to the day, silent throughout");
}

#[test]
fn the_share_verified_in_person_comes_from_the_membership_facts() {
    let mut h = history(1);
    h.meeting(date(2025, 1, 5), 2, None, None);
    let unknown = compute(&h.doc.view(), date(2025, 2, 1));
    assert_eq!(unknown.verified_in_person_share, None);
    let facts = MembershipFacts { devices: 8, verified_in_person: 6 };
    let v = compute_with(&h.doc.view(), date(2025, 2, 1), facts);
    assert_eq!(v.verified_in_person_share, Some(0.75));
    assert!(v.summary.iter().any(|s| s == "6 of 8 devices were verified in person."), "{:?}", v.summary);
}
