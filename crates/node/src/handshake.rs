//! Both sides of the in-person handshake, with no I/O. On the inviting device, [`Inviting::on_request`] takes one
//! message from the joining device and says what to do ([`Step`]), and [`Inviting::decision`] says, once both
//! people answered, whether to admit. On the joining device, [`Joiner`] makes each message and checks each answer.
//! The engine does the rest: it finds the inviter, sends and receives, shows the words, admits, and owns the clock.
//! The messages themselves are `sunspace_membership::invite`'s.
//!
//! ```text
//! inviting: Open ──hello with the proof──▶ Challenged ──reveal matching the commitment──▶ Revealed ──confirm──▶ decision
//!             ▲ a hello without the proof, or from another device, is refused and changes nothing
//! joining:  hello ──challenge proving the inviter holds the secret──▶ reveal ──revealed──▶ words ──▶ confirm ──▶ welcome
//! ```

use sunspace_crypto::DeviceId;
use sunspace_membership::invite::{Invitation, JoinAnswer, JoinRequest, Transcript};

/// What the joining side is told when the invitation is not (or no longer) theirs to use: the same answer an
/// unknown invitation gets, so a stranger who learned the tag learns nothing.
pub const NOT_OPEN: &str = "this invitation is not open on that device: it expired, was used, or was never made";

/// Where an invitation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for a device that knows the secret.
    Open,
    /// A device proved it knows the secret and was challenged; its commitment waits for its reveal.
    Challenged {
        /// The device.
        joiner: DeviceId,
        /// Its commitment to the nonce it will reveal.
        commitment: [u8; 32],
        /// Its agreement key.
        agreement: [u8; 32],
        /// The nonce this device sent it.
        nonce: [u8; 32],
    },
    /// The words are on both screens; the people compare them.
    Revealed {
        /// The device.
        joiner: DeviceId,
        /// Its agreement key.
        agreement: [u8; 32],
        /// The name it gave.
        name: String,
    },
}

/// One invitation on the inviting device.
#[derive(Clone)]
pub struct Inviting {
    /// The invitation's secret and code.
    pub invitation: Invitation,
    /// Where it stands.
    pub stage: Stage,
    /// The person at this device said the words match (or not).
    pub inviter_confirmed: Option<bool>,
    /// The joining device confirmed, on this request ticket.
    pub joiner_confirmed: Option<u64>,
    /// Where the joining device said it listens (recorded in the roster with its admission).
    pub joiner_addresses: Vec<String>,
    /// The joining device read the code from the QR code (recorded with the admission).
    pub via_qr: bool,
}

/// What the engine does with one message from the joining device.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Answer the joining device; the invitation goes on.
    Answer(JoinAnswer),
    /// Show these words to the person here, and answer the joining device.
    Words {
        /// The words both screens show.
        words: String,
        /// The name the joining device gave.
        name: String,
        /// The joining device.
        device: DeviceId,
        /// The answer.
        answer: JoinAnswer,
    },
    /// End the invitation: refuse the joining device with `told` and tell the person here `reason`.
    Fail {
        /// The joining device's refusal.
        told: String,
        /// The reason shown here.
        reason: String,
    },
    /// The joining device confirmed the words: admit if the person here did too ([`Inviting::decision`]).
    JoinerConfirmed,
}

/// Whether to admit, once both people have answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Someone has not answered yet.
    Wait,
    /// The person here said the words do not match.
    Refuse(String),
    /// Both said they match: admit this device under this name with this agreement key.
    Admit {
        /// The device.
        joiner: DeviceId,
        /// Its agreement key.
        agreement: [u8; 32],
        /// Its name.
        name: String,
        /// The ticket to answer the joining device on.
        ticket: u64,
    },
}

fn refuse(reason: &str) -> JoinAnswer {
    JoinAnswer::Refused { reason: reason.to_owned() }
}

/// Compares two values derived from an invitation's secret in constant time.
fn same_secret(a: &[u8; 32], b: &[u8; 32]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

impl std::fmt::Debug for Inviting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The invitation holds the secret: never printed.
        f.debug_struct("Inviting").field("stage", &self.stage).finish_non_exhaustive()
    }
}

impl Inviting {
    /// A new, open invitation.
    pub fn new(invitation: Invitation) -> Self {
        Self {
            invitation,
            stage: Stage::Open,
            inviter_confirmed: None,
            joiner_confirmed: None,
            joiner_addresses: Vec::new(),
            via_qr: false,
        }
    }

    /// One message from device `from` (this device is `me`), on request `ticket`. `nonce` is fresh randomness for
    /// a challenge; `group_name` and `inviter_name` are told only to a device that proved it knows the secret.
    #[allow(clippy::too_many_arguments)]
    pub fn on_request(
        &mut self,
        me: DeviceId,
        from: DeviceId,
        request: JoinRequest,
        ticket: u64,
        nonce: [u8; 32],
        group_name: &str,
        inviter_name: &str,
        kind: sunspace_membership::invite::InviteKind,
    ) -> Step {
        match (&self.stage, request) {
            // A hello not bound to this connection's device (a stranger who learned the tag, or relays another
            // device's hello) gets the answer an unknown invitation gets: no name, and the invitation stays open.
            (_, JoinRequest::Hello { hello, .. }) if !same_secret(&hello, &self.invitation.hello_proof(&from)) => {
                tracing::warn!(device = %from.short(), "a hello without proof of the invitation's secret; refused");
                Step::Answer(refuse(NOT_OPEN))
            }
            // The first hello with the proof binds the invitation to its device; the same device may say hello
            // again (its first answer did not arrive in time) and is challenged afresh.
            (Stage::Open, JoinRequest::Hello { commitment, agreement, via_qr, .. })
            | (Stage::Challenged { .. }, JoinRequest::Hello { commitment, agreement, via_qr, .. })
                if matches!(self.stage, Stage::Open)
                    || matches!(self.stage, Stage::Challenged { joiner, .. } if joiner == from) =>
            {
                self.via_qr = via_qr;
                let proof = self.invitation.proof(&me, &from, &nonce);
                self.stage = Stage::Challenged { joiner: from, commitment, agreement, nonce };
                Step::Answer(JoinAnswer::Challenge {
                    nonce,
                    proof,
                    group_name: group_name.to_owned(),
                    inviter_name: inviter_name.to_owned(),
                    kind,
                })
            }
            (
                Stage::Challenged { joiner, commitment, agreement, nonce: inviter_nonce },
                JoinRequest::Reveal { nonce, name, .. },
            ) if *joiner == from => {
                if Invitation::commitment(&from, &nonce) != *commitment {
                    return Step::Fail {
                        told: "the handshake did not check out; nothing was added".into(),
                        reason: "the joining device's handshake did not check out; nothing was added".into(),
                    };
                }
                let transcript = Transcript {
                    inviter: me,
                    joiner: from,
                    joiner_agreement: *agreement,
                    inviter_nonce: *inviter_nonce,
                    joiner_nonce: nonce,
                };
                let words = self.invitation.words(&transcript).to_string();
                self.stage = Stage::Revealed { joiner: from, agreement: *agreement, name: name.clone() };
                Step::Words { words, name, device: from, answer: JoinAnswer::Revealed }
            }
            (Stage::Revealed { joiner, .. }, JoinRequest::Confirm { matched, addresses, .. }) if *joiner == from => {
                if !matched {
                    return Step::Fail {
                        told: "nothing was added".into(),
                        reason: "the newcomer said the words did not match; nothing was added".into(),
                    };
                }
                self.joiner_confirmed = Some(ticket);
                self.joiner_addresses = addresses;
                Step::JoinerConfirmed
            }
            (Stage::Open, _) => Step::Answer(refuse("the handshake is out of order")),
            _ => Step::Answer(refuse("this invitation is already being used by another device")),
        }
    }

    /// Whether to admit, given both people's answers so far.
    pub fn decision(&self) -> Decision {
        match (self.inviter_confirmed, self.joiner_confirmed, &self.stage) {
            (Some(false), _, _) => Decision::Refuse("you said the words did not match; nothing was added".into()),
            (Some(true), Some(ticket), Stage::Revealed { joiner, agreement, name }) => {
                Decision::Admit { joiner: *joiner, agreement: *agreement, name: name.clone(), ticket }
            }
            _ => Decision::Wait,
        }
    }
}

/// The joining side of the handshake: the messages it sends and the checks of what comes back.
pub struct Joiner {
    invitation: Invitation,
    me: DeviceId,
    agreement: [u8; 32],
    name: String,
    nonce: [u8; 32],
}

impl std::fmt::Debug for Joiner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The invitation and the nonce are secrets until revealed: never printed.
        f.debug_struct("Joiner").field("me", &self.me.short()).finish_non_exhaustive()
    }
}

/// The inviting device, found: it proved it holds the invitation's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inviter {
    /// The device.
    pub device: DeviceId,
    /// The nonce it challenged with.
    pub nonce: [u8; 32],
    /// The group it invites to.
    pub group_name: String,
    /// Its owner.
    pub inviter_name: String,
}

impl Joiner {
    /// A join by this device (`me`, with its agreement key and name) with `invitation`; `nonce` is fresh randomness.
    pub fn new(invitation: Invitation, me: DeviceId, agreement: [u8; 32], name: String, nonce: [u8; 32]) -> Self {
        Self { invitation, me, agreement, name, nonce }
    }

    /// The first message, the same to every candidate: it names no one.
    pub fn hello(&self) -> JoinRequest {
        JoinRequest::Hello {
            tag: self.invitation.tag(),
            hello: self.invitation.hello_proof(&self.me),
            commitment: Invitation::commitment(&self.me, &self.nonce),
            agreement: self.agreement,
            via_qr: !self.invitation.addresses.is_empty(),
        }
    }

    /// A candidate's answer to the hello: the inviter if it proves it holds the secret, else why not.
    pub fn on_challenge(&self, candidate: DeviceId, answer: JoinAnswer) -> Result<Inviter, String> {
        match answer {
            JoinAnswer::Challenge { nonce, proof, group_name, inviter_name, .. }
                if same_secret(&proof, &self.invitation.proof(&candidate, &self.me, &nonce)) =>
            {
                Ok(Inviter { device: candidate, nonce, group_name, inviter_name })
            }
            JoinAnswer::Refused { reason } => Err(reason),
            _ => Err("a device answered but does not hold this invitation".into()),
        }
    }

    /// The second message, to the inviter only: the nonce committed to, and this device's name.
    pub fn reveal(&self) -> JoinRequest {
        JoinRequest::Reveal { tag: self.invitation.tag(), nonce: self.nonce, name: self.name.clone() }
    }

    /// The inviter's answer to the reveal: the words both screens show, else why not.
    pub fn on_revealed(&self, inviter: &Inviter, answer: JoinAnswer) -> Result<String, String> {
        match answer {
            JoinAnswer::Revealed => {
                let transcript = Transcript {
                    inviter: inviter.device,
                    joiner: self.me,
                    joiner_agreement: self.agreement,
                    inviter_nonce: inviter.nonce,
                    joiner_nonce: self.nonce,
                };
                Ok(self.invitation.words(&transcript).to_string())
            }
            JoinAnswer::Refused { reason } => Err(reason),
            _ => Err("the inviting device answered out of turn".into()),
        }
    }

    /// The last message: whether the person here said the words match, and where this device listens.
    pub fn confirm(&self, matched: bool, addresses: Vec<String>) -> JoinRequest {
        JoinRequest::Confirm { tag: self.invitation.tag(), matched, addresses }
    }

    /// The inviter's answer to a yes: the group and its keys wrapped to this device, else why not.
    pub fn on_welcome(answer: JoinAnswer) -> Result<(sunspace_log::GroupId, Vec<(u32, String)>), String> {
        match answer {
            JoinAnswer::Welcome { group, keys, .. } => {
                let group = sunspace_log::GroupId::from_hex(&group)
                    .ok_or_else(|| "the inviting device sent a malformed group id".to_owned())?;
                Ok((group, keys))
            }
            JoinAnswer::Refused { reason } => Err(reason),
            _ => Err("the inviting device answered out of turn".into()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sunspace_membership::invite::InviteKind;

    const ME: DeviceId = DeviceId([1; 32]);
    const BEA: DeviceId = DeviceId([2; 32]);
    const EVE: DeviceId = DeviceId([3; 32]);

    fn hello(invitation: &Invitation, device: &DeviceId, nonce: &[u8; 32]) -> JoinRequest {
        JoinRequest::Hello {
            tag: invitation.tag(),
            hello: invitation.hello_proof(device),
            commitment: Invitation::commitment(device, nonce),
            agreement: [9; 32],
            via_qr: true,
        }
    }

    fn step(inviting: &mut Inviting, from: DeviceId, request: JoinRequest) -> Step {
        inviting.on_request(ME, from, request, 7, [5; 32], "Tenants", "Ana", InviteKind::Member)
    }

    #[test]
    fn a_device_that_proves_the_secret_is_challenged_then_shown_the_words_then_admitted_when_both_say_yes() {
        let invitation = Invitation::random(Vec::new());
        let mut inviting = Inviting::new(invitation.clone());
        let nonce = [4; 32];
        let Step::Answer(JoinAnswer::Challenge { group_name, inviter_name, .. }) =
            step(&mut inviting, BEA, hello(&invitation, &BEA, &nonce))
        else {
            panic!("a challenge")
        };
        assert_eq!((group_name.as_str(), inviter_name.as_str()), ("Tenants", "Ana"));
        let reveal = JoinRequest::Reveal { tag: invitation.tag(), nonce, name: "Bea".into() };
        let Step::Words { name, device, .. } = step(&mut inviting, BEA, reveal) else { panic!("the words") };
        assert_eq!((name.as_str(), device), ("Bea", BEA));
        assert_eq!(inviting.decision(), Decision::Wait);
        let confirm = JoinRequest::Confirm { tag: invitation.tag(), matched: true, addresses: Vec::new() };
        assert_eq!(step(&mut inviting, BEA, confirm), Step::JoinerConfirmed);
        assert_eq!(inviting.decision(), Decision::Wait, "the person here has not answered");
        inviting.inviter_confirmed = Some(true);
        assert!(matches!(inviting.decision(), Decision::Admit { joiner: BEA, ticket: 7, .. }));
    }

    #[test]
    fn a_stranger_without_the_secret_or_a_second_device_learns_nothing_and_changes_nothing() {
        let invitation = Invitation::random(Vec::new());
        let mut inviting = Inviting::new(invitation.clone());
        // Eve relays Bea's hello (she knows the tag, not the secret): refused as an unknown invitation.
        let relayed = hello(&invitation, &BEA, &[4; 32]);
        assert_eq!(step(&mut inviting, EVE, relayed), Step::Answer(refuse(NOT_OPEN)));
        assert_eq!(inviting.stage, Stage::Open);
        // Bea binds it; Eve, even with a valid proof of her own device, cannot take it over.
        step(&mut inviting, BEA, hello(&invitation, &BEA, &[4; 32]));
        let answer = step(&mut inviting, EVE, hello(&invitation, &EVE, &[6; 32]));
        assert_eq!(answer, Step::Answer(refuse("this invitation is already being used by another device")));
        assert!(matches!(inviting.stage, Stage::Challenged { joiner: BEA, .. }));
    }

    #[test]
    fn a_reveal_that_breaks_its_commitment_or_words_that_differ_end_the_invitation() {
        let invitation = Invitation::random(Vec::new());
        let mut inviting = Inviting::new(invitation.clone());
        step(&mut inviting, BEA, hello(&invitation, &BEA, &[4; 32]));
        let other = JoinRequest::Reveal { tag: invitation.tag(), nonce: [8; 32], name: "Bea".into() };
        assert!(matches!(step(&mut inviting, BEA, other), Step::Fail { .. }));

        let mut inviting = Inviting::new(invitation.clone());
        step(&mut inviting, BEA, hello(&invitation, &BEA, &[4; 32]));
        step(&mut inviting, BEA, JoinRequest::Reveal { tag: invitation.tag(), nonce: [4; 32], name: "Bea".into() });
        let no = JoinRequest::Confirm { tag: invitation.tag(), matched: false, addresses: Vec::new() };
        assert!(matches!(step(&mut inviting, BEA, no), Step::Fail { .. }));
        inviting.inviter_confirmed = Some(false);
        assert!(matches!(inviting.decision(), Decision::Refuse(_)));
    }

    #[test]
    fn a_message_out_of_order_is_refused() {
        let invitation = Invitation::random(Vec::new());
        let mut inviting = Inviting::new(invitation.clone());
        let early = JoinRequest::Confirm { tag: invitation.tag(), matched: true, addresses: Vec::new() };
        assert_eq!(step(&mut inviting, BEA, early), Step::Answer(refuse("the handshake is out of order")));
    }

    #[test]
    fn the_two_sides_run_against_each_other_show_the_same_words_and_end_in_a_welcome() {
        let invitation = Invitation::random(Vec::new());
        let mut inviting = Inviting::new(invitation.clone());
        let joining = Joiner::new(invitation, BEA, [9; 32], "Bea".into(), [4; 32]);
        let Step::Answer(challenge) = step(&mut inviting, BEA, joining.hello()) else { panic!("a challenge") };
        assert!(joining.on_challenge(EVE, challenge.clone()).is_err(), "the proof is bound to the inviter");
        let inviter = joining.on_challenge(ME, challenge).unwrap();
        assert_eq!(inviter.group_name, "Tenants");
        let Step::Words { words: inviter_words, answer, .. } = step(&mut inviting, BEA, joining.reveal()) else {
            panic!("the words")
        };
        assert_eq!(joining.on_revealed(&inviter, answer).unwrap(), inviter_words);
        assert_eq!(step(&mut inviting, BEA, joining.confirm(true, Vec::new())), Step::JoinerConfirmed);
        inviting.inviter_confirmed = Some(true);
        assert!(matches!(inviting.decision(), Decision::Admit { joiner: BEA, .. }));
        let welcome = JoinAnswer::Welcome { group: "ab".repeat(16), member: "bea".into(), keys: Vec::new() };
        assert!(Joiner::on_welcome(welcome).is_ok());
    }
}
