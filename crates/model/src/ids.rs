/// A record's id: 32 lowercase hex characters of a random UUID v4.
pub type RecordId = String;

/// A fresh random record id.
pub fn new_record_id() -> RecordId {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Whether `text` has the shape of a record id.
pub fn is_record_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}
