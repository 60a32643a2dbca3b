//! Installation secrets kept as files in the data directory: the audit-chain key and the
//! cookie/CSRF signing key. They are created on first start (0600) and never stored in the
//! database, so someone who can only write to the database cannot forge either.

use rand::RngCore;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub const AUDIT_KEY: &str = "audit-chain.key";
pub const SESSION_KEY: &str = "session-signing.key";

pub fn keys_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("keys")
}

/// Reads the named key, creating a random 32-byte key when it does not exist yet.
pub fn load_or_create(data_dir: &Path, name: &str) -> Result<Vec<u8>> {
    let dir = keys_dir(data_dir);
    let path = dir.join(name);
    if let Ok(hex_text) = std::fs::read_to_string(&path) {
        return hex::decode(hex_text.trim())
            .map_err(|_| Error::Config(format!("key file {} is not hex", path.display())));
    }
    std::fs::create_dir_all(&dir)?;
    let mut key = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    write_private(&path, hex::encode(&key).as_bytes())?;
    Ok(key)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// A secret for one `purpose`, derived from an installation key (HMAC-SHA256 of the purpose):
/// stable for the installation, different for every purpose and every installation, and never
/// stored anywhere but where the key itself is.
pub fn derive(key: &[u8], purpose: &str) -> Vec<u8> {
    use hmac::Mac;
    match hmac::Hmac::<sha2::Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(b"derive:");
            mac.update(purpose.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC accepts keys of any length; this arm is never taken.
        Err(_) => key.to_vec(),
    }
}
