//! A hostile member's fork, found over the network: Mal signs two different entries for one place in its log and
//! gives one to Ana and the other to Bea. Ana's and Bea's engines then meet over real libp2p on loopback (mDNS
//! off); their heads name the same place in Mal's log with different hashes, so each sends the other its half,
//! and both hold the proof.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use automerge::transaction::Transactable;
use automerge::{ReadDoc, ROOT};
use common::{admit, day, device, sync};
use sunspace_log::{ChainLink, Entry, EntryKind};
use sunspace_node::engine::{start, EngineOptions};
use sunspace_node::{IntegrityKind, NodeHandle};

async fn address(handle: &NodeHandle) -> String {
    for _ in 0..200 {
        if let Some(address) = handle.status().await.unwrap().listening.into_iter().next() {
            return address;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the engine never listened");
}

async fn sees_equivocation(handle: &NodeHandle) -> bool {
    let status = handle.status().await.unwrap();
    status.groups.iter().flat_map(|g| &g.integrity).any(|n| n.kind == IntegrityKind::Equivocation)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_histories_given_to_two_members_are_found_when_they_sync() {
    let (ana_vault, bea_vault, mal_vault) = (device("Ana"), device("Bea"), device("Mal"));
    let mut ana = ana_vault.create_group("Night shift", day()).unwrap();
    let mut bea = admit(&mut ana, &bea_vault, "Bea");
    let mut mal = admit(&mut ana, &mal_vault, "Mal");
    sync(&mut ana, &mut bea);
    // Mal's two entries for its first place.
    let link = ChainLink { seq: 1, prev_hash: [0; 32] };
    let half = |mal: &mut sunspace_node::OpenGroup, value: i64| {
        let bytes = mal.forge_changes(|doc| {
            let meetings = doc.get(ROOT, "meetings").unwrap().unwrap().1;
            doc.put(&meetings, "x", value).unwrap();
        });
        mal.forge_entry_at(EntryKind::Change, link, &bytes).unwrap()
    };
    let (for_ana, for_bea) = (half(&mut mal, 1), half(&mut mal, 2));
    assert_ne!(Entry::decode(&for_ana).unwrap().hash(), Entry::decode(&for_bea).unwrap().hash());
    assert_eq!(ana.receive(vec![for_ana]).unwrap().accepted.len(), 1);
    assert_eq!(bea.receive(vec![for_bea]).unwrap().accepted.len(), 1);
    assert!(ana.integrity().iter().all(|n| n.kind != IntegrityKind::Equivocation));
    drop((ana, bea, mal));

    // Ana's and Bea's devices, as engines; Bea connects to Ana.
    let ana = start(ana_vault, EngineOptions::loopback()).await.unwrap();
    let bea = start(bea_vault, EngineOptions::loopback()).await.unwrap();
    let at = address(&ana).await;
    bea.add_peer(&at).await.unwrap();
    for _ in 0..200 {
        if sees_equivocation(&ana).await && sees_equivocation(&bea).await {
            let status = ana.status().await.unwrap();
            let note = status.groups[0].integrity.iter().find(|n| n.kind == IntegrityKind::Equivocation).unwrap();
            assert!(note.sentence.contains("Mal's device"), "{}", note.sentence);
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the fork was not found: Ana {:?}", ana.status().await.unwrap().groups[0].integrity);
}
