//! What the UI sends and receives, besides the model's views (`sunspace_model::view`). Each type here has a
//! generated TypeScript twin in `ui/src/bindings/`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use crate::error::ErrorKind;
pub use crate::passphrase::PassphraseCheck;

/// Whether this device is set up and unlocked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DeviceState {
    /// A device exists in the data folder.
    pub set_up: bool,
    /// Its keys are unlocked and the engine runs.
    pub unlocked: bool,
    /// The owner's name, once unlocked.
    pub name: Option<String>,
    /// The device id (hex), once unlocked.
    pub device: Option<String>,
}

/// A group on this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GroupItem {
    /// Its id (hex).
    pub id: String,
    /// Its name.
    pub name: String,
}

/// One other member device, as the sync view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PeerView {
    /// The member's name.
    pub name: String,
    /// The device id (hex).
    pub device: String,
    /// In reach now.
    pub connected: bool,
    /// In plain words: "up to date", "3 changes to send", "not in reach since Sunspace started on this device".
    pub state: String,
    /// How it is reached, in plain words: "in reach on this network", "through the group's relay", or when it
    /// was last reached.
    pub reach: String,
}

/// Sync status in words a non-engineer reads at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SyncView {
    /// Connected to at least one other member device.
    pub online: bool,
    /// One sentence: what is in reach and whether everything is shared.
    pub summary: String,
    /// The other member devices of the group asked about.
    pub peers: Vec<PeerView>,
    /// Entries received that wait for earlier ones (a new device receiving its history).
    pub waiting: u64,
    /// While this device receives records it lacks (a new device receiving the group's history): how far along.
    pub receiving: Option<SyncProgress>,
    /// What a steward should know about the group's integrity, a sentence each: a device that signed two
    /// histories, entries refused, stored entries left out, membership changes waiting or refused.
    pub integrity: Vec<String>,
}

/// How far a device is in receiving what the devices in reach hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SyncProgress {
    /// Records held here.
    pub held: u64,
    /// Records held here plus those still to come.
    pub total: u64,
    /// In words: "Receiving the group's records: 120 of 480."
    pub summary: String,
}

/// Changes to the charter; a missing field is left as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CharterInput {
    /// Why the group exists.
    pub purpose: Option<String>,
    /// How decisions are made.
    pub decision_rules: Option<String>,
    /// How often the group meets ("monthly", "every 2 weeks", …).
    pub cadence: Option<String>,
    /// What members promise about what is said in the group.
    pub confidentiality: Option<String>,
}

/// An open invitation, for the inviter's screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct InviteView {
    /// Names the invitation in later calls.
    pub flow: String,
    /// The code to type, grouped for reading.
    pub code: String,
    /// The QR code as an SVG image (it holds the code and this device's addresses).
    pub qr_svg: String,
    /// The QR code's text.
    pub qr_text: String,
    /// Minutes it stays valid.
    pub minutes: u64,
}

/// Where an invitation or a join stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "stage", rename_all = "kebab-case")]
pub enum FlowStep {
    /// Waiting for the other device.
    Waiting,
    /// Both screens show these words: the people compare them aloud and confirm.
    Compare {
        /// The words.
        words: String,
        /// Who is on the other side, in a phrase.
        with: String,
    },
    /// It worked.
    Done {
        /// What happened, in a sentence.
        message: String,
        /// The group joined (on the joining device).
        group: Option<String>,
    },
    /// It ended without admitting anyone.
    Failed {
        /// Why, in a sentence.
        message: String,
    },
}

/// What changed, for the UI to refresh. Sent in batches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AppEvent {
    /// A group's records changed, here or on another device.
    Changed {
        /// The group (hex).
        group: String,
        /// Where the change was made.
        origin: ChangeOrigin,
        /// The kinds of record changed (a window reloads those); empty when any may have (from a peer).
        records: Vec<sunspace_model::RecordKind>,
        /// The document's heads after the change: a window that shows these already (its own edit) skips it.
        heads: Vec<String>,
    },
    /// A member device came into reach or left it.
    Peers,
    /// An invitation or join moved on.
    Flow {
        /// The flow's id.
        flow: String,
    },
}

/// Where a change was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeOrigin {
    /// On this device (this window, another window, or the command line through the same engine).
    Local,
    /// On another device, received.
    Remote,
}

/// A saved export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Export {
    /// What was saved: Markdown for the minutes and decisions (also for printing), JSON for the full archive.
    pub text: String,
    /// Where it was saved.
    pub path: String,
}
