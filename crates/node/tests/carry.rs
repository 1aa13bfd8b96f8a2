//! Carry files between devices of one group, with no network: real sealed, signed entries in a real carry file,
//! applied through the device's command path (`NodeCommand::CarryImport`), which checks them as it checks
//! entries from the network. A member who forges one entry into a file they seal themselves gets only that entry
//! refused; a replayed file changes nothing; a removed device cannot open a file written after its removal; what
//! the reader learns of the writer's logs makes the next file carry only what is missing.
#![allow(clippy::unwrap_used)]

mod common;

use common::{admit, day, device};
use sunspace_model::NewMeeting;
use sunspace_node::{Node, NodeCommand, NodeOutcome, Vault};
use sunspace_replicate::CarryFile;

fn add_meeting(group: &mut sunspace_node::OpenGroup, title: &str) {
    group.edit(|doc| doc.add_meeting(NewMeeting::new(day(), title))).unwrap();
    group.persist_pending().unwrap();
}

fn import(node: &mut Node, bytes: Vec<u8>) -> Result<sunspace_node::CarryReceipt, sunspace_node::NodeError> {
    match node.execute(NodeCommand::CarryImport(bytes))? {
        NodeOutcome::Carried(receipt) => Ok(receipt),
        other => panic!("{other:?}"),
    }
}

fn meetings(node: &mut Node, group: sunspace_log::GroupId) -> Vec<String> {
    let NodeOutcome::Snapshot(snapshot) = node.execute(NodeCommand::Read(group)).unwrap() else { panic!() };
    snapshot.view.meetings.iter().map(|m| m.title.clone()).collect()
}

/// Ana founds a group and admits Bea and Cal (each gets the history at admission); returns their groups and
/// Bea's vault, to be opened as a whole device.
fn group_of_three() -> (sunspace_node::OpenGroup, Vault, sunspace_node::OpenGroup) {
    let ana = device("Ana");
    let mut group = ana.create_group("Tenants", day()).unwrap();
    let bea = device("Bea");
    let _ = admit(&mut group, &bea, "Bea");
    let cal = device("Cal");
    let cal_group = admit(&mut group, &cal, "Cal");
    (group, bea, cal_group)
}

#[test]
fn a_file_with_one_forged_entry_applies_the_others_and_a_replay_changes_nothing() {
    let (mut ana, bea, mut cal) = group_of_three();
    let id = ana.id();
    // Made apart, so that neither depends on the other.
    add_meeting(&mut ana, "Ana's meeting");
    add_meeting(&mut cal, "Cal's meeting");
    common::sync(&mut cal, &mut ana);
    let (bea_id, bea_agreement) = (bea.device_id(), bea.agreement_public());
    let mut bea = Node::new(bea);
    let NodeOutcome::LogHeads { heads: bea_holds, .. } = bea.execute(NodeCommand::LogHeads(id)).unwrap() else {
        panic!()
    };
    // Ana, running a modified client, seals a file for Bea with one byte of Cal's last entry changed.
    let cal_id = cal.forge_device_keys().device_id();
    let mut entries = Vec::new();
    for (author, last) in ana.heads() {
        let first = bea_holds.get(&author).copied().unwrap_or(0) + 1;
        for (seq, mut entry) in (first..=last).zip(ana.read_entries(author, first, last).unwrap()) {
            if author == cal_id && seq == last {
                let middle = entry.len() / 2;
                entry[middle] ^= 0x01;
            }
            entries.push(entry);
        }
    }
    let genuine_count = entries.len() - 1;
    let file = CarryFile {
        group: id,
        writer: ana.forge_device_keys().device_id(),
        heads: ana.heads(),
        entries,
        checkpoint: None,
    };
    let bytes = file.seal(ana.forge_device_keys(), &[bea_agreement]);

    let receipt = import(&mut bea, bytes.clone()).unwrap();
    assert_eq!((receipt.applied, receipt.refused.len()), (genuine_count, 1), "only the forged entry: {receipt:?}");
    assert_eq!(meetings(&mut bea, id), vec!["Ana's meeting".to_owned()]);

    // The same file again: nothing new, nothing changed.
    let again = import(&mut bea, bytes).unwrap();
    assert_eq!((again.applied, again.already_held, again.refused.len()), (0, genuine_count, 1), "{again:?}");
    assert_eq!(meetings(&mut bea, id), vec!["Ana's meeting".to_owned()]);

    // A genuine file from Ana brings Cal's entry.
    let (genuine, _) = ana.carry_file(Some(bea_id)).unwrap();
    let genuine = import(&mut bea, genuine).unwrap();
    assert_eq!(genuine.refused.len(), 0, "{genuine:?}");
    let mut titles = meetings(&mut bea, id);
    titles.sort();
    assert_eq!(titles, vec!["Ana's meeting".to_owned(), "Cal's meeting".to_owned()]);
}

#[test]
fn a_removed_device_cannot_open_a_file_written_after_its_removal() {
    let (mut ana, _bea, cal) = group_of_three();
    let cal_member = ana.members().devices.get(&cal.forge_device_keys().device_id()).unwrap().member.clone();
    ana.remove_member(&cal_member, "left the building committee").unwrap();
    add_meeting(&mut ana, "After Cal left");
    let (bytes, _) = ana.carry_file(None).unwrap();
    let refused = CarryFile::open(cal.forge_device_keys(), &bytes).unwrap_err();
    assert_eq!(refused, sunspace_replicate::CarryError::NotForThisDevice);
    // And asking for a file for Cal's device is refused outright.
    assert!(ana.carry_file(Some(cal.forge_device_keys().device_id())).is_err());
}

#[test]
fn what_a_file_says_its_writer_held_makes_the_next_file_carry_only_what_it_lacks() {
    let (mut ana, bea, _cal) = group_of_three();
    let id = ana.id();
    let mut bea = Node::new(bea);
    let bea_device = {
        let NodeOutcome::Device { device, .. } = bea.execute(NodeCommand::Device).unwrap() else { panic!() };
        sunspace_crypto::DeviceId::from_hex(&device).unwrap()
    };
    // Bea writes a file for Ana (it says how far Bea holds each log); Ana reads it.
    let NodeOutcome::CarryFile { bytes, .. } = bea
        .execute(NodeCommand::CarryExport { group: id, for_device: Some(ana.forge_device_keys().device_id()) })
        .unwrap()
    else {
        panic!()
    };
    let everything: u64 = ana.heads().values().sum();
    assert_eq!(ana.carry_file(Some(bea_device)).unwrap().1 as u64, everything, "before Bea's file: everything");
    let file = CarryFile::open(ana.forge_device_keys(), &bytes).unwrap();
    let NodeOutcome::LogHeads { heads: bea_holds, .. } = bea.execute(NodeCommand::LogHeads(id)).unwrap() else {
        panic!()
    };
    ana.apply_carried(file).unwrap();
    let lacking: u64 = ana.heads().iter().map(|(a, seq)| seq - bea_holds.get(a).copied().unwrap_or(0)).sum();
    assert!(lacking < everything);
    assert_eq!(ana.carry_file(Some(bea_device)).unwrap().1 as u64, lacking, "then only what Bea lacks");
    add_meeting(&mut ana, "Later");
    assert_eq!(ana.carry_file(Some(bea_device)).unwrap().1 as u64, lacking + 1, "and what came since");
    assert!(ana.last_carried().contains_key(&bea_device));
}
