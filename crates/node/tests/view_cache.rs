//! The kept view a device shows first (see `view_cache` in the node crate): answered only while it is what the
//! disk holds, and never when it fails authentication, in which case the group is read from its entries.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use sunspace_crypto::kdf::KdfParams;
use sunspace_model::NewMeeting;
use sunspace_node::{Node, NodeCommand, NodeOutcome, Passphrase, Vault};
use sunspace_store::{MemStore, Store};

fn passphrase() -> Passphrase {
    Passphrase::new("correct horse battery staple".into())
}

fn day() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

/// The device on `store`, unlocked again (as a new command-line run does).
fn again(store: &Arc<MemStore>) -> Node {
    Node::new(Vault::unlock(store.clone(), &passphrase()).unwrap())
}

fn titles(node: &mut Node, group: sunspace_log::GroupId) -> Vec<String> {
    let NodeOutcome::Snapshot(snapshot) = node.execute(NodeCommand::Read(group)).unwrap() else { panic!() };
    let mut titles: Vec<String> = snapshot.view.meetings.iter().map(|m| m.title.clone()).collect();
    titles.sort();
    titles
}

fn add_meeting(node: &mut Node, group: sunspace_log::GroupId, title: &str) {
    let edit = sunspace_model::edit::Edit::AddMeeting(NewMeeting::new(day(), title));
    node.execute(NodeCommand::Edit { group, edit }).unwrap();
}

/// A device with two groups, "Tenants" with one meeting and "Choir" with another, each read once (so each view
/// is kept).
fn device_with_two_groups() -> (Arc<MemStore>, sunspace_log::GroupId, sunspace_log::GroupId) {
    let store = Arc::new(MemStore::default());
    let vault = Vault::create(store.clone(), &passphrase(), "Ana", KdfParams::MINIMUM).unwrap();
    let tenants = vault.create_group("Tenants", day()).unwrap().id();
    let choir = vault.create_group("Choir", day()).unwrap().id();
    let mut node = Node::new(vault);
    add_meeting(&mut node, tenants, "Repairs");
    add_meeting(&mut node, choir, "Rehearsal");
    drop(node);
    let mut node = again(&store);
    assert_eq!(titles(&mut node, tenants), vec!["Repairs"]);
    assert_eq!(titles(&mut node, choir), vec!["Rehearsal"]);
    (store, tenants, choir)
}

#[test]
fn a_kept_view_is_shown_without_opening_and_never_once_the_disk_holds_more() {
    let (store, tenants, _) = device_with_two_groups();
    assert_eq!(store.blob_names("view-").unwrap().len(), 2, "each group's view is kept");
    // A new run shows it (the same records), and an edit makes the next run read the entries again.
    let mut node = again(&store);
    assert_eq!(titles(&mut node, tenants), vec!["Repairs"]);
    assert!(!node.is_open(&tenants), "answered from the kept view");
    add_meeting(&mut node, tenants, "Rent strike");
    drop(node);
    let mut node = again(&store);
    assert_eq!(titles(&mut node, tenants), vec!["Rent strike", "Repairs"]);
    assert!(node.is_open(&tenants), "the kept view was out of date: the group was opened");
    let mut node = again(&store);
    assert_eq!(titles(&mut node, tenants), vec!["Rent strike", "Repairs"]);
    assert!(!node.is_open(&tenants), "and its new view kept");
}

#[test]
fn a_tampered_view_cache_is_refused_and_the_entries_are_read() {
    let (store, tenants, choir) = device_with_two_groups();
    let names = store.blob_names("view-").unwrap();
    let cached: Vec<Vec<u8>> = names.iter().map(|n| store.blob(n).unwrap().unwrap()).collect();

    // One byte changed in every kept view: both groups are read from their entries.
    for (name, sealed) in names.iter().zip(&cached) {
        let mut altered = sealed.clone();
        let middle = altered.len() / 2;
        altered[middle] ^= 0x20;
        store.put_blob(name, &altered).unwrap();
    }
    let mut node = again(&store);
    assert_eq!(titles(&mut node, tenants), vec!["Repairs"]);
    assert_eq!(titles(&mut node, choir), vec!["Rehearsal"]);
    assert!(node.is_open(&tenants) && node.is_open(&choir), "read from the entries");

    // One group's kept view moved under the other's name does not open there either.
    drop(node);
    store.put_blob(&names[0], &cached[1]).unwrap();
    store.put_blob(&names[1], &cached[0]).unwrap();
    let mut node = again(&store);
    assert_eq!(titles(&mut node, tenants), vec!["Repairs"]);
    assert_eq!(titles(&mut node, choir), vec!["Rehearsal"]);
    assert!(node.is_open(&tenants) && node.is_open(&choir), "read from the entries");
}

#[test]
fn an_edit_kept_pending_in_a_compartment_makes_the_kept_view_stale() {
    let (store, tenants, _) = device_with_two_groups();
    let mut node = again(&store);
    let NodeOutcome::Snapshot(snapshot) = node.execute(NodeCommand::Read(tenants)).unwrap() else { panic!() };
    let me = snapshot.my_member.clone().unwrap();
    let command = NodeCommand::CreateCompartment { group: tenants, name: "Only me".into(), members: vec![me] };
    let NodeOutcome::CompartmentCreated { compartment } = node.execute(command).unwrap() else { panic!() };
    drop(node);
    assert_eq!(titles(&mut again(&store), tenants), vec!["Repairs"]);
    // An edit in the compartment, kept pending (no peer): the group's own records did not change, its
    // compartment's did, and the next read shows it.
    let mut node = again(&store);
    let edit = sunspace_model::edit::Edit::AddMeeting(NewMeeting::new(day(), "Private"));
    node.execute(NodeCommand::EditIn { group: tenants, compartment, edit }).unwrap();
    drop(node);
    assert_eq!(titles(&mut again(&store), tenants), vec!["Private", "Repairs"]);
}
