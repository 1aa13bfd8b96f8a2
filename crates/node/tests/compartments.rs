//! Compartments on real devices: a compartment's records reach its members' devices and no one else's, though
//! every device of the group carries its entries; someone taken out of it, still connected, reads nothing
//! written there afterwards; "only me" notes stay on the author's devices; and someone added later reads what was
//! written before.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{admit, all_bytes, day, sync};
use sunspace_crypto::kdf::KdfParams;
use sunspace_membership::Action;
use sunspace_model::NewMeeting;
use sunspace_node::{open_data_dir, DataDirMode, OpenGroup, Passphrase, Vault};

const TEAM_CANARY: &str = "CANARY-negotiation-offer-4417";
const LATER_CANARY: &str = "CANARY-after-bea-left-9021";
const ONLY_ME_CANARY: &str = "CANARY-what-dee-said-about-her-manager-3350";

fn passphrase() -> Passphrase {
    Passphrase::new("correct horse battery staple".into())
}

/// A device whose records are in a real sled directory.
fn sled_device(name: &str) -> (tempfile::TempDir, Vault) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open_data_dir(dir.path(), DataDirMode::Create).unwrap());
    (dir, Vault::create(store, &passphrase(), name, KdfParams::MINIMUM).unwrap())
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Everything a device shows or exports of the group: its view, the Markdown export and the automerge document.
fn everything_shown(group: &mut OpenGroup) -> Vec<u8> {
    let view = group.view();
    let mut out = serde_json::to_vec(&view).unwrap();
    out.extend(sunspace_model::export::markdown(&view).into_bytes());
    out.extend(group.export_automerge());
    out
}

fn member_id(group: &OpenGroup, name: &str) -> String {
    group.view().members.into_iter().find(|m| m.name == name).unwrap().id
}

fn exchange(a: &mut OpenGroup, b: &mut OpenGroup) {
    let receipt = sync(a, b);
    assert!(receipt.rejected.is_empty(), "{receipt:?}");
    let receipt = sync(b, a);
    assert!(receipt.rejected.is_empty(), "{receipt:?}");
}

#[test]
fn a_compartments_records_reach_its_members_and_stay_sealed_for_everyone_else() {
    let (_ana_dir, ana_vault) = sled_device("Ana");
    let mut ana = ana_vault.create_group("Hospital workers", day()).unwrap();
    let bea_vault = common::device("Bea");
    let (lee_dir, lee_vault) = sled_device("Lee");
    let mut bea = admit(&mut ana, &bea_vault, "Bea");
    let mut lee = admit(&mut ana, &lee_vault, "Lee");
    let members = vec![member_id(&ana, "Ana"), member_id(&ana, "Bea")];
    let team = ana.create_compartment("Negotiation team", &members).unwrap();
    let meeting = ana
        .edit_compartment(&team, |doc| doc.add_meeting(NewMeeting::new(day(), &format!("Offer {TEAM_CANARY}"))))
        .unwrap();
    ana.edit_compartment(&team, |doc| doc.append_minutes(&meeting, TEAM_CANARY)).unwrap();
    ana.edit(|doc| doc.add_meeting(NewMeeting::new(day(), "General meeting"))).unwrap();
    exchange(&mut ana, &mut bea);
    exchange(&mut ana, &mut lee);

    // Bea, in the team, reads it, placed in the team.
    let view = bea.view();
    let offer = view.meetings.iter().find(|m| m.id == meeting).expect("Bea reads the team's meeting");
    assert_eq!(offer.minutes, TEAM_CANARY);
    assert_eq!(view.placement.get(&meeting), Some(&team.to_hex()));
    assert_eq!(view.meetings.len(), 2);
    // Lee carries every entry, and reads none of the team's.
    assert_eq!(lee.heads(), ana.heads(), "Lee holds the team's entries too");
    let view = lee.view();
    assert_eq!(view.meetings.len(), 1);
    assert!(!contains(&everything_shown(&mut lee), TEAM_CANARY));
    assert!(contains(&everything_shown(&mut bea), TEAM_CANARY), "the scan finds the canary where it is");
    // Nor does anything of it sit readable on Lee's disk, or come back when Lee's device opens the group again.
    let id = lee.id();
    drop(lee);
    assert!(!contains(&all_bytes(lee_dir.path()), TEAM_CANARY));
    let mut lee = lee_vault.open_group(id).unwrap();
    assert!(lee.damage().is_empty(), "{:?}", lee.damage());
    assert!(!contains(&everything_shown(&mut lee), TEAM_CANARY));
    // And what Lee passes on is whole: a device that hears only from Lee gets the team's records, readable.
    let mut bea_again = bea_vault.open_group(id).unwrap();
    assert_eq!(bea_again.view().meetings.len(), 2);
    bea_again.receive(common::missing(&mut lee, &bea_again)).unwrap();
}

#[test]
fn someone_taken_out_of_a_compartment_reads_nothing_written_there_afterwards() {
    let ana_vault = common::device("Ana");
    let mut ana = ana_vault.create_group("Tenants", day()).unwrap();
    let bea_vault = common::device("Bea");
    let mut bea = admit(&mut ana, &bea_vault, "Bea");
    let (ana_id, bea_id) = (member_id(&ana, "Ana"), member_id(&ana, "Bea"));
    let team = ana.create_compartment("Rent strike committee", &[ana_id, bea_id.clone()]).unwrap();
    let meeting = ana.edit_compartment(&team, |doc| doc.add_meeting(NewMeeting::new(day(), "Plan"))).unwrap();
    ana.edit_compartment(&team, |doc| doc.append_minutes(&meeting, TEAM_CANARY)).unwrap();
    exchange(&mut ana, &mut bea);
    assert_eq!(bea.view().meetings[0].minutes, TEAM_CANARY);

    let cutoffs = ana.remove_from_compartment(&team, &bea_id).unwrap();
    assert_eq!(cutoffs.len(), 1);
    ana.edit_compartment(&team, |doc| doc.append_minutes(&meeting, LATER_CANARY)).unwrap();
    // Bea, still in the group and still connected, receives every entry, and reads nothing written after.
    exchange(&mut ana, &mut bea);
    assert_eq!(bea.heads(), ana.heads());
    assert!(!contains(&everything_shown(&mut bea), LATER_CANARY));
    let on_anas = ana.view();
    assert_eq!(on_anas.meetings[0].minutes, format!("{TEAM_CANARY}\n{LATER_CANARY}"));
    assert!(bea.members().compartments[&team].writable_epoch.is_some());
    assert!(!bea.members().compartments[&team].members.contains(&bea_id));
}

#[test]
fn only_me_notes_stay_on_the_authors_own_devices() {
    let ana_vault = common::device("Ana");
    let mut ana = ana_vault.create_group("Tenants", day()).unwrap();
    let (_dee_dir, dee_vault) = sled_device("Dee");
    let mut dee = admit(&mut ana, &dee_vault, "Dee");
    let dee_id = member_id(&ana, "Dee");
    let only_me = dee.create_compartment("Only me", &[dee_id]).unwrap();
    assert_eq!(dee.only_me(), Some(only_me));
    let note = dee
        .edit_compartment(&only_me, |doc| doc.add_meeting(NewMeeting::new(day(), &format!("Notes {ONLY_ME_CANARY}"))))
        .unwrap();
    exchange(&mut dee, &mut ana);
    assert!(!contains(&everything_shown(&mut ana), ONLY_ME_CANARY));
    assert_eq!(ana.heads(), dee.heads());
    // Dee's device opens the group again (from its snapshot and entries) and still reads them.
    let id = dee.id();
    drop(dee);
    let mut dee = dee_vault.open_group(id).unwrap();
    assert!(dee.damage().is_empty(), "{:?}", dee.damage());
    assert!(contains(&everything_shown(&mut dee), ONLY_ME_CANARY));
    assert_eq!(dee.view().placement.get(&note), Some(&only_me.to_hex()));
    // Another of Dee's devices, linked in person, reads them too; Ana's never did.
    let phone = common::device("Dee's phone");
    let admission = sunspace_node::Admission {
        device: phone.device_id(),
        agreement: phone.agreement_public(),
        name: "Dee".into(),
        own_device: true,
        existing_member: None,
        via_qr: true,
    };
    let (_, wrapped) = dee.admit(&admission).unwrap();
    let mut dee_phone = phone.accept_group(id, &wrapped, "Tenants").unwrap();
    let receipt = sync(&mut dee, &mut dee_phone);
    assert!(receipt.rejected.is_empty(), "{receipt:?}");
    assert!(contains(&everything_shown(&mut dee_phone), ONLY_ME_CANARY));
    exchange(&mut dee, &mut ana);
    assert!(!contains(&everything_shown(&mut ana), ONLY_ME_CANARY));
}

#[test]
fn someone_added_to_a_compartment_reads_what_was_written_there_before() {
    let ana_vault = common::device("Ana");
    let mut ana = ana_vault.create_group("Tenants", day()).unwrap();
    let lee_vault = common::device("Lee");
    let mut lee = admit(&mut ana, &lee_vault, "Lee");
    let team = ana.create_compartment("Research", &[member_id(&ana, "Ana")]).unwrap();
    let meeting = ana.edit_compartment(&team, |doc| doc.add_meeting(NewMeeting::new(day(), TEAM_CANARY))).unwrap();
    exchange(&mut ana, &mut lee);
    assert!(!contains(&everything_shown(&mut lee), TEAM_CANARY));
    ana.add_to_compartment(&team, &member_id(&ana, "Lee")).unwrap();
    exchange(&mut ana, &mut lee);
    let view = lee.view();
    assert_eq!(view.meetings.iter().find(|m| m.id == meeting).map(|m| m.title.as_str()), Some(TEAM_CANARY));
    // And Lee can write there, under the compartment's key.
    lee.edit_compartment(&team, |doc| doc.append_minutes(&meeting, "Lee's findings")).unwrap();
    exchange(&mut ana, &mut lee);
    assert_eq!(ana.view().meetings.iter().find(|m| m.id == meeting).unwrap().minutes, "Lee's findings");
}

#[test]
fn a_compartment_entry_that_arrives_before_what_it_builds_on_waits_also_across_a_reopening() {
    let ana_vault = common::device("Ana");
    let mut ana = ana_vault.create_group("Tenants", day()).unwrap();
    let (lee_vault, bea_vault) = (common::device("Lee"), common::device("Bea"));
    let mut lee = admit(&mut ana, &lee_vault, "Lee");
    let mut bea = admit(&mut ana, &bea_vault, "Bea");
    exchange(&mut ana, &mut lee);
    let ana_device = ana.members().founder.unwrap();
    let before = ana.heads().get(&ana_device).copied().unwrap();
    let members = vec![member_id(&ana, "Ana"), member_id(&ana, "Lee"), member_id(&ana, "Bea")];
    let team = ana.create_compartment("Research", &members).unwrap();
    let meeting = ana.edit_compartment(&team, |doc| doc.add_meeting(NewMeeting::new(day(), "Findings"))).unwrap();
    exchange(&mut ana, &mut lee);
    lee.edit_compartment(&team, |doc| doc.append_minutes(&meeting, TEAM_CANARY)).unwrap();
    // Bea gets Ana's creation of the compartment (its first entry after `before`), then Lee's minutes, which
    // build on Ana's meeting, which Bea does not have yet.
    let creation = ana.read_entries(ana_device, before + 1, before + 1).unwrap();
    assert!(bea.receive(creation).unwrap().rejected.is_empty());
    assert!(bea.members().compartments.contains_key(&team));
    let lees = common::missing(&mut lee, &bea)
        .into_iter()
        .filter(|bytes| sunspace_log::Entry::decode(bytes).unwrap().header().author != ana_device)
        .collect();
    let receipt = bea.receive(lees).unwrap();
    assert!(receipt.rejected.is_empty(), "{receipt:?}");
    assert!(!contains(&everything_shown(&mut bea), TEAM_CANARY));
    // Bea's device writes a snapshot and opens the group again: Lee's entry is kept, and still waits.
    bea.write_snapshot().unwrap();
    let id = bea.id();
    drop(bea);
    let mut bea = bea_vault.open_group(id).unwrap();
    assert!(bea.damage().is_empty(), "{:?}", bea.damage());
    let receipt = sync(&mut ana, &mut bea);
    assert!(receipt.rejected.is_empty(), "{receipt:?}");
    let view = bea.view();
    assert_eq!(view.meetings.iter().find(|m| m.id == meeting).map(|m| m.minutes.as_str()), Some(TEAM_CANARY));
}

#[test]
fn compartment_edits_made_with_nobody_to_send_them_to_are_kept_across_a_reopening_and_sent_as_one_entry() {
    let (_dir, vault) = sled_device("Dee");
    let mut group = vault.create_group("Tenants", day()).unwrap();
    let only_me = group.create_compartment("Only me", &[member_id(&group, "Dee")]).unwrap();
    let me = vault.device_id();
    let before = group.heads()[&me];
    let notes = group.edit_compartment(&only_me, |doc| doc.add_meeting(NewMeeting::new(day(), "Notes"))).unwrap();
    for line in ["first", "second", ONLY_ME_CANARY] {
        group.edit_compartment(&only_me, |doc| doc.append_minutes(&notes, line)).unwrap();
    }
    assert_eq!(group.heads()[&me], before, "kept pending, not sealed one by one");
    assert!(group.has_pending());
    let id = group.id();
    drop(group);
    let mut group = vault.open_group(id).unwrap();
    assert!(group.damage().is_empty(), "{:?}", group.damage());
    assert!(contains(&everything_shown(&mut group), ONLY_ME_CANARY), "the kept edits are back");
    group.persist_pending().unwrap();
    assert_eq!(group.heads()[&me], before + 1, "sealed into one entry");
    assert!(!group.has_pending());
    drop(group);
    let group = vault.open_group(id).unwrap();
    assert_eq!(group.view().meetings[0].minutes, format!("first\nsecond\n{ONLY_ME_CANARY}"));
}

#[test]
fn a_record_planted_in_the_group_under_a_compartment_records_id_does_not_capture_its_edits() {
    let ana_vault = common::device("Ana");
    let mut ana = ana_vault.create_group("Tenants", day()).unwrap();
    let mal_vault = common::device("Mal");
    let mut mal = admit(&mut ana, &mal_vault, "Mal");
    let meeting = ana.edit(|doc| doc.add_meeting(NewMeeting::new(day(), "Offer review"))).unwrap();
    exchange(&mut ana, &mut mal);
    // Mal keeps a copy of the meeting while it is still the whole group's.
    let copy = mal.doc().copy_record_out(sunspace_model::RecordKind::Meeting, &meeting).unwrap();
    let team = ana.create_compartment("Negotiation team", &[member_id(&ana, "Ana")]).unwrap();
    ana.move_record(sunspace_model::RecordKind::Meeting, &meeting, Some(team)).unwrap();
    exchange(&mut ana, &mut mal);
    assert!(mal.view().meetings.is_empty(), "moved out of what Mal reads");
    // Mal writes it back into the group's document under the same id.
    mal.edit(|doc| doc.put_record(sunspace_model::RecordKind::Meeting, &copy)).unwrap();
    exchange(&mut ana, &mut mal);
    let view = ana.view();
    assert_eq!(view.meetings.len(), 1, "{:?}", view.meetings);
    assert_eq!(view.placement.get(&meeting), Some(&team.to_hex()), "shown from the compartment");
    assert!(view.unreadable.iter().any(|u| u.contains(&meeting)), "and the doubling is said: {:?}", view.unreadable);
    // Ana's minutes go where the meeting is shown: the compartment.
    let edit = sunspace_model::edit::Edit::AppendMinutes { meeting: meeting.clone(), text: TEAM_CANARY.into() };
    ana.apply_edit(edit).unwrap();
    exchange(&mut ana, &mut mal);
    assert!(contains(&everything_shown(&mut ana), TEAM_CANARY));
    assert!(!contains(&everything_shown(&mut mal), TEAM_CANARY), "Mal's planted copy captured the minutes");
}

#[test]
fn compartment_entries_sealed_across_a_snapshot_are_all_there_after_a_reopening() {
    let ana_vault = common::device("Ana");
    let mut ana = ana_vault.create_group("Tenants", day()).unwrap();
    let bea_vault = common::device("Bea");
    let mut bea = admit(&mut ana, &bea_vault, "Bea");
    let team = ana.create_compartment("Team", &[member_id(&ana, "Ana"), member_id(&ana, "Bea")]).unwrap();
    let meeting = ana.edit_compartment(&team, |doc| doc.add_meeting(NewMeeting::new(day(), "Plan"))).unwrap();
    // One entry per edit, past the snapshot every 64 entries.
    for n in 0..(sunspace_node::SNAPSHOT_EVERY + 6) {
        ana.edit_compartment(&team, |doc| doc.append_minutes(&meeting, &format!("line {n}"))).unwrap();
        ana.persist_pending().unwrap();
    }
    let id = ana.id();
    drop(ana);
    let mut ana = ana_vault.open_group(id).unwrap();
    assert!(ana.damage().is_empty(), "{:?}", ana.damage());
    let minutes = ana.view().meetings[0].minutes.clone();
    assert_eq!(minutes.lines().count(), sunspace_node::SNAPSHOT_EVERY as usize + 6, "{minutes}");
    // And what it writes next builds on all of it: Bea takes every entry.
    ana.edit_compartment(&team, |doc| doc.append_minutes(&meeting, TEAM_CANARY)).unwrap();
    exchange(&mut ana, &mut bea);
    assert!(bea.refused().is_empty(), "{:?}", bea.refused());
    assert!(bea.view().meetings[0].minutes.ends_with(TEAM_CANARY));
}

#[test]
fn a_record_held_by_two_compartments_is_not_edited_where_it_could_leak() {
    let ana_vault = common::device("Ana");
    let mut ana = ana_vault.create_group("Tenants", day()).unwrap();
    let me = member_id(&ana, "Ana");
    let first = ana.create_compartment("Team", std::slice::from_ref(&me)).unwrap();
    let second = ana.create_compartment("Other team", &[me]).unwrap();
    let meeting = ana.edit_compartment(&first, |doc| doc.add_meeting(NewMeeting::new(day(), "Offer"))).unwrap();
    // A copy under the same id in the other compartment (as someone in that one could write).
    let copy = ana.compartment_of_record(sunspace_model::RecordKind::Meeting, &meeting).unwrap();
    assert_eq!(copy, first);
    let data = {
        let view = ana.view();
        assert_eq!(view.meetings.len(), 1);
        ana.edit_compartment(&first, |doc| doc.copy_record_out(sunspace_model::RecordKind::Meeting, &meeting)).unwrap()
    };
    ana.edit_compartment(&second, |doc| doc.put_record(sunspace_model::RecordKind::Meeting, &data)).unwrap();
    let edit = sunspace_model::edit::Edit::AppendMinutes { meeting: meeting.clone(), text: TEAM_CANARY.into() };
    let refused = ana.apply_edit(edit).unwrap_err();
    assert!(refused.to_string().contains("more than one compartment"), "{refused}");
    let moved = ana.move_record(sunspace_model::RecordKind::Meeting, &meeting, None).unwrap_err();
    assert!(moved.to_string().contains("more than one compartment"), "{moved}");
    assert!(!contains(&everything_shown(&mut ana), TEAM_CANARY));
}

#[test]
fn a_key_planted_under_a_generations_number_is_never_written_with() {
    let ana_vault = common::device("Ana");
    let mut ana = ana_vault.create_group("Tenants", day()).unwrap();
    let (lee_vault, mal_vault) = (common::device("Lee"), common::device("Mal"));
    let mut lee = admit(&mut ana, &lee_vault, "Lee");
    let mut mal = admit(&mut ana, &mal_vault, "Mal");
    exchange(&mut ana, &mut lee);
    exchange(&mut ana, &mut mal);
    let team = ana.create_compartment("Team", &[member_id(&ana, "Ana"), member_id(&ana, "Mal")]).unwrap();
    exchange(&mut ana, &mut mal);
    exchange(&mut ana, &mut lee);
    // Mal, in the team, wraps a key of his own to Lee under the team's generation number, in a signed share.
    let epoch = ana.members().compartments[&team].writable_epoch.unwrap();
    let planted = sunspace_crypto::Secret32::random();
    let lee_device = lee_vault.device_id();
    let mal_device = mal_vault.device_id();
    let mut context = b"sunspace/compartment-key/v1\0".to_vec();
    context.extend_from_slice(&ana.id().0);
    context.extend_from_slice(&team.0);
    context.extend_from_slice(&epoch.to_be_bytes());
    context.extend_from_slice(&lee_device.0);
    context.extend_from_slice(&mal_device.0);
    let wrapped = hex::encode(sunspace_crypto::wrap_key(&lee_vault.agreement_public(), &planted, &context).encode());
    let share = Action::ShareCompartmentKeys { compartment: team, wraps: vec![(epoch, lee_device, wrapped)] };
    let entry = mal.forge_op(mal.forge_heads(), share).unwrap();
    lee.receive(vec![entry]).unwrap();
    // Ana adds Lee to the team; Lee writes there; Ana (and not Mal's planted key) reads it.
    ana.add_to_compartment(&team, &member_id(&ana, "Lee")).unwrap();
    exchange(&mut ana, &mut lee);
    let meeting = lee.edit_compartment(&team, |doc| doc.add_meeting(NewMeeting::new(day(), TEAM_CANARY))).unwrap();
    exchange(&mut ana, &mut lee);
    assert!(ana.view().meetings.iter().any(|m| m.id == meeting), "Lee wrote with the team's real key");
    let newest = lee.read_entries(lee_device, lee.heads()[&lee_device], lee.heads()[&lee_device]).unwrap();
    let entry = sunspace_log::Entry::decode(&newest[0]).unwrap();
    assert!(entry.open(&planted).is_err(), "Lee's entry opens under the planted key");
}

#[test]
fn a_record_kept_in_a_compartment_has_its_history_there() {
    let ana_vault = common::device("Ana");
    let mut ana = ana_vault.create_group("Tenants", day()).unwrap();
    let team = ana.create_compartment("Team", &[member_id(&ana, "Ana")]).unwrap();
    let decision = ana
        .edit_compartment(&team, |doc| {
            doc.add_decision(sunspace_model::NewDecision {
                title: "Hold the offer".into(),
                method: sunspace_model::DecisionMethod::Consent,
                outcome: "agreed".into(),
                date: day(),
                review_by: None,
                meeting: None,
            })
        })
        .unwrap();
    let changes = ana.history(sunspace_model::RecordKind::Decision, &decision).unwrap();
    assert!(changes.iter().any(|c| c.value.as_deref() == Some("Hold the offer")), "{changes:?}");
}
