//! TLS for URL tests: rustls on ring, the system's roots plus the test's `ca_file`, session
//! resumption off (every handshake is a full one, timed and with its certificate seen), and a
//! verifier that records each certificate presented — also the ones it then refuses, so that an
//! expired certificate is reported with its date.

use super::trace::{CertSeen, SharedTrace, lock};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The certificates of a PEM file; an error in words when it holds none or cannot be read.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let shown = path.display();
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read {shown}: {}", io_reason(&e)))?;
    let mut certs = Vec::new();
    for item in CertificateDer::pem_slice_iter(&bytes) {
        match item {
            Ok(c) => certs.push(c),
            Err(e) => return Err(format!("{shown} is not a valid PEM file: {e}")),
        }
    }
    if certs.is_empty() {
        return Err(format!(
            "{shown} holds no certificate: expected PEM blocks \"-----BEGIN CERTIFICATE-----\""
        ));
    }
    Ok(certs)
}

/// An io::Error in words, without Rust's " (os error 111)".
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    lowercase_first(&text)
}

pub(crate) fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        // Keep acronyms ("TLS …", "DNS …") as they are.
        Some(c) if !chars.clone().next().is_some_and(char::is_uppercase) => {
            c.to_lowercase().chain(chars).collect()
        }
        _ => s.to_string(),
    }
}

/// The system's trust anchors, read once (the bundle does not change while vigie runs, and
/// parsing it takes tens of milliseconds).
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!(error = %e, "reading the system's CA certificates");
        }
        found.certs
    })
}

/// A client configuration for one URL test, recording into `trace`.
pub fn client_config(
    ca_file: Option<&Path>,
    trace: SharedTrace,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    // Some bundles carry certificates webpki cannot use: skip those rather than fail.
    let _ = roots.add_parsable_certificates(system_roots().iter().cloned());
    if let Some(path) = ca_file {
        for cert in read_ca_file(path)? {
            roots
                .add(cert)
                .map_err(|e| format!("{}: unusable CA certificate: {e}", path.display()))?;
        }
    }
    if roots.is_empty() {
        return Err("no trusted CA certificate: the system has none and no ca_file is set".into());
    }
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("TLS set-up: {e}"))?;
    let verifier = Arc::new(Recording { inner, trace });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}

/// notAfter of a DER certificate, in Unix seconds.
pub fn not_after(der: &[u8]) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.validity().not_after.timestamp())
}

/// Records the certificate, then lets webpki decide.
#[derive(Debug)]
struct Recording {
    inner: Arc<WebPkiServerVerifier>,
    trace: SharedTrace,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        {
            let mut t = lock(&self.trace);
            t.handshakes += 1;
            t.phase = super::trace::Phase::Tls;
            t.certs.push(CertSeen {
                server: server_name.to_str().into_owned(),
                not_after: not_after(end_entity.as_ref()),
            });
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A TLS failure in an operator's words ("certificate expired", "certificate is not valid for
/// www.example.test"), from rustls's error.
pub fn describe_tls_error(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::Expired | C::ExpiredContext { .. } => "certificate expired".into(),
            C::NotValidYet | C::NotValidYetContext { .. } => "certificate not valid yet".into(),
            C::UnknownIssuer => {
                "certificate issued by an unknown CA (set ca_file for an internal CA)".into()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "certificate not valid for this host name".into()
            }
            C::Revoked => "certificate revoked".into(),
            C::BadSignature => "certificate badly signed".into(),
            other => format!("invalid certificate ({other:?})"),
        },
        rustls::Error::AlertReceived(alert) => {
            format!("the server refused the handshake ({alert:?})")
        }
        rustls::Error::NoApplicationProtocol => "no common application protocol".into(),
        other => lowercase_first(&other.to_string()),
    }
}
