//! The relay-admin message: the owner of a member-run relay tells it which devices may use it.
//!
//! A relay holds no group keys (its disk and memory must hold nothing readable), so it cannot compute a group's
//! membership itself. Instead the member device that runs it (its *owner*) sends it the member devices of the
//! groups that use it, on `/sunspace/relay-admin/1`, whenever that set changes and whenever it reconnects. The
//! relay accepts the message only from its owner (the transport authenticates the sender) and only if its
//! sequence number is newer than the last one it applied, so a delayed old list cannot undo a removal.
//!
//! Wire format (all integers big-endian):
//!
//! ```text
//! version: u8 = 1 ‖ sequence: u64 ‖ count: u16 ‖ count × device id (32 bytes each)
//! ```
//!
//! ```
//! use sunspace_crypto::DeviceId;
//! use sunspace_net::RelayClients;
//! let list = RelayClients { sequence: 7, devices: vec![DeviceId([9; 32])] };
//! assert_eq!(RelayClients::decode(&list.encode()), Ok(list));
//! ```

use sunspace_crypto::DeviceId;

const VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + 8 + 2;

/// Most devices a relay will serve: enough for 40 members with many devices each, small enough to bound memory.
pub const MAX_RELAY_CLIENTS: usize = 4_096;

/// The devices allowed to use a relay, as its owner sends them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayClients {
    /// Increases with every list the owner sends (the owner uses the time in milliseconds).
    pub sequence: u64,
    /// The allowed devices (the owner is always allowed, listed or not).
    pub devices: Vec<DeviceId>,
}

/// A relay-admin message that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RelayClientsError {
    /// Shorter than its header or its count says.
    #[error("the relay-admin message is truncated")]
    Truncated,
    /// Longer than its count says.
    #[error("the relay-admin message has trailing bytes")]
    TrailingBytes,
    /// A version this device does not know.
    #[error("unknown relay-admin message version {0}")]
    UnknownVersion(u8),
    /// More devices than [`MAX_RELAY_CLIENTS`].
    #[error("the relay-admin message lists too many devices")]
    TooMany,
}

impl RelayClients {
    /// The message's bytes. Lists longer than [`MAX_RELAY_CLIENTS`] are cut to that length.
    pub fn encode(&self) -> Vec<u8> {
        let devices = &self.devices[..self.devices.len().min(MAX_RELAY_CLIENTS)];
        let mut out = Vec::with_capacity(HEADER_LEN + 32 * devices.len());
        out.push(VERSION);
        out.extend_from_slice(&self.sequence.to_be_bytes());
        // At most MAX_RELAY_CLIENTS (4,096), which fits in a u16.
        out.extend_from_slice(&(devices.len() as u16).to_be_bytes());
        for device in devices {
            out.extend_from_slice(&device.0);
        }
        out
    }

    /// Reads a message, checking every length before allocating.
    pub fn decode(bytes: &[u8]) -> Result<Self, RelayClientsError> {
        let (&version, rest) = bytes.split_first().ok_or(RelayClientsError::Truncated)?;
        if version != VERSION {
            return Err(RelayClientsError::UnknownVersion(version));
        }
        let (sequence, rest) = rest.split_first_chunk::<8>().ok_or(RelayClientsError::Truncated)?;
        let (count, rest) = rest.split_first_chunk::<2>().ok_or(RelayClientsError::Truncated)?;
        let count = usize::from(u16::from_be_bytes(*count));
        if count > MAX_RELAY_CLIENTS {
            return Err(RelayClientsError::TooMany);
        }
        let expected = count * 32;
        if rest.len() < expected {
            return Err(RelayClientsError::Truncated);
        }
        if rest.len() > expected {
            return Err(RelayClientsError::TrailingBytes);
        }
        let devices = rest
            .chunks_exact(32)
            .map(|chunk| {
                let mut id = [0u8; 32];
                id.copy_from_slice(chunk);
                DeviceId(id)
            })
            .collect();
        Ok(Self { sequence: u64::from_be_bytes(*sequence), devices })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_test_vector_encodes_as_in_protocol_md() {
        let list = RelayClients { sequence: 0x0102, devices: vec![DeviceId([0xaa; 32])] };
        let expected = format!("01{}{}{}", "0000000000000102", "0001", "aa".repeat(32));
        let hex: String = list.encode().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
        assert_eq!(RelayClients::decode(&list.encode()), Ok(list));
    }

    #[test]
    fn malformed_messages_are_refused_with_the_reason() {
        let good = RelayClients { sequence: 1, devices: vec![DeviceId([1; 32]), DeviceId([2; 32])] }.encode();
        assert_eq!(RelayClients::decode(&[]), Err(RelayClientsError::Truncated));
        assert_eq!(RelayClients::decode(&good[..good.len() - 1]), Err(RelayClientsError::Truncated));
        let mut long = good.clone();
        long.push(0);
        assert_eq!(RelayClients::decode(&long), Err(RelayClientsError::TrailingBytes));
        let mut version = good.clone();
        version[0] = 2;
        assert_eq!(RelayClients::decode(&version), Err(RelayClientsError::UnknownVersion(2)));
        let mut many = good;
        many[9..11].copy_from_slice(&u16::MAX.to_be_bytes());
        assert_eq!(RelayClients::decode(&many), Err(RelayClientsError::TooMany));
    }

    proptest::proptest! {
        #[test]
        fn any_list_round_trips(sequence: u64, ids in proptest::collection::vec(proptest::array::uniform32(0u8..), 0..64)) {
            let list = RelayClients { sequence, devices: ids.into_iter().map(DeviceId).collect() };
            proptest::prop_assert_eq!(RelayClients::decode(&list.encode()), Ok(list));
        }

        #[test]
        fn any_bytes_decode_or_err_without_panicking(bytes in proptest::collection::vec(0u8.., 0..200)) {
            let _ = RelayClients::decode(&bytes);
        }
    }
}
