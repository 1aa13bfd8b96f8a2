//! Reading a byte string front to back, for the decoders of what peers send (sync messages, carry files): every
//! read is checked against what is left, and running short is the decoder's own error.

/// The bytes not read yet, and the error to give when a read runs past them.
pub(crate) struct Reader<'a, E> {
    rest: &'a [u8],
    short: E,
}

impl<'a, E: Clone> Reader<'a, E> {
    pub(crate) fn new(bytes: &'a [u8], short: E) -> Self {
        Self { rest: bytes, short }
    }

    /// What is left.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], E> {
        if self.rest.len() < n {
            return Err(self.short.clone());
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], E> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, E> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, E> {
        Ok(u32::from_be_bytes(self.array()?))
    }
}
