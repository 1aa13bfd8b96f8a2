//! Length-prefixed frames for the sync protocol, bounded before anything is allocated.

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::{request_response, StreamProtocol};

/// The sync protocol's name and version.
pub(crate) const SYNC_PROTOCOL: StreamProtocol = StreamProtocol::new("/sunspace/sync/1");
/// The join protocol's name and version: the handshake that admits a device in person (same framing).
pub(crate) const JOIN_PROTOCOL: StreamProtocol = StreamProtocol::new("/sunspace/join/1");
/// The relay-admin protocol: a relay's owner sends it the devices it may serve (same framing; see
/// [`crate::RelayClients`]).
pub(crate) const RELAY_ADMIN_PROTOCOL: StreamProtocol = StreamProtocol::new("/sunspace/relay-admin/1");

/// Largest frame: the largest sync message (`sunspace_replicate::MAX_MESSAGE_LEN`, 8 MiB + 64 KiB).
pub const MAX_MESSAGE_LEN: usize = 8 * 1024 * 1024 + 64 * 1024;

/// Largest join-protocol frame: the largest join message `sunspace_membership::invite` decodes (64 KiB). Join
/// messages carry proofs, names, addresses and, in the welcome, one wrapped key per key epoch (about 220 bytes
/// each), never history: that follows over sync once the newcomer is a member. A stranger may send them, so they
/// stay far below sync's 8 MiB.
pub(crate) const MAX_JOIN_MESSAGE_LEN: usize = 64 * 1024;
/// Largest relay-admin frame: the owner's list of devices a relay may serve (`RelayClients`, at most 4,096 ids).
pub(crate) const MAX_RELAY_ADMIN_MESSAGE_LEN: usize = 256 * 1024;

/// Raw-bytes codec: `u32 length ‖ bytes`, refusing a frame longer than `max_len` before allocating it.
#[derive(Debug, Clone)]
pub(crate) struct SyncCodec {
    max_len: usize,
}

impl SyncCodec {
    pub(crate) fn new(max_len: usize) -> Self {
        Self { max_len }
    }
}

async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T, max_len: usize) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max_len {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "frame larger than the protocol's limit"));
    }
    let mut buffer = vec![0u8; len];
    io.read_exact(&mut buffer).await?;
    Ok(buffer)
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, data: &[u8], max_len: usize) -> io::Result<()> {
    if data.len() > max_len {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "frame larger than the protocol's limit"));
    }
    io.write_all(&(data.len() as u32).to_be_bytes()).await?;
    io.write_all(data).await?;
    io.flush().await
}

impl request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_len).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_len).await
    }

    async fn write_request<T>(&mut self, _: &StreamProtocol, io: &mut T, request: Vec<u8>) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &request, self.max_len).await
    }

    async fn write_response<T>(&mut self, _: &StreamProtocol, io: &mut T, response: Vec<u8>) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &response, self.max_len).await
    }
}
