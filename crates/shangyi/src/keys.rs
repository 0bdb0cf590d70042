//! The headend's master secret for the return channel: 32 random bytes from the operating
//! system, kept in a file beside the database (`<db dir>/master.key`, owner-only, mode 0600).
//! `serve` creates it on first start; `simulate` reads it to stand in for the operator's card
//! personalisation (which installs each card's derived key).

use anyhow::{Context, Result, bail};
use returnpath::MasterSecret;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Where the master secret lives by default: beside the database.
pub fn default_path(db: &Path) -> PathBuf {
    db.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("master.key")
}

/// Reads the 32-byte master secret at `path`.
pub fn load(path: &Path) -> Result<MasterSecret> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading the master secret {}", path.display()))?;
    let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
        anyhow::anyhow!(
            "{} holds {} bytes; a master secret is exactly 32 bytes",
            path.display(),
            bytes.len()
        )
    })?;
    Ok(MasterSecret::from_bytes(bytes))
}

/// `N` bytes from the operating system's random source (the master secret, token secrets).
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .with_context(|| format!("reading {N} random bytes from /dev/urandom"))?;
    Ok(bytes)
}

/// Loads the master secret at `path`, creating it (32 bytes from /dev/urandom, mode 0600) if
/// there is no file yet.
pub fn load_or_create(path: &Path) -> Result<MasterSecret> {
    if path.exists() {
        return load(path);
    }
    let secret: [u8; 32] = random_bytes()?;
    if secret == [0u8; 32] {
        bail!("the operating system's random source returned only zeros");
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating the master secret {}", path.display()))?;
    file.write_all(&secret)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing the master secret {}", path.display()))?;
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    tracing::info!(path = %path.display(), "created the return channel's master secret");
    Ok(MasterSecret::from_bytes(secret))
}
