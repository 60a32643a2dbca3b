//! The notifier port: how a rendered message (e-mail or SMS) leaves the platform.
//!
//! Adapters are chosen by the `notify` configuration section: SMTP ([`SmtpNotifier`]) or the
//! file sink for e-mail, an HTTP SMS gateway ([`HttpSmsNotifier`]) or the file sink for SMS.
//! The file sink ([`FileSink`]) is the demo default for both.
//!
//! Delivery is at least once (see [`crate::outbox`]): a crash between a successful send and
//! the "delivered" mark sends the message again. Every adapter therefore hands the message's
//! idempotency key to the receiving side so it can de-duplicate: SMTP as the `Message-ID`
//! header `<key@tinhso>`, the SMS gateway as the `idempotency_key` field and the
//! `Idempotency-Key` header, the file sink as the file name (a re-delivery overwrites the
//! same file atomically instead of adding a second one).

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::error::{Error, Result};

/// Timeout of one send; well below the outbox lease so a claim never expires mid-send.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Sms,
}

/// One rendered message (rendering, e.g. in Vietnamese, is the caller's business).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub idempotency_key: String,
    pub channel: Channel,
    /// An e-mail address or a phone number.
    pub to: String,
    /// Subject of an e-mail; ignored for SMS.
    pub subject: String,
    pub body: String,
}

#[async_trait]
pub trait Notifier: Send + Sync + std::fmt::Debug {
    /// Hands `message` over to its channel. Must be safe to call again with the same message
    /// (the idempotency key travels with it).
    async fn send(&self, message: &Message) -> Result<()>;
}

/// The notifier described by `config.notify`: one adapter per channel.
pub fn from_config(config: &Config) -> Result<Arc<dyn Notifier>> {
    let n = &config.notify;
    let file = Arc::new(FileSink::new(config.notify_file_dir()));
    let email: Arc<dyn Notifier> = match n.email.as_str() {
        "smtp" => Arc::new(SmtpNotifier::new(config)?),
        _ => file.clone(),
    };
    let sms: Arc<dyn Notifier> = match n.sms.as_str() {
        "http" => Arc::new(HttpSmsNotifier::new(&n.sms_url, &n.sms_token)?),
        _ => file,
    };
    Ok(Arc::new(ByChannel { email, sms }))
}

/// Routes each message to the adapter of its channel.
#[derive(Debug)]
pub struct ByChannel {
    pub email: Arc<dyn Notifier>,
    pub sms: Arc<dyn Notifier>,
}

#[async_trait]
impl Notifier for ByChannel {
    async fn send(&self, message: &Message) -> Result<()> {
        match message.channel {
            Channel::Email => self.email.send(message).await,
            Channel::Sms => self.sms.send(message).await,
        }
    }
}

/// Only letters, digits, `-` and `_` stay as they are: the encoded key is a safe file name
/// and a valid `Message-ID` left part, and distinct keys stay distinct.
const KEY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_');

/// The idempotency key as a file name / `Message-ID` local part (injective).
pub fn encode_key(key: &str) -> String {
    utf8_percent_encode(key, KEY_ENCODE).to_string()
}

/// Writes each message as `<dir>/<encoded key>.json`, atomically (temporary file, fsync,
/// rename): a re-delivery replaces the file, never adds a second one.
#[derive(Debug, Clone)]
pub struct FileSink {
    dir: PathBuf,
}

impl FileSink {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn path_of(&self, idempotency_key: &str) -> PathBuf {
        self.dir
            .join(format!("{}.json", encode_key(idempotency_key)))
    }
}

#[async_trait]
impl Notifier for FileSink {
    async fn send(&self, message: &Message) -> Result<()> {
        let dir = self.dir.clone();
        let target = self.path_of(&message.idempotency_key);
        let bytes = serde_json::to_vec_pretty(message).map_err(|e| Error::Other(e.to_string()))?;
        tokio::task::spawn_blocking(move || -> Result<()> {
            use std::io::Write;
            std::fs::create_dir_all(&dir)?;
            let tmp = dir.join(format!(
                ".tmp-{}-{}",
                std::process::id(),
                rand::random::<u64>()
            ));
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            drop(file);
            std::fs::rename(&tmp, &target)?;
            Ok(())
        })
        .await
        .map_err(|e| Error::Other(format!("file sink: {e}")))?
    }
}

/// E-mail over SMTP (`lettre`): plain on loopback, STARTTLS or implicit TLS by config.
#[derive(Debug, Clone)]
pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl SmtpNotifier {
    pub fn new(config: &Config) -> Result<Self> {
        let n = &config.notify;
        let smtp_err = |e: lettre::transport::smtp::Error| Error::Config(format!("smtp: {e}"));
        let mut builder = match n.smtp_tls.as_str() {
            "none" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&n.smtp_host),
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&n.smtp_host).map_err(smtp_err)?,
            _ => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&n.smtp_host)
                .map_err(smtp_err)?,
        }
        .port(n.smtp_port)
        .timeout(Some(SEND_TIMEOUT));
        if !n.smtp_username.is_empty() {
            builder = builder.credentials(Credentials::new(
                n.smtp_username.clone(),
                n.smtp_password.clone(),
            ));
        }
        let from = n
            .from_address
            .parse()
            .map_err(|e| Error::Config(format!("`notify.from_address`: {e}")))?;
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

#[async_trait]
impl Notifier for SmtpNotifier {
    async fn send(&self, message: &Message) -> Result<()> {
        let to: lettre::message::Mailbox = message
            .to
            .parse()
            .map_err(|e| Error::Other(format!("bad recipient `{}`: {e}", message.to)))?;
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .message_id(Some(format!(
                "<{}@tinhso>",
                encode_key(&message.idempotency_key)
            )))
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|e| Error::Other(format!("cannot build e-mail: {e}")))?;
        self.transport
            .send(email)
            .await
            .map_err(|e| Error::Other(format!("smtp: {e}")))?;
        Ok(())
    }
}

/// SMS through an HTTP gateway: `POST <sms_url>` with JSON
/// `{"idempotency_key", "to", "body"}`, the key also as the `Idempotency-Key` header and the
/// token (if any) as a bearer token. Any 2xx answer is success.
#[derive(Debug, Clone)]
pub struct HttpSmsNotifier {
    client: reqwest::Client,
    url: String,
    token: String,
}

impl HttpSmsNotifier {
    pub fn new(url: &str, token: &str) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .build()
            .map_err(|e| Error::Config(format!("sms client: {e}")))?;
        Ok(Self {
            client,
            url: url.to_owned(),
            token: token.to_owned(),
        })
    }
}

#[async_trait]
impl Notifier for HttpSmsNotifier {
    async fn send(&self, message: &Message) -> Result<()> {
        let mut request = self
            .client
            .post(&self.url)
            .header("Idempotency-Key", &message.idempotency_key)
            .json(&serde_json::json!({
                "idempotency_key": message.idempotency_key,
                "to": message.to,
                "body": message.body,
            }));
        if !self.token.is_empty() {
            request = request.bearer_auth(&self.token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Error::Other(format!("sms gateway: {}", e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(Error::Other(format!("sms gateway answered {status}")))
        }
    }
}
