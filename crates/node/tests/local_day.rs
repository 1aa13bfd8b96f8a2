//! One "today" for every record: the device's local day, not UTC's. Alone in its own test binary because it sets
//! the process's time zone.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::Timelike;
use common::admit;

#[test]
fn a_member_admitted_late_in_the_evening_joins_on_the_local_day_not_utcs() {
    // A zone where the local date differs from UTC's right now: 12 hours behind in the UTC morning, 14 ahead later.
    let zone = if chrono::Utc::now().hour() < 12 { "Etc/GMT+12" } else { "Etc/GMT-14" };
    std::env::set_var("TZ", zone);
    let local = chrono::Local::now().date_naive();
    assert_ne!(local, chrono::Utc::now().date_naive(), "the zone {zone} does not show the difference");
    assert_eq!(sunspace_node::today(), local);

    let ana = common::device("Ana");
    let mut group = ana.create_group("Tenants", local).unwrap();
    let bea = common::device("Bea");
    admit(&mut group, &bea, "Bea");
    let joined = group.view().members.into_iter().find(|m| m.name == "Bea").unwrap().joined;
    assert_eq!(joined, Some(local));
}
