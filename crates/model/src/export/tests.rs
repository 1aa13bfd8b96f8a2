use chrono::NaiveDate;

use super::*;
use crate::{Founder, GroupDoc, NewMeeting, NewOneOnOne, NewPattern, NewPerson, NewStory, PersonPatch, Stance};

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

fn group() -> (GroupDoc, String) {
    let founder = Founder { device_id: "a1".repeat(32), agreement_key: "b2".repeat(32), display_name: "Ana".into() };
    GroupDoc::create(&"c3".repeat(16), "Warehouse Core Group", &founder, day(1)).unwrap()
}

#[test]
fn a_group_that_does_not_use_the_listening_records_exports_as_before() {
    let (mut doc, _) = group();
    doc.add_meeting(NewMeeting::new(day(5), "Monthly")).unwrap();
    let out = markdown(&doc.view());
    for heading in
        ["## The base", "## One-on-ones", "## Stories", "## Patterns", "## One-on-one conversations", "Readable by"]
    {
        assert!(!out.contains(heading), "{heading} in:\n{out}");
    }
}

#[test]
fn listening_records_say_who_can_read_them_where_they_are_kept() {
    let (mut doc, ana) = group();
    let lee = doc
        .add_person(NewPerson {
            place: Some("night shift".into()),
            holder: Some(ana.clone()),
            ..NewPerson::new("Lee Chen", day(2))
        })
        .unwrap();
    doc.update_person(&lee, PersonPatch { stance: Some(Stance::Supportive), ..Default::default() }).unwrap();
    doc.add_meeting(NewMeeting::new(day(20), "General meeting")).unwrap();
    doc.add_conversation(&ana, day(3), true).unwrap();
    doc.add_conversation(&ana, day(4), false).unwrap();
    let shared = doc
        .add_story(NewStory {
            text: "They post the schedule on Friday night.\nNobody can plan the weekend.".into(),
            told_by: Some("someone on the night shift".into()),
            from_one_on_one: None,
            shared_by: ana.clone(),
            shared_on: day(6),
        })
        .unwrap();
    let pattern = doc.add_pattern(NewPattern::new("Invisible to scheduling", day(7))).unwrap();
    doc.link_pattern_story(&pattern, &shared).unwrap();
    doc.link_pattern_story(&pattern, &"5e".repeat(16)).unwrap();

    let only_me = "0c".repeat(16);
    let mut mine = GroupDoc::create_compartment(&only_me, "Only me", &"a1".repeat(32), day(1)).unwrap();
    let notes = NewOneOnOne {
        with_person: Some(lee.clone()),
        keeps_up_at_night: "The Friday postings.".into(),
        next_step: Some("Bring her to the meeting".into()),
        ..NewOneOnOne::new(&ana, day(3), "")
    };
    mine.add_one_on_one(notes).unwrap();
    mine.add_meeting(NewMeeting::new(day(8), "Research huddle")).unwrap();
    let mut view = doc.view();
    view.absorb(&only_me, mine.view());

    let out = markdown(&view);
    assert!(out.contains("## One-on-one conversations\n\n2 held (1 with people in the base)."), "{out}");
    assert!(out.contains("- **Lee Chen** — night shift · stance: supportive · relationship held by Ana · added 2026-11-02\n  Readable by: the whole group"), "{out}");
    assert!(
        out.contains("### 2026-11-03 — with Lee Chen\n\nHeld by: Ana · Warmth: cold\n\nReadable by: compartment 0c0c"),
        "{out}"
    );
    assert!(out.contains("**What keeps them up at night**\n\nThe Friday postings."), "{out}");
    assert!(out.contains("**Next step:** Bring her to the meeting"), "{out}");
    assert!(
        out.contains(
            "### 2026-11-06 — told by someone on the night shift\n\nShared by Ana.\n\nReadable by: the whole group"
        ),
        "{out}"
    );
    assert!(out.contains("> They post the schedule on Friday night.\n> Nobody can plan the weekend."), "{out}");
    assert!(out.contains("### Invisible to scheduling (named)"), "{out}");
    assert!(out.contains("**Stories (2):**\n\n- 2026-11-06 — They post the schedule on Friday night.\n- and 1 kept where this export cannot read them"), "{out}");
    // A meeting kept in the compartment says so; the group's own meeting reads as it always has.
    let huddle = out.split("### 2026-11-08 — Research huddle").nth(1).unwrap();
    assert!(huddle.trim_start().starts_with("Type: regular\n\nReadable by: compartment"), "{huddle}");
    let general = out.split("### 2026-11-20 — General meeting").nth(1).unwrap();
    assert!(!general.split("## Decisions").next().unwrap().contains("Readable by"), "{general}");
    assert!(!out.contains("\n\n\n"), "one blank line between sections:\n{out}");

    let labelled =
        markdown_with(&view, &|id| if id == only_me { "only me".into() } else { format!("compartment {id}") });
    assert!(labelled.contains("Held by: Ana · Warmth: cold\n\nReadable by: only me"), "{labelled}");
}
