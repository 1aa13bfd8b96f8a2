//! Stewards as signed authority: granted and ended by signed membership operations, several at once, the founder
//! removable by the others, never none.
#![allow(clippy::unwrap_used)]

mod common;

use common::{admit, day, device, sync};
use sunspace_model::NewMeeting;

#[test]
fn a_second_steward_can_admit_and_can_remove_the_founder() {
    let ana_vault = device("Ana");
    let mut ana = ana_vault.create_group("Tenants", day()).unwrap();
    ana.edit(|doc| doc.add_meeting(NewMeeting::new(day(), "First"))).unwrap();
    let bea_vault = device("Bea");
    let mut bea = admit(&mut ana, &bea_vault, "Bea");
    let bea_member = ana.members().member_of(&bea_vault.device_id()).unwrap().to_owned();
    let ana_member = ana.members().member_of(&ana_vault.device_id()).unwrap().to_owned();

    // Not yet a steward: Bea cannot change who the stewards are.
    assert!(bea.set_steward(&bea_member, true).is_err());
    ana.set_steward(&bea_member, true).unwrap();
    assert_eq!(ana.stewards().len(), 2);
    sync(&mut ana, &mut bea);
    assert!(bea.stewards().contains(&bea_member));

    // Bea admits Cy on her own authority.
    let cy_vault = device("Cy");
    let _cy = admit(&mut bea, &cy_vault, "Cy");
    assert!(bea.members().is_active_device(&cy_vault.device_id()));

    // And can remove the founder.
    bea.remove_member(&ana_member, "left the workplace").unwrap();
    assert!(!bea.members().is_active_device(&ana_vault.device_id()));
    assert_eq!(bea.stewards(), vec![bea_member.clone()]);
    // The last steward cannot stop being one.
    assert!(bea.set_steward(&bea_member, false).is_err());
}

#[test]
fn a_steward_role_can_be_ended_by_another_steward() {
    let ana_vault = device("Ana");
    let mut ana = ana_vault.create_group("Tenants", day()).unwrap();
    let bea_vault = device("Bea");
    let mut bea = admit(&mut ana, &bea_vault, "Bea");
    let bea_member = ana.members().member_of(&bea_vault.device_id()).unwrap().to_owned();
    ana.set_steward(&bea_member, true).unwrap();
    ana.set_steward(&bea_member, false).unwrap();
    sync(&mut ana, &mut bea);
    assert_eq!(bea.stewards().len(), 1);
    assert!(!bea.stewards().contains(&bea_member));
}

#[test]
fn a_decisions_history_names_the_device_that_changed_it() {
    use sunspace_model::{DecisionMethod, DecisionPatch, NewDecision, RecordKind};
    let ana_vault = device("Ana");
    let mut ana = ana_vault.create_group("Tenants", day()).unwrap();
    let decision = ana
        .edit(|doc| {
            doc.add_decision(NewDecision {
                title: "Rent strike".into(),
                method: DecisionMethod::Consensus,
                outcome: "agreed".into(),
                date: day(),
                review_by: None,
                meeting: None,
            })
        })
        .unwrap();
    let bea_vault = device("Bea");
    let mut bea = admit(&mut ana, &bea_vault, "Bea");
    bea.edit(|doc| {
        doc.update_decision(&decision, DecisionPatch { outcome: Some("postponed".into()), ..Default::default() })
    })
    .unwrap();
    sync(&mut bea, &mut ana);
    let lines = ana.history_sentences(RecordKind::Decision, &decision).unwrap();
    assert!(lines.iter().any(|l| l.contains("Ana's device") && l.contains("set outcome to \"agreed\"")), "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Bea's device") && l.contains("changed outcome from \"agreed\" to \"postponed\"")),
        "{lines:#?}"
    );
}

#[test]
fn a_membership_operation_the_rules_refuse_is_never_signed_into_the_log_or_sent() {
    let ana_vault = device("Ana");
    let mut ana = ana_vault.create_group("Tenants", day()).unwrap();
    let bea_vault = device("Bea");
    let mut bea = admit(&mut ana, &bea_vault, "Bea");
    let bea_member = ana.members().member_of(&bea_vault.device_id()).unwrap().to_owned();
    let before = bea.own_log_len();
    // Bea is no steward: a grant she signs would be refused by every device for good.
    let grant =
        sunspace_membership::Action::GrantRole { member: bea_member.clone(), role: sunspace_membership::Role::Steward };
    let error = bea.append_membership(grant).unwrap_err();
    assert!(error.to_string().contains("refuse"), "{error}");
    assert_eq!(bea.own_log_len(), before, "nothing was written");
    assert!(bea.members().rejected.is_empty(), "nothing was added to the membership log");
    assert!(common::missing(&mut bea, &ana).is_empty(), "nothing waits to be sent");
}
