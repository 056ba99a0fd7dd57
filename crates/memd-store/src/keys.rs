//! API key secrets: generation and hashing. Only the hash is ever stored.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix of every memd key, so leaked keys are recognisable by secret scanners.
pub const KEY_PREFIX: &str = "memd_";

/// A new random secret: `memd_` followed by 32 URL-safe base64 characters (192 bits).
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{KEY_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Hex SHA-256 of a secret, the only form in which keys are stored or compared.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Hex SHA-256 of memory content.
pub fn content_hash(content: &str) -> String {
    hex::encode(Sha256::digest(content.as_bytes()))
}
