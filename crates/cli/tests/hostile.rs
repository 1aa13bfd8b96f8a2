//! A hostile member against real `sunspace serve` processes: Ana, Bea and Cal are admitted in person through the
//! real binary, each device serving on loopback. Then Cal's device is run in bad faith: Cal's `serve` stops, and
//! an engine with a modified client (the hostile-member harness, `sunspace_node::forge`) opens Cal's data
//! directory, connects to Ana's and Bea's `serve` processes and pushes what no honest client makes.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::transaction::Transactable;
use automerge::{ReadDoc, ROOT};
use common::{three_members, Home, Serve, PASSPHRASE};

use sunspace_log::EntryKind;
use sunspace_node::engine::{start, EngineOptions};
use sunspace_node::{open_data_dir, DataDirMode, Node, Passphrase, Vault};

/// Runs `forge` on Cal's group inside an engine on Cal's data directory, connected to `peers`, and keeps it
/// running until `done` holds (or 60 s pass).
fn as_hostile_cal(cal: &Home, peers: &[String], forge: fn(&mut Node), done: impl Fn() -> bool) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let handle = cal_engine(cal, peers).await;
        handle.forge(forge).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
}

/// An engine on Cal's data directory (as a modified client would run it), connected to `peers`.
async fn cal_engine(cal: &Home, peers: &[String]) -> sunspace_node::NodeHandle {
    let store = loop {
        // Cal's `serve` just stopped: sled releases its lock shortly after.
        match open_data_dir(&cal.data(), DataDirMode::Existing) {
            Ok(store) => break Arc::new(store),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    let vault = Vault::unlock(store, &Passphrase::new(PASSPHRASE.into())).unwrap();
    let handle = start(vault, EngineOptions::loopback()).await.unwrap();
    for peer in peers {
        handle.add_peer(peer).await.unwrap();
    }
    handle
}

/// Three members serving, Cal's `serve` stopped (Cal's device is about to be run in bad faith), and the addresses
/// of Ana's and Bea's `serve` processes.
struct Turned {
    ana: Home,
    bea: Home,
    cal: Home,
    ana_serve: Serve,
    bea_serve: Serve,
}

fn with_cal_turned() -> Turned {
    let group = three_members();
    let (ana_serve, bea_serve, cal_serve) = group.serving;
    cal_serve.stop();
    Turned { ana: group.ana, bea: group.bea, cal: group.cal, ana_serve, bea_serve }
}

impl Turned {
    fn peers(&self) -> [String; 2] {
        [self.ana_serve.tcp_address.clone(), self.bea_serve.tcp_address.clone()]
    }
}

fn the_group(node: &mut Node) -> &mut sunspace_node::OpenGroup {
    let id = node.vault().group_ids().unwrap()[0];
    node.group(id).unwrap()
}

#[test]
fn a_member_deleting_the_layout_cannot_stop_the_others_from_opening() {
    let turned = with_cal_turned();
    let peers = turned.peers();
    let Turned { ana, bea, cal, ana_serve, bea_serve } = turned;
    as_hostile_cal(
        &cal,
        &peers,
        |node| {
            let g = the_group(node);
            let bytes = g.forge_changes(|doc| {
                doc.delete(ROOT, "sunspace_schema").unwrap();
                doc.delete(ROOT, "meetings").unwrap();
            });
            g.forge_entry(EntryKind::Change, &bytes).unwrap();
        },
        || ana.ok(&["status"]).contains("refused"),
    );
    let status = ana.ok(&["status"]);
    assert!(status.contains("Cal's device") && status.contains("refused"), "{status}");
    // Ana's and Bea's records are whole, now and after a restart.
    for (home, serve) in [(&ana, ana_serve), (&bea, bea_serve)] {
        assert!(home.ok(&["meeting", "list"]).contains("Monthly"));
        serve.stop();
        let again = Serve::start(home);
        assert!(home.ok(&["meeting", "list"]).contains("Monthly"));
        again.stop();
    }
}

#[test]
fn a_member_writing_in_another_members_name_is_refused() {
    let turned = with_cal_turned();
    let (ana, bea) = (&turned.ana, &turned.bea);
    as_hostile_cal(
        &turned.cal,
        &turned.peers(),
        |node| {
            let g = the_group(node);
            // Ana's device id: the group's founder.
            let ana = g.members().founder.unwrap().0;
            let meeting = g.view().meetings[0].id.clone();
            let bytes = g.forge_changes_as(&ana, |doc| {
                let meetings = doc.get(ROOT, "meetings").unwrap().unwrap().1;
                let record = doc.get(&meetings, meeting.as_str()).unwrap().unwrap().1;
                doc.put(&record, "title", "Cancelled by Ana").unwrap();
            });
            g.forge_entry(EntryKind::Change, &bytes).unwrap();
        },
        || bea.ok(&["status"]).contains("refused"),
    );
    let status = bea.ok(&["status"]);
    assert!(status.contains("Cal's device") && status.contains("another device's name"), "{status}");
    for home in [ana, bea] {
        let meetings = home.ok(&["meeting", "list"]);
        assert!(meetings.contains("Monthly") && !meetings.contains("Cancelled"), "{meetings}");
    }
}

#[test]
fn a_member_freezing_the_membership_with_a_made_up_dependency_is_still_removed() {
    let turned = with_cal_turned();
    let (ana, bea) = (&turned.ana, &turned.bea);
    as_hostile_cal(
        &turned.cal,
        &turned.peers(),
        |node| {
            let g = the_group(node);
            let made_up = sunspace_membership::OpId([0x42; 32]);
            let grant = sunspace_membership::Action::GrantRole {
                member: "anyone".into(),
                role: sunspace_membership::Role::Steward,
            };
            g.forge_op(vec![made_up], grant).unwrap();
        },
        || ana.ok(&["status"]).contains("waits for changes"),
    );
    // Ana removes Cal; the removal takes effect on Ana's and Bea's devices.
    let removed = ana.ok(&["member", "remove", "Cal", "--reason", "infiltrator"]);
    assert!(removed.contains("Removed Cal"), "{removed}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let members = bea.ok(&["member", "list"]);
        if members.contains("left") {
            break;
        }
        assert!(Instant::now() < deadline, "the removal never reached Bea: {members}");
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(ana.ok(&["safety-number"]), bea.ok(&["safety-number"]));
}

#[test]
fn a_member_giving_two_members_two_histories_is_found_and_shown_by_both() {
    let turned = with_cal_turned();
    let peers = turned.peers();
    let Turned { ana, bea, cal, ana_serve, bea_serve } = turned;
    let devices: Vec<sunspace_crypto::DeviceId> =
        peers.iter().map(|p| sunspace_net::device_of_address(&p.parse().unwrap()).unwrap()).collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let handle = cal_engine(&cal, &peers).await;
        // Two different entries for Cal's next place in its log, one for Ana and one for Bea.
        let (group, halves) = handle
            .forge(|node| {
                let g = the_group(node);
                // An edit of Cal's engine's own may still wait to be sealed (its addresses, recorded when it
                // started): seal it first, so both halves follow Cal's last change and differ only in content.
                g.persist_pending().unwrap();
                let me = g.forge_device_keys().device_id();
                let seq = g.own_log_len() + 1;
                let prev_hash = g.head_hashes().get(&me).copied().unwrap_or([0; 32]);
                let link = sunspace_log::ChainLink { seq, prev_hash };
                let mut halves = Vec::new();
                for title in ["Cal's version for Ana", "Cal's version for Bea"] {
                    let meeting = g.view().meetings[0].id.clone();
                    let bytes = g.forge_changes(|doc| {
                        let meetings = doc.get(ROOT, "meetings").unwrap().unwrap().1;
                        let record = doc.get(&meetings, meeting.as_str()).unwrap().unwrap().1;
                        doc.put(&record, "place", title).unwrap();
                    });
                    halves.push(g.forge_entry_at(EntryKind::Change, link, &bytes).unwrap());
                }
                (g.id(), halves)
            })
            .await
            .unwrap();
        for (device, half) in devices.iter().zip(halves) {
            handle.forge_send_entries(*device, group, vec![half]).await.unwrap();
        }
        // Ana's and Bea's `serve` processes sync with each other; each finds the other half.
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let shown = [&ana, &bea].iter().all(|home| home.ok(&["status"]).contains("two different histories"));
            if shown {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    for home in [&ana, &bea] {
        let status = home.ok(&["status"]);
        assert!(status.contains("Cal's device") && status.contains("two different histories"), "{status}");
    }
    drop((ana_serve, bea_serve));
}
