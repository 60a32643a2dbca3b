//! RFC 3161 timestamps: the request, the HTTP client for a timestamp authority, and the
//! check of a token (imprint, TSA signature, TSA certificate chain).
//!
//! The client only sends `application/timestamp-query` over HTTP(S) and reads the reply;
//! a request carries a random nonce that the token must echo, so a replayed answer is
//! refused. No server code lives here.

use cms::signed_data::SignedData;
use der::asn1::{Int, OctetString};
use der::{Decode, Encode};
use rsa::rand_core::{OsRng, RngCore};
use spki::AlgorithmIdentifier;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use crate::cades::{self, SignerCheck};
use crate::pki::{self, CertificateInfo, ChainError, Hash, OID_SHA256, Purpose};

/// Why a timestamp could not be obtained.
#[derive(Debug, thiserror::Error)]
pub enum TimestampError {
    #[error("the timestamp authority cannot be reached: {0}")]
    Unreachable(String),
    #[error("the timestamp authority answered HTTP {0}")]
    Http(u16),
    #[error("the timestamp authority refused the request (status {0}): {1}")]
    Refused(u8, String),
    #[error("the timestamp authority's answer cannot be read: {0}")]
    Malformed(String),
    #[error("the token does not stamp what was sent (imprint or nonce differ)")]
    Mismatch,
}

impl TimestampError {
    pub fn code(&self) -> &'static str {
        match self {
            TimestampError::Unreachable(_) => "timestamp.unreachable",
            TimestampError::Http(_) => "timestamp.http_status",
            TimestampError::Refused(..) => "timestamp.refused",
            TimestampError::Malformed(_) => "timestamp.malformed",
            TimestampError::Mismatch => "timestamp.mismatch",
        }
    }
}

fn malformed<E: std::fmt::Display>(e: E) -> TimestampError {
    TimestampError::Malformed(e.to_string())
}

/// A DER TimeStampReq for the SHA-256 of `data`, asking for the TSA certificate.
pub fn request(data: &[u8], nonce: u64) -> Result<Vec<u8>, TimestampError> {
    let request = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifier {
                oid: OID_SHA256,
                parameters: None,
            },
            hashed_message: OctetString::new(Hash::Sha256.digest(data)).map_err(malformed)?,
        },
        req_policy: None,
        nonce: Some(Int::new(&nonce_bytes(nonce)).map_err(malformed)?),
        cert_req: true,
        extensions: None,
    };
    request.to_der().map_err(malformed)
}

/// Big-endian bytes of a nonce as a positive INTEGER in minimal DER form (a leading zero
/// only before a set high bit: responders reject any other padding).
fn nonce_bytes(nonce: u64) -> Vec<u8> {
    let all = nonce.to_be_bytes();
    let first = all.iter().position(|&b| b != 0).unwrap_or(all.len() - 1);
    let mut bytes = all[first..].to_vec();
    if bytes[0] & 0x80 != 0 {
        bytes.insert(0, 0);
    }
    bytes
}

/// The token (a DER ContentInfo) of a DER TimeStampResp, checked to stamp `data` with
/// `nonce`.
pub fn token_from_response(
    response: &[u8],
    data: &[u8],
    nonce: u64,
) -> Result<Vec<u8>, TimestampError> {
    let response = TimeStampResp::from_der(response).map_err(malformed)?;
    let status = response.status.status as u8;
    // granted (0) and grantedWithMods (1) carry a token; anything else is a refusal.
    if status > 1 {
        let text = response
            .status
            .status_string
            .iter()
            .flat_map(|texts| texts.iter())
            .map(|t| t.as_str().to_string())
            .collect::<Vec<_>>()
            .join("; ");
        return Err(TimestampError::Refused(status, text));
    }
    let token = response
        .time_stamp_token
        .ok_or_else(|| malformed("no token in a granted answer"))?;
    let token_der = token.to_der().map_err(malformed)?;
    let info = tst_info(&token_der).map_err(malformed)?;
    let wanted = Int::new(&nonce_bytes(nonce)).map_err(malformed)?;
    if !imprint_matches(&info, data) || info.nonce.as_ref() != Some(&wanted) {
        return Err(TimestampError::Mismatch);
    }
    Ok(token_der)
}

fn imprint_matches(info: &TstInfo, data: &[u8]) -> bool {
    Hash::from_digest_oid(&info.message_imprint.hash_algorithm.oid)
        .is_some_and(|h| h.digest(data) == info.message_imprint.hashed_message.as_bytes())
}

fn signed_data_and_info(token_der: &[u8]) -> Result<(SignedData, Vec<u8>, TstInfo), String> {
    let signed_data = cades::parse_signed_data(token_der)?;
    let content = signed_data
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or("the token has no TSTInfo")?;
    // eContent is an OCTET STRING holding the DER TSTInfo.
    let octets = content
        .decode_as::<OctetString>()
        .map_err(|e| e.to_string())?;
    let bytes = octets.as_bytes().to_vec();
    let info = TstInfo::from_der(&bytes).map_err(|e| e.to_string())?;
    Ok((signed_data, bytes, info))
}

fn tst_info(token_der: &[u8]) -> Result<TstInfo, String> {
    signed_data_and_info(token_der).map(|(_, _, info)| info)
}

/// What a timestamp token says and whether it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampReport {
    /// When the authority stamped (genTime), Unix seconds.
    pub time_unix: i64,
    pub authority: Option<CertificateInfo>,
    /// The token stamps the given data, and its signature verifies with the TSA certificate.
    pub intact: bool,
    /// The TSA certificate chains to an anchor with extended key usage timeStamping, valid
    /// at genTime; otherwise why not.
    pub chain_error: Option<ChainError>,
}

/// Checks `token_der` as a stamp over `data`, its TSA chain against `anchors` at the time
/// it claims.
pub fn check_token(
    token_der: &[u8],
    data: &[u8],
    anchors: &[Vec<u8>],
) -> Result<TimestampReport, String> {
    let (signed_data, tst_bytes, info) = signed_data_and_info(token_der)?;
    let time_unix = i64::try_from(info.gen_time.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    let check: SignerCheck = cades::check_signer(&signed_data, &|hash| hash.digest(&tst_bytes));
    let intact = imprint_matches(&info, data) && check.digest_matches && check.signature_valid;
    let authority = check
        .signer_certificate
        .as_deref()
        .and_then(|c| CertificateInfo::from_der(c).ok());
    let chain_error = match &check.signer_certificate {
        Some(leaf) => pki::verify_chain_for(
            Purpose::Timestamping,
            leaf,
            &check.certificates,
            anchors,
            time_unix,
        )
        .err(),
        None => Some(ChainError::Malformed(
            "the token does not carry the TSA certificate".into(),
        )),
    };
    Ok(TimestampReport {
        time_unix,
        authority,
        intact,
        chain_error,
    })
}

/// An RFC 3161 timestamp authority reached over HTTP(S).
#[derive(Clone, Debug)]
pub struct HttpTimestampAuthority {
    url: String,
    client: reqwest::Client,
}

impl HttpTimestampAuthority {
    pub fn new(url: &str, timeout: std::time::Duration) -> Result<Self, TimestampError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| TimestampError::Unreachable(e.to_string()))?;
        Ok(HttpTimestampAuthority {
            url: url.to_string(),
            client,
        })
    }

    /// A token stamping the SHA-256 of `data`.
    pub async fn stamp(&self, data: &[u8]) -> Result<Vec<u8>, TimestampError> {
        let nonce = OsRng.next_u64();
        let body = request(data, nonce)?;
        let response = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/timestamp-query")
            .body(body)
            .send()
            .await
            .map_err(|e| TimestampError::Unreachable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(TimestampError::Http(response.status().as_u16()));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| TimestampError::Unreachable(e.to_string()))?;
        token_from_response(&bytes, data, nonce)
    }
}
