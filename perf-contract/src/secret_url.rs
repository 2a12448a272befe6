//! Server addresses whose user-info (`http://user:password@host`) is a
//! secret: shown and stored as `http://user:***@host`, never in full.
//!
//! A [`SecretUrl`] serialises redacted, so a plan file, a run record and a
//! baseline (which users commit) cannot hold the password, and its
//! `Display` and `Debug` redact too, so a message that names the server
//! cannot print it. The workloads process still needs the real address:
//! xtask hands the full URLs over in the environment variable
//! [`SECRETS_ENV`] (readable by the same user only, like an API key's
//! variable), and the process puts them back with [`restore`] after
//! reading the plan. [`scrub`] removes every registered secret from free
//! text (an HTTP library's error that quotes the URL), and the protocol
//! applies it to every line the workloads process prints.

use std::{
    fmt,
    sync::{Mutex, OnceLock},
};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The variable that carries the full URLs of a plan to the workloads
/// process, one per line.
pub const SECRETS_ENV: &str = "PERF_PLAN_SECRET_URLS";

/// What replaces a password (or a user-info without one) in a shown URL.
const MASK: &str = "***";

/// A URL as typed; its user-info is shown masked.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn new(url: impl Into<String>) -> SecretUrl {
        let url = url.into();
        register(&url);
        SecretUrl(url)
    }

    /// The full URL, credentials included: only for making requests.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the URL carries user-info that is masked when shown.
    pub fn has_secret(&self) -> bool {
        user_info(&self.0).is_some()
    }

    /// The URL as shown: `http://user:***@host:port/`.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

impl From<&str> for SecretUrl {
    fn from(url: &str) -> SecretUrl {
        SecretUrl::new(url)
    }
}

impl From<String> for SecretUrl {
    fn from(url: String) -> SecretUrl {
        SecretUrl::new(url)
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({:?})", self.redacted())
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SecretUrl, D::Error> {
        String::deserialize(d).map(SecretUrl::new)
    }
}

/// `(start, end)` of the user-info in `url` (between `://` and the `@`
/// before the host), if any.
fn user_info(url: &str) -> Option<(usize, usize)> {
    let start = url.find("://")? + 3;
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    let at = url[start..authority_end].rfind('@')? + start;
    Some((start, at))
}

/// `url` with its password (or, without one, its whole user-info) masked.
pub fn redact(url: &str) -> String {
    let Some((start, at)) = user_info(url) else {
        return url.to_string();
    };
    let info = &url[start..at];
    let shown = match info.split_once(':') {
        Some((user, _password)) => format!("{user}:{MASK}"),
        // A bare user-info is often a token: all of it is secret.
        None => MASK.to_string(),
    };
    format!("{}{shown}{}", &url[..start], &url[at..])
}

/// The secret parts (passwords, bare tokens) seen in this process.
fn registry() -> &'static Mutex<Vec<String>> {
    static SECRETS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    SECRETS.get_or_init(|| Mutex::new(Vec::new()))
}

fn register(url: &str) {
    let Some((start, at)) = user_info(url) else {
        return;
    };
    let info = &url[start..at];
    let secret = info.split_once(':').map_or(info, |(_, password)| password);
    // A one-character password would mask every such character of a text;
    // a URL read back from a file holds the mask itself.
    if secret.len() < 2 || secret == MASK {
        return;
    }
    let mut known = registry().lock().unwrap_or_else(|e| e.into_inner());
    if !known.iter().any(|s| s == secret) {
        known.push(secret.to_string());
    }
}

/// `text` with every secret of a URL this process has seen masked.
pub fn scrub(text: &str) -> String {
    let known = registry().lock().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_string();
    for secret in known.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    out
}

/// The value of [`SECRETS_ENV`] for `urls`: the full form of each URL that
/// has a secret, or `None` when none has.
pub fn env_value<'a>(urls: impl IntoIterator<Item = &'a SecretUrl>) -> Option<String> {
    let full: Vec<&str> = urls
        .into_iter()
        .filter(|u| u.has_secret())
        .map(SecretUrl::expose)
        .collect();
    (!full.is_empty()).then(|| full.join("\n"))
}

/// Puts the full form back into `url` when it arrived redacted and
/// `secrets` (the value of [`SECRETS_ENV`]) holds a URL that redacts to it.
pub fn restore(url: &mut SecretUrl, secrets: &str) {
    if let Some(full) = secrets.lines().find(|full| redact(full) == url.0) {
        *url = SecretUrl::new(full);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_masked_everywhere_it_is_shown_or_stored() {
        let url = SecretUrl::new("http://user:s3cr3tPW@127.0.0.1:9/");
        assert_eq!(url.to_string(), "http://user:***@127.0.0.1:9/");
        assert!(!format!("{url:?}").contains("s3cr3tPW"));
        let json = serde_json::to_string(&url).unwrap();
        assert_eq!(json, "\"http://user:***@127.0.0.1:9/\"");
        assert_eq!(url.expose(), "http://user:s3cr3tPW@127.0.0.1:9/");
        assert_eq!(
            scrub("connect to http://user:s3cr3tPW@127.0.0.1:9/ failed"),
            "connect to http://user:***@127.0.0.1:9/ failed"
        );
    }

    #[test]
    fn urls_without_user_info_are_unchanged_and_tokens_are_masked_whole() {
        assert_eq!(redact("http://127.0.0.1:8000"), "http://127.0.0.1:8000");
        assert_eq!(redact("http://host/a@b"), "http://host/a@b");
        assert_eq!(redact("http://tok3n@host:1"), "http://***@host:1");
        assert_eq!(redact("http://a:b:c@host"), "http://a:***@host");
        assert_eq!(redact("not a url"), "not a url");
    }

    #[test]
    fn the_workloads_process_gets_the_full_url_back() {
        let full = SecretUrl::new("http://bob:pw-1@host:8000");
        let mut read: SecretUrl =
            serde_json::from_str(&serde_json::to_string(&full).unwrap()).unwrap();
        assert_eq!(read.expose(), "http://bob:***@host:8000");
        let env = env_value([&full]).unwrap();
        restore(&mut read, &env);
        assert_eq!(read.expose(), "http://bob:pw-1@host:8000");
        assert_eq!(env_value([&SecretUrl::new("http://h:1")]), None);
    }
}
