//! Setting up and unlocking a device.

use std::fmt;
use std::sync::Arc;

use chrono::NaiveDate;
use sunspace_crypto::kdf::{derive_passphrase_key, KdfParams};
use sunspace_crypto::{random_array, DeviceId, DeviceKeys, Secret32};
use sunspace_log::GroupId;
use sunspace_model::{Founder, GroupDoc};
use sunspace_store::Store;
use zeroize::Zeroizing;

use crate::at_rest::{Shelf, LAYOUT_HIDDEN_NAMES, META_LAYOUT};
use crate::group::OpenGroup;
use crate::layout::migrate_to_hidden_names;
use crate::records::{DeviceSecrets, GroupIndex, GroupKeys, KdfRecord, Settings, META_DEVICE, META_KDF, META_SETTINGS};
use crate::NodeError;

/// Shortest passphrase accepted for a new device. Argon2id makes each guess expensive, but a short passphrase
/// still falls to a patient attacker with a seized phone; twelve characters is a few words.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

/// A passphrase, zeroized when dropped and never printed.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wraps a passphrase.
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// A group on this device, for listing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GroupSummary {
    /// The group's id (hex).
    pub id: String,
    /// Its name.
    pub name: String,
}

/// An unlocked device.
pub struct Vault {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) keys: DeviceKeys,
    pub(crate) storage_key: Secret32,
    /// The store seen through the storage key: where group records sit, under hidden names.
    pub(crate) shelf: Shelf,
    /// Groups this unlock could not move to hidden names ([`crate::at_rest`]), with a sentence each.
    unmoved: Vec<(GroupId, String)>,
    name: String,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault").field("device", &self.keys.device_id()).finish_non_exhaustive()
    }
}

impl Vault {
    /// What an open group borrows from this device.
    pub(crate) fn parts(&self) -> crate::group::DeviceParts<'_> {
        crate::group::DeviceParts { shelf: &self.shelf, keys: &self.keys, storage_key: &self.storage_key }
    }

    /// Whether a device has been set up in this store.
    pub fn is_initialized(store: &dyn Store) -> Result<bool, NodeError> {
        Ok(store.get_meta(META_DEVICE)?.is_some())
    }

    /// Sets up a new device: fresh keys, sealed under a key derived from `passphrase`.
    pub fn create(
        store: Arc<dyn Store>,
        passphrase: &Passphrase,
        name: &str,
        params: KdfParams,
    ) -> Result<Self, NodeError> {
        if Self::is_initialized(store.as_ref())? {
            return Err(NodeError::AlreadyInitialized);
        }
        if passphrase.0.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(NodeError::WeakPassphrase { min: MIN_PASSPHRASE_CHARS });
        }
        let name = name.trim();
        if name.is_empty() {
            return Err(sunspace_model::ModelError::Empty { field: "name" }.into());
        }
        let kdf = KdfRecord { params, salt: hex::encode(random_array::<16>()) };
        let kdf_bytes = kdf.encode();
        let passphrase_key = derive_passphrase_key(passphrase.bytes(), &kdf.salt()?, params)?;
        let keys = DeviceKeys::generate();
        let secrets = DeviceSecrets {
            signing_seed: keys.signing_seed(),
            agreement_seed: keys.agreement_seed(),
            storage_key: Secret32::random(),
            name: name.to_owned(),
        };
        store.put_meta(META_KDF, &kdf_bytes)?;
        store.put_meta(META_LAYOUT, LAYOUT_HIDDEN_NAMES)?;
        // The device record is written last: a crash before it leaves a store that is simply not set up yet.
        store.put_meta(META_DEVICE, &secrets.seal(&passphrase_key, &kdf_bytes))?;
        store.flush()?;
        tracing::info!(device = %keys.device_id().short(), "device set up");
        let shelf = Shelf::new(store.clone(), &secrets.storage_key);
        let name = secrets.name.clone();
        Ok(Self { store, keys, storage_key: secrets.storage_key.clone(), shelf, unmoved: Vec::new(), name })
    }

    /// Unlocks an existing device. A wrong passphrase gives [`NodeError::WrongPassphrase`] and writes nothing.
    pub fn unlock(store: Arc<dyn Store>, passphrase: &Passphrase) -> Result<Self, NodeError> {
        let (kdf_bytes, kdf) = Self::kdf_record(store.as_ref())?;
        let passphrase_key = derive_passphrase_key(passphrase.bytes(), &kdf.salt()?, kdf.params)?;
        Self::unlock_with_key(store, &passphrase_key, &kdf_bytes)
    }

    /// The stored key-derivation parameters (for reporting how long unlocking takes).
    pub fn kdf_params(store: &dyn Store) -> Result<KdfParams, NodeError> {
        Ok(Self::kdf_record(store)?.1.params)
    }

    fn kdf_record(store: &dyn Store) -> Result<(Vec<u8>, KdfRecord), NodeError> {
        let kdf_bytes = store.get_meta(META_KDF)?.ok_or(NodeError::NotInitialized)?;
        let kdf = KdfRecord::decode(&kdf_bytes)?;
        Ok((kdf_bytes, kdf))
    }

    fn unlock_with_key(store: Arc<dyn Store>, passphrase_key: &Secret32, kdf_bytes: &[u8]) -> Result<Self, NodeError> {
        let sealed = store.get_meta(META_DEVICE)?.ok_or(NodeError::NotInitialized)?;
        let secrets = DeviceSecrets::open(passphrase_key, kdf_bytes, &sealed)?;
        let keys = DeviceKeys::from_seeds(&secrets.signing_seed, &secrets.agreement_seed);
        let shelf = Shelf::new(store.clone(), &secrets.storage_key);
        // A directory from before names at rest is moved over before anything reads it. A group that cannot be
        // moved stays as it was and is reported; the device unlocks.
        let unmoved = migrate_to_hidden_names(&shelf)?;
        let name = secrets.name.clone();
        Ok(Self { store, keys, storage_key: secrets.storage_key.clone(), shelf, unmoved, name })
    }

    /// This device's public identity.
    pub fn device_id(&self) -> DeviceId {
        self.keys.device_id()
    }

    /// This device's public X25519 key, to which group keys are wrapped.
    pub fn agreement_public(&self) -> [u8; 32] {
        self.keys.agreement_public()
    }

    /// The name given at setup.
    pub fn owner_name(&self) -> &str {
        &self.name
    }

    /// Creates a group with this device as founder and its owner as first member and steward.
    pub fn create_group(&self, name: &str, today: NaiveDate) -> Result<OpenGroup, NodeError> {
        self.create_group_as(name, &self.name, today)
    }

    /// Like [`Vault::create_group`], with a different display name for the founder in this group.
    pub fn create_group_as(&self, name: &str, display_name: &str, today: NaiveDate) -> Result<OpenGroup, NodeError> {
        let nonce = random_array::<16>();
        let id = sunspace_membership::group_id_for(&self.keys.device_id(), &nonce);
        let founder = Founder {
            device_id: self.keys.device_id().to_hex(),
            agreement_key: hex::encode(self.keys.agreement_public()),
            display_name: display_name.to_owned(),
        };
        let (doc, member) = GroupDoc::create(&id.to_hex(), name, &founder, today)?;
        let (membership, _) = sunspace_membership::Log::found(&self.keys, &member, nonce);
        let keys = GroupKeys { epochs: vec![(0, Secret32::random())] };
        keys.save(&self.shelf, &id)?;
        let mut group = OpenGroup::new_founded(self.parts(), id, keys, doc, membership);
        // The founding operation comes first in the founder's log, so every device learns who may write before it
        // reads anything written.
        group.store_founding()?;
        group.persist_pending()?;
        Ok(group)
    }

    /// Takes a group this device was just admitted to: its keys, wrapped to this device in the join handshake
    /// (epoch, hex of the wrapped key). The group is empty until the first entries arrive from a peer.
    pub fn accept_group(&self, id: GroupId, wrapped: &[(u32, String)], name: &str) -> Result<OpenGroup, NodeError> {
        let mut epochs = Vec::new();
        for (epoch, text) in wrapped {
            let context = sunspace_membership::invite::welcome_wrap_context(&id, *epoch, &self.keys.device_id());
            let key = crate::records::unwrap_hex(&self.keys, text, &context)
                .ok_or_else(|| NodeError::Refused("the inviter sent a group key this device cannot open".into()))?;
            epochs.push((*epoch, key));
        }
        if epochs.is_empty() {
            return Err(NodeError::Refused("the inviter sent no group key".into()));
        }
        if self.shelf.get_meta(&self.shelf.keys_name(&id))?.is_some() {
            return Err(NodeError::Refused("this device is already in that group".into()));
        }
        let keys = GroupKeys { epochs };
        keys.save(&self.shelf, &id)?;
        GroupIndex::remember(self.store.as_ref(), &self.storage_key, &id, name)?;
        let mut group =
            OpenGroup::new_founded(self.parts(), id, keys, GroupDoc::empty(), sunspace_membership::Log::new(id));
        group.doc_mut().set_author(&self.keys.device_id().to_hex())?;
        // The empty snapshot makes the group known to the store, so it is listed and opened like any other.
        group.write_snapshot()?;
        self.store.flush()?;
        Ok(group)
    }

    /// Every group on this device, by name. Names come from the sealed group index; a group missing from it is
    /// opened once to learn its name.
    pub fn groups(&self) -> Result<Vec<GroupSummary>, NodeError> {
        let index = GroupIndex::load(self.store.as_ref(), &self.storage_key)?;
        let mut groups = Vec::new();
        for id in self.group_ids()? {
            let name = match index.names.get(&id.to_hex()) {
                Some(name) => name.clone(),
                None => self.open_group(id)?.view().name,
            };
            groups.push(GroupSummary { id: id.to_hex(), name });
        }
        groups.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.id.cmp(&b.id)));
        Ok(groups)
    }

    /// Ids of the groups on this device, without opening them.
    pub fn group_ids(&self) -> Result<Vec<GroupId>, NodeError> {
        Ok(self.stored_groups()?.0)
    }

    /// Groups whose stored records this device cannot read (a damaged keys record; a group from an older version
    /// that could not be moved), each with a sentence: they are not in [`Vault::group_ids`], and are reported.
    pub fn unreadable_groups(&self) -> Result<Vec<(GroupId, String)>, NodeError> {
        Ok(self.stored_groups()?.1)
    }

    /// [`Vault::group_ids`] and [`Vault::unreadable_groups`] from one reading of the store.
    #[allow(clippy::type_complexity)]
    pub fn stored_groups(&self) -> Result<(Vec<GroupId>, Vec<(GroupId, String)>), NodeError> {
        let (groups, others) = crate::records::stored_groups(&self.shelf)?;
        let mut unreadable = self.unmoved.clone();
        // A group left under its old names is listed by the store too, as records without a key: say it once.
        unreadable.extend(others.into_iter().filter(|(id, _)| self.unmoved.iter().all(|(unmoved, _)| unmoved != id)));
        Ok((groups, unreadable))
    }

    /// Opens a group: its keys, its snapshot, and the entries after it.
    pub fn open_group(&self, id: GroupId) -> Result<OpenGroup, NodeError> {
        OpenGroup::open(self.parts(), id)
    }

    /// The group chosen with `group use`, if any.
    pub fn current_group(&self) -> Result<Option<GroupId>, NodeError> {
        Ok(self.settings()?.current_group.and_then(|hex| GroupId::from_hex(&hex)))
    }

    /// Makes `group` the one commands act on by default.
    pub fn set_current_group(&self, group: GroupId) -> Result<(), NodeError> {
        let mut settings = self.settings()?;
        settings.current_group = Some(group.to_hex());
        self.store.put_meta(META_SETTINGS, &settings.seal(&self.storage_key))?;
        self.store.flush()?;
        Ok(())
    }

    fn settings(&self) -> Result<Settings, NodeError> {
        match self.store.get_meta(META_SETTINGS)? {
            Some(sealed) => Settings::open(&self.storage_key, &sealed),
            None => Ok(Settings::default()),
        }
    }
}
