//! `tracer serve --web-config FILE`: the web configuration file of Prometheus' exporter-toolkit
//! (`--web.config.file`), so that the scrape_config an operator already has for an exporter
//! (`scheme: https`, `tls_config`, `basic_auth`) scrapes the agent unchanged.
//!
//! Read: `tls_server_config` (cert_file/key_file or cert/key, client_auth_type, client_ca_file or
//! client_ca, min_version, max_version, prefer_server_cipher_suites) and `basic_auth_users`
//! (bcrypt hashes). Keys exporter-toolkit has and tracer does not implement are refused by name;
//! any other key is refused as unknown. Relative paths are relative to the file's directory.
use std::{
    collections::{BTreeMap, HashSet},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use anyhow::{anyhow, bail, Context, Result};
use rustls::{
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    server::WebPkiClientVerifier,
    RootCertStore, ServerConfig,
};
use serde::Deserialize;

/// The file as written (exporter-toolkit's keys, all of them, so that those tracer does not
/// implement are refused by name rather than as unknown).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tls_server_config: Option<TlsFile>,
    basic_auth_users: Option<BTreeMap<String, String>>,
    http_server_config: Option<serde_yaml_ng::Value>,
    rate_limit: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    cert: Option<String>,
    key: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<PathBuf>,
    client_ca: Option<String>,
    min_version: Option<String>,
    max_version: Option<String>,
    prefer_server_cipher_suites: Option<bool>,
    client_allowed_sans: Option<serde_yaml_ng::Value>,
    cipher_suites: Option<serde_yaml_ng::Value>,
    curve_preferences: Option<serde_yaml_ng::Value>,
}

/// PEM text, in the file itself or in a file it names.
#[derive(Debug, Clone, PartialEq)]
pub enum Pem {
    File(PathBuf),
    Inline(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClientAuth {
    None,
    /// VerifyClientCertIfGiven.
    IfGiven,
    /// RequireAndVerifyClientCert.
    Required,
}

/// The file, checked, with its paths resolved; nothing read beyond the file itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub tls: Option<TlsSettings>,
    /// User name -> bcrypt hash; empty: no basic auth.
    pub users: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TlsSettings {
    pub cert: Pem,
    pub key: Pem,
    pub client_auth: ClientAuth,
    pub client_ca: Option<Pem>,
    pub versions: Vec<&'static rustls::SupportedProtocolVersion>,
    pub prefer_server_cipher_suites: bool,
}

impl Settings {
    /// Parses the file's text; `dir` is where relative paths start.
    pub fn parse(text: &str, dir: &Path) -> Result<Self> {
        // An empty file is an empty mapping, as in exporter-toolkit.
        let file: File = if text.trim().is_empty() { File::default() } else { serde_yaml_ng::from_str(text).map_err(|e| anyhow!("{e}"))? };
        for (key, present) in [("http_server_config", file.http_server_config.is_some()), ("rate_limit", file.rate_limit.is_some())] {
            if present {
                bail!("{key} is not supported by tracer (tls_server_config and basic_auth_users are)");
            }
        }
        let tls = match file.tls_server_config {
            Some(tls) => tls_settings(tls, dir)?,
            None => None,
        };
        let users = file.basic_auth_users.unwrap_or_default();
        for (user, hash) in &users {
            if user.contains(':') {
                bail!("basic_auth_users: user {user:?} has a ':', which basic auth cannot carry");
            }
            hash.parse::<bcrypt::HashParts>().map_err(|_| anyhow!("basic_auth_users: the password of {user:?} is not a bcrypt hash (make one with htpasswd -nBC 10 {user})"))?;
        }
        Ok(Self { tls, users })
    }
}

/// exporter-toolkit's rules: no certificate and no key is no TLS (plain HTTP); one without the
/// other, or a file and its text both, is an error; a client CA needs a client_auth_type.
fn tls_settings(tls: TlsFile, dir: &Path) -> Result<Option<TlsSettings>> {
    for (key, present) in [
        ("client_allowed_sans", tls.client_allowed_sans.is_some()),
        ("cipher_suites", tls.cipher_suites.is_some()),
        ("curve_preferences", tls.curve_preferences.is_some()),
    ] {
        if present {
            bail!("tls_server_config: {key} is not supported by tracer (rustls' own suites and groups are used)");
        }
    }
    let pem = |file: Option<PathBuf>, text: Option<String>, name: &str| -> Result<Option<Pem>> {
        match (file, text) {
            (Some(_), Some(_)) => bail!("tls_server_config: give at most one of {name}_file and {name}"),
            (Some(path), None) => Ok(Some(Pem::File(dir.join(path)))),
            (None, Some(text)) => Ok(Some(Pem::Inline(text))),
            (None, None) => Ok(None),
        }
    };
    let cert = pem(tls.cert_file, tls.cert, "cert")?;
    let key = pem(tls.key_file, tls.key, "key")?;
    let client_ca = pem(tls.client_ca_file, tls.client_ca, "client_ca")?;
    let client_auth = match tls.client_auth_type.as_deref().unwrap_or("") {
        "" | "NoClientCert" => ClientAuth::None,
        "VerifyClientCertIfGiven" => ClientAuth::IfGiven,
        "RequireAndVerifyClientCert" => ClientAuth::Required,
        other @ ("RequestClientCert" | "RequireAnyClientCert" | "RequireClientCert") => {
            bail!("tls_server_config: client_auth_type {other} (unverified client certificates) is not supported by tracer: use RequireAndVerifyClientCert or VerifyClientCertIfGiven")
        }
        other => bail!("tls_server_config: client_auth_type {other:?} is none of NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert"),
    };
    let (cert, key) = match (cert, key) {
        (None, None) if client_auth == ClientAuth::None && client_ca.is_none() => return Ok(None),
        (Some(cert), Some(key)) => (cert, key),
        (None, _) => bail!("tls_server_config: cert_file is missing"),
        (_, None) => bail!("tls_server_config: key_file is missing"),
    };
    match (&client_ca, client_auth) {
        (Some(_), ClientAuth::None) => bail!("tls_server_config: client_ca_file is given without a client_auth_type"),
        (None, ClientAuth::IfGiven | ClientAuth::Required) => bail!("tls_server_config: client_auth_type needs client_ca_file"),
        _ => {}
    }
    let version = |key: &str, value: Option<String>, default| -> Result<u8> {
        match value.as_deref() {
            None => Ok(default),
            Some("TLS12") => Ok(12),
            Some("TLS13") => Ok(13),
            Some(v @ ("TLS10" | "TLS11")) => bail!("tls_server_config: {key} {v}: tracer speaks TLS 1.2 and 1.3 only"),
            Some(v) => bail!("tls_server_config: {key} {v:?} is none of TLS12, TLS13"),
        }
    };
    let (min, max) = (version("min_version", tls.min_version, 12)?, version("max_version", tls.max_version, 13)?);
    let versions: Vec<_> = [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
        .into_iter()
        .filter(|(v, _)| (min..=max).contains(v))
        .map(|(_, version)| version)
        .collect();
    if versions.is_empty() {
        bail!("tls_server_config: min_version is above max_version");
    }
    Ok(Some(TlsSettings { cert, key, client_auth, client_ca, versions, prefer_server_cipher_suites: tls.prefer_server_cipher_suites.unwrap_or(true) }))
}

impl Pem {
    fn text(&self) -> Result<Vec<u8>> {
        match self {
            Pem::File(path) => std::fs::read(path).with_context(|| format!("cannot read {}", path.display())),
            Pem::Inline(text) => Ok(text.as_bytes().to_vec()),
        }
    }

    fn what(&self, name: &str) -> String {
        match self {
            Pem::File(path) => path.display().to_string(),
            Pem::Inline(_) => format!("tls_server_config.{name}"),
        }
    }

    fn certificates(&self, name: &str) -> Result<Vec<CertificateDer<'static>>> {
        let text = self.text()?;
        let certs = CertificateDer::pem_slice_iter(&text).collect::<Result<Vec<_>, _>>().map_err(|e| anyhow!("{}: {e}", self.what(name)))?;
        if certs.is_empty() {
            bail!("{}: no PEM certificate in it", self.what(name));
        }
        Ok(certs)
    }
}

impl TlsSettings {
    /// Reads the certificates and the key: the server's TLS configuration.
    pub fn server_config(&self) -> Result<ServerConfig> {
        // ring has no post-quantum key exchange (rustls deprecates its provider for that); it
        // builds with nothing but a C compiler, and a scrape's X25519 is what exporters offer.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs = self.cert.certificates("cert")?;
        let key = PrivateKeyDer::from_pem_slice(&self.key.text()?).map_err(|e| anyhow!("{}: no PEM private key in it ({e})", self.key.what("key")))?;
        let builder = ServerConfig::builder_with_provider(provider.clone()).with_protocol_versions(&self.versions).context("TLS versions")?;
        let builder = match &self.client_ca {
            Some(ca) if self.client_auth != ClientAuth::None => {
                let mut roots = RootCertStore::empty();
                for cert in ca.certificates("client_ca")? {
                    roots.add(cert).map_err(|e| anyhow!("{}: {e}", ca.what("client_ca")))?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                let verifier = match self.client_auth {
                    ClientAuth::IfGiven => verifier.allow_unauthenticated(),
                    _ => verifier,
                };
                builder.with_client_cert_verifier(verifier.build().map_err(|e| anyhow!("{}: {e}", ca.what("client_ca")))?)
            }
            _ => builder.with_no_client_auth(),
        };
        let mut config = builder.with_single_cert(certs, key).map_err(|e| anyhow!("{} with {}: {e}", self.cert.what("cert"), self.key.what("key")))?;
        config.ignore_client_order = self.prefer_server_cipher_suites;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// What `tracer serve` does with the file: TLS, and the users of basic auth.
pub struct WebConfig {
    pub tls: Option<Arc<ServerConfig>>,
    pub users: Option<Arc<Users>>,
    /// Every client must show a certificate the client CA signed.
    pub client_certs_required: bool,
}

impl WebConfig {
    /// Reads the file and all it names; any fault is one line naming the file.
    pub fn load(path: &Path) -> Result<Self> {
        let load = || -> Result<Self> {
            let text = std::fs::read_to_string(path).map_err(|e| anyhow!("{e}"))?;
            let settings = Settings::parse(&text, path.parent().unwrap_or(Path::new(".")))?;
            let tls = settings.tls.as_ref().map(TlsSettings::server_config).transpose()?;
            Ok(Self {
                tls: tls.map(Arc::new),
                client_certs_required: settings.tls.as_ref().is_some_and(|tls| tls.client_auth == ClientAuth::Required),
                users: (!settings.users.is_empty()).then(|| Arc::new(Users::new(settings.users))),
            })
        };
        load().with_context(|| format!("--web-config {}", path.display()))
    }
}

/// A hash of a password that no user has (`htpasswd -nbBC 10`): an unknown user costs what a
/// known one does, so that timing does not tell which users exist (as exporter-toolkit does).
const NOBODY: &str = "$2y$10$5MNWiJDd.5CrzdDjBdhwouM3Ar.vnh.t.PBijm817E5ryibZCIs7S";

/// Most successful verifications remembered; past it the memory starts over.
const CACHE_MAX: usize = 256;

/// Basic auth's users. bcrypt is slow by design, so verifications that succeeded are remembered
/// (as a SHA-256 of user and password, not the password): a scrape every few seconds costs a
/// hash, not a bcrypt.
pub struct Users {
    hashes: BTreeMap<String, String>,
    verified: Mutex<HashSet<[u8; 32]>>,
}

impl Users {
    pub fn new(hashes: BTreeMap<String, String>) -> Self {
        Self { hashes, verified: Mutex::new(HashSet::new()) }
    }

    fn fingerprint(user: &str, password: &str) -> [u8; 32] {
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [user.as_bytes(), b"\0", password.as_bytes()] {
            context.update(part);
        }
        context.finish().as_ref().try_into().expect("32 bytes")
    }

    /// Whether these credentials were verified before (cheap).
    pub fn known(&self, user: &str, password: &str) -> bool {
        self.verified.lock().is_ok_and(|set| set.contains(&Self::fingerprint(user, password)))
    }

    /// Verifies against the bcrypt hash (slow: run it off the async threads) and remembers a
    /// success.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        let (hash, known_user) = match self.hashes.get(user) {
            Some(hash) => (hash.as_str(), true),
            None => (NOBODY, false),
        };
        let ok = bcrypt::verify(password, hash).unwrap_or(false) && known_user;
        if ok {
            if let Ok(mut set) = self.verified.lock() {
                if set.len() >= CACHE_MAX {
                    set.clear();
                }
                set.insert(Self::fingerprint(user, password));
            }
        }
        ok
    }
}

/// User and password from an `Authorization: Basic ...` header value.
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    use base64::Engine;
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let (user, password) = String::from_utf8(decoded).ok()?.split_once(':').map(|(u, p)| (u.to_string(), p.to_string()))?;
    Some((user, password))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$2y$10$5MNWiJDd.5CrzdDjBdhwouM3Ar.vnh.t.PBijm817E5ryibZCIs7S";

    #[test]
    fn a_good_file_with_relative_and_absolute_paths() {
        let text = format!(
            "tls_server_config:\n  cert_file: tls/server.crt\n  key_file: /etc/keys/server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n  min_version: TLS13\nbasic_auth_users:\n  prometheus: '{HASH}'\n"
        );
        let settings = Settings::parse(&text, Path::new("/etc/tracer")).unwrap();
        let tls = settings.tls.unwrap();
        assert_eq!(tls.cert, Pem::File("/etc/tracer/tls/server.crt".into()));
        assert_eq!(tls.key, Pem::File("/etc/keys/server.key".into()));
        assert_eq!(tls.client_ca, Some(Pem::File("/etc/tracer/ca.pem".into())));
        assert_eq!(tls.client_auth, ClientAuth::Required);
        assert_eq!(tls.versions, vec![&rustls::version::TLS13]);
        assert_eq!(settings.users.get("prometheus").map(String::as_str), Some(HASH));
    }

    #[test]
    fn basic_auth_alone_and_an_empty_file_are_plain_http() {
        let settings = Settings::parse(&format!("basic_auth_users:\n  a: {HASH}\n"), Path::new("/")).unwrap();
        assert_eq!((settings.tls, settings.users.len()), (None, 1));
        assert_eq!(Settings::parse("", Path::new("/")).unwrap(), Settings { tls: None, users: BTreeMap::new() });
        assert_eq!(Settings::parse("tls_server_config: {}\n", Path::new("/")).unwrap().tls, None);
    }

    #[test]
    fn bad_files_are_one_line_that_names_the_fault() {
        let err = |text: &str| {
            let e = format!("{:#}", Settings::parse(text, Path::new("/")).unwrap_err());
            assert_eq!(e.lines().count(), 1, "{e}");
            e
        };
        assert!(err("tls_server_config:\n  cert_file: a\n  key_file: b\n  cert_fil: c\n").contains("unknown field `cert_fil`"));
        assert!(err("basic_auth_user:\n  a: b\n").contains("unknown field `basic_auth_user`"));
        assert!(err("basic_auth_users:\n  admin: secret\n").contains("the password of \"admin\" is not a bcrypt hash"));
        assert!(err("tls_server_config:\n  cert_file: a\n").contains("key_file is missing"));
        assert!(err("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n").contains("without a client_auth_type"));
        assert!(err("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n").contains("needs client_ca_file"));
        assert!(err("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS10\n").contains("TLS 1.2 and 1.3 only"));
        assert!(err("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n").contains("cipher_suites is not supported"));
        assert!(err("http_server_config:\n  http2: false\n").contains("http_server_config is not supported"));
        assert!(err("tls_server_config: [\n").contains("line"));
    }

    #[test]
    fn credentials_are_verified_once_then_remembered() {
        let users = Users::new(BTreeMap::from([("prometheus".to_string(), bcrypt::hash("s3cret", 4).unwrap())]));
        assert!(!users.known("prometheus", "s3cret"));
        assert!(!users.verify("prometheus", "wrong") && !users.known("prometheus", "wrong"));
        assert!(!users.verify("nobody", "s3cret"));
        assert!(users.verify("prometheus", "s3cret") && users.known("prometheus", "s3cret"));
        assert!(!users.known("prometheus", "s3cret2"));
    }

    #[test]
    fn basic_headers() {
        assert_eq!(basic_credentials("Basic dXNlcjpwYTpzcw=="), Some(("user".into(), "pa:ss".into())));
        assert_eq!(basic_credentials("basic dXNlcjpwYTpzcw=="), Some(("user".into(), "pa:ss".into())));
        assert_eq!(basic_credentials("Bearer dXNlcjpwYTpzcw=="), None);
        assert_eq!(basic_credentials("Basic !!"), None);
    }

    /// Fuzz target: a web config file, as `tracer serve --web-config` parses it (the files it
    /// names are not read here).
    #[test]
    fn fuzz_web_config() {
        crate::fuzz::fuzz("web_config", |text| {
            let _ = Settings::parse(&String::from_utf8_lossy(text), Path::new("/etc/tracer"));
        });
    }
}
