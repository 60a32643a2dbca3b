//! The payment-gateway port: redirect the payer to the gateway, then believe only a signed
//! callback.
//!
//! The protocol is the one Vietnamese gateways use (VNPay style): the merchant redirects the
//! browser to the gateway with a query string of parameters signed with HMAC-SHA512 over the
//! parameters sorted by name; after payment the gateway calls the merchant server-to-server
//! (IPN) and sends the browser back to the return URL, both with signed result parameters.
//! [`SignedRedirectGateway`] speaks it for any gateway configured in the `payment` section,
//! and is also the counterparty of the built-in sandbox (`payment.backend = "sandbox"`),
//! whose secret is derived from the installation keys when none is configured.
//!
//! Invariants: a callback is accepted only when its signature matches (checked in constant
//! time through the MAC verifier) and it names this merchant; amounts are whole đồng and
//! travel ×100 as the protocol expects. Nothing here touches the database: reconciling the
//! callback with what was asked for is the business of the system that asked.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha512;
use tinhso_core::DomainError;

use crate::config::Config;
use crate::error::{Error, Result};

/// Name of the signature parameter.
const HASH: &str = "vnp_SecureHash";
/// Parameters never covered by the signature.
const UNSIGNED: [&str; 2] = [HASH, "vnp_SecureHashType"];
/// Bounds on what a callback may carry (anything larger is not one of ours).
const MAX_PARAMS: usize = 40;
const MAX_VALUE: usize = 2000;
/// Response code of a successful payment; `24` means the payer cancelled.
pub const CODE_SUCCESS: &str = "00";
pub const CODE_CANCELLED: &str = "24";
/// Largest fee accepted (one thousand billion đồng): beyond it the ×100 amount of the
/// protocol would not be a sane number any more.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// What the payer is asked to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    /// The merchant's reference of this attempt (unique, ≤ 100 ASCII characters).
    pub reference: String,
    /// Whole đồng.
    pub amount: i64,
    /// Shown to the payer (ASCII is safest for gateways).
    pub order_info: String,
    /// Where the gateway sends the browser back.
    pub return_url: String,
    /// `yyyyMMddHHmmss`, Vietnam time.
    pub created_at: String,
    /// The payer's address as the merchant saw it.
    pub client_addr: String,
}

/// A callback whose signature was verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPayment {
    pub reference: String,
    pub amount: i64,
    /// The gateway's transaction number.
    pub gateway_transaction: String,
    pub success: bool,
    /// The gateway's response code (`00` success, `24` cancelled by the payer, …).
    pub response_code: String,
}

pub trait PaymentGateway: Send + Sync + std::fmt::Debug {
    /// Where to redirect the payer.
    fn checkout_url(&self, request: &PaymentRequest) -> Result<String>;
    /// Checks the signature and the merchant of a callback (IPN or browser return) and reads
    /// it. A bad signature is `payment.bad_signature`; a signed but unreadable one
    /// `payment.malformed`.
    fn verify_callback(&self, params: &[(String, String)]) -> Result<VerifiedPayment>;
}

fn bad_signature() -> Error {
    DomainError::invalid("the payment callback's signature does not match")
        .with_rule("payment.bad_signature")
        .into()
}

fn malformed(what: &str) -> Error {
    DomainError::invalid(format!("payment message: {what}"))
        .with_rule("payment.malformed")
        .into()
}

/// The adapter for gateways that sign redirect parameters with a shared secret.
#[derive(Clone)]
pub struct SignedRedirectGateway {
    gateway_url: String,
    merchant_code: String,
    secret: Vec<u8>,
}

impl std::fmt::Debug for SignedRedirectGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedRedirectGateway")
            .field("gateway_url", &self.gateway_url)
            .field("merchant_code", &self.merchant_code)
            .field("secret", &"***")
            .finish()
    }
}

/// A checkout request the sandbox received, signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    pub merchant_code: String,
    pub reference: String,
    pub amount: i64,
    pub order_info: String,
    pub return_url: String,
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn required<'a>(params: &'a [(String, String)], name: &str) -> Result<&'a str> {
    get(params, name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| malformed(&format!("{name} is missing")))
}

/// `vnp_Amount` is the amount ×100, digits only.
fn parse_amount(text: &str) -> Result<i64> {
    let hundredths: i64 = text
        .parse()
        .ok()
        .filter(|_| text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| malformed("vnp_Amount is not a number"))?;
    if hundredths % 100 != 0 || hundredths / 100 > MAX_AMOUNT || hundredths <= 0 {
        return Err(malformed("vnp_Amount is out of range"));
    }
    Ok(hundredths / 100)
}

impl SignedRedirectGateway {
    pub fn new(gateway_url: &str, merchant_code: &str, secret: &[u8]) -> Self {
        Self {
            gateway_url: gateway_url.to_owned(),
            merchant_code: merchant_code.to_owned(),
            secret: secret.to_owned(),
        }
    }

    pub fn merchant_code(&self) -> &str {
        &self.merchant_code
    }

    /// The signed text: every signed parameter, sorted by name, `name=value` form-encoded
    /// and joined with `&` (duplicate names are refused before this point).
    fn canonical(params: &[(String, String)]) -> String {
        let mut signed: Vec<&(String, String)> = params
            .iter()
            .filter(|(k, _)| !UNSIGNED.contains(&k.as_str()))
            .collect();
        signed.sort_by(|a, b| a.0.cmp(&b.0));
        signed
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn mac(&self, params: &[(String, String)]) -> Result<Hmac<Sha512>> {
        let mut mac = Hmac::<Sha512>::new_from_slice(&self.secret)
            .map_err(|e| Error::Other(format!("payment secret: {e}")))?;
        mac.update(Self::canonical(params).as_bytes());
        Ok(mac)
    }

    /// `params` with their signature appended.
    pub fn sign(&self, mut params: Vec<(String, String)>) -> Result<Vec<(String, String)>> {
        params.retain(|(k, _)| !UNSIGNED.contains(&k.as_str()));
        let hash = hex::encode(self.mac(&params)?.finalize().into_bytes());
        params.push((HASH.to_owned(), hash));
        Ok(params)
    }

    /// The signature is present, matches (constant time) and the message names us; the
    /// parameters are few, short and unique.
    fn verify(&self, params: &[(String, String)]) -> Result<()> {
        if params.len() > MAX_PARAMS || params.iter().any(|(_, v)| v.len() > MAX_VALUE) {
            return Err(bad_signature());
        }
        let mut names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(bad_signature());
        }
        let given = get(params, HASH)
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(bad_signature)?;
        self.mac(params)?
            .verify_slice(&given)
            .map_err(|_| bad_signature())?;
        if get(params, "vnp_TmnCode") != Some(self.merchant_code.as_str()) {
            return Err(bad_signature());
        }
        Ok(())
    }

    /// The sandbox's side: verifies a checkout request it received.
    pub fn verify_checkout(&self, params: &[(String, String)]) -> Result<CheckoutRequest> {
        self.verify(params)?;
        Ok(CheckoutRequest {
            merchant_code: required(params, "vnp_TmnCode")?.to_owned(),
            reference: required(params, "vnp_TxnRef")?.to_owned(),
            amount: parse_amount(required(params, "vnp_Amount")?)?,
            order_info: required(params, "vnp_OrderInfo")?.to_owned(),
            return_url: required(params, "vnp_ReturnUrl")?.to_owned(),
        })
    }

    /// The sandbox's side: the signed result of a checkout, as both the IPN and the browser
    /// return carry it.
    pub fn result_params(
        &self,
        request: &CheckoutRequest,
        gateway_transaction: &str,
        response_code: &str,
        pay_date: &str,
    ) -> Result<Vec<(String, String)>> {
        let status = if response_code == CODE_SUCCESS {
            "00"
        } else {
            "02"
        };
        let params = [
            ("vnp_TmnCode", request.merchant_code.as_str()),
            ("vnp_TxnRef", &request.reference),
            ("vnp_Amount", &(request.amount * 100).to_string()),
            ("vnp_OrderInfo", &request.order_info),
            ("vnp_ResponseCode", response_code),
            ("vnp_TransactionStatus", status),
            ("vnp_TransactionNo", gateway_transaction),
            ("vnp_BankCode", "SANDBOX"),
            ("vnp_PayDate", pay_date),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        self.sign(params)
    }

    /// Query string of `params` (form-encoded).
    pub fn query(params: &[(String, String)]) -> String {
        params
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The sandbox's side: delivers the IPN to the merchant and says whether it was
    /// acknowledged (2xx).
    pub async fn deliver_ipn(&self, ipn_url: &str, params: &[(String, String)]) -> Result<bool> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| Error::Other(format!("http client: {e}")))?;
        let response = client
            .post(ipn_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Self::query(params))
            .send()
            .await
            .map_err(|e| Error::Other(format!("IPN delivery: {e}")))?;
        Ok(response.status().is_success())
    }
}

impl PaymentGateway for SignedRedirectGateway {
    fn checkout_url(&self, request: &PaymentRequest) -> Result<String> {
        if request.amount <= 0 || request.amount > MAX_AMOUNT {
            return Err(DomainError::invalid("the amount is out of range")
                .with_rule("payment.amount_range")
                .into());
        }
        let params = [
            ("vnp_Version", "2.1.0"),
            ("vnp_Command", "pay"),
            ("vnp_TmnCode", self.merchant_code.as_str()),
            ("vnp_Amount", &(request.amount * 100).to_string()),
            ("vnp_CurrCode", "VND"),
            ("vnp_TxnRef", &request.reference),
            ("vnp_OrderInfo", &request.order_info),
            ("vnp_OrderType", "other"),
            ("vnp_Locale", "vn"),
            ("vnp_ReturnUrl", &request.return_url),
            ("vnp_IpAddr", &request.client_addr),
            ("vnp_CreateDate", &request.created_at),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let signed = self.sign(params)?;
        let separator = if self.gateway_url.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok(format!(
            "{}{separator}{}",
            self.gateway_url,
            Self::query(&signed)
        ))
    }

    fn verify_callback(&self, params: &[(String, String)]) -> Result<VerifiedPayment> {
        self.verify(params)?;
        let response_code = required(params, "vnp_ResponseCode")?.to_owned();
        let status = get(params, "vnp_TransactionStatus").unwrap_or_default();
        Ok(VerifiedPayment {
            reference: required(params, "vnp_TxnRef")?.to_owned(),
            amount: parse_amount(required(params, "vnp_Amount")?)?,
            gateway_transaction: required(params, "vnp_TransactionNo")?.to_owned(),
            success: response_code == CODE_SUCCESS && status == "00",
            response_code,
        })
    }
}

/// The secret in force: the configured one, or for the sandbox one derived from the
/// installation's signing key (stable across restarts, different on every installation).
fn secret(config: &Config, session_key: &[u8]) -> Vec<u8> {
    if config.payment.secret.is_empty() {
        crate::keys::derive(session_key, "payment-sandbox")
    } else {
        config.payment.secret.as_bytes().to_vec()
    }
}

/// The gateway the configuration describes, as the counterparty implementation.
pub fn signed_gateway(config: &Config, session_key: &[u8]) -> SignedRedirectGateway {
    SignedRedirectGateway::new(
        &config.payment_gateway_url(),
        &config.payment.merchant_code,
        &secret(config, session_key),
    )
}

/// The payment-gateway port chosen by `payment.backend` (both backends speak the signed
/// redirect protocol; the sandbox is served by `tinhso serve` itself).
pub fn from_config(config: &Config, session_key: &[u8]) -> Arc<dyn PaymentGateway> {
    Arc::new(signed_gateway(config, session_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gateway() -> SignedRedirectGateway {
        SignedRedirectGateway::new("http://gw.test/pay", "TINHSO01", b"a shared secret")
    }

    fn request() -> PaymentRequest {
        PaymentRequest {
            reference: "000.00.31.H32-270301-0001-20270301090000".into(),
            amount: 1_500_000,
            order_info: "Le phi ho so 000.00.31.H32-270301-0001".into(),
            return_url: "http://127.0.0.1:8080/payment/return".into(),
            created_at: "20270301090000".into(),
            client_addr: "127.0.0.1".into(),
        }
    }

    fn params_of(url: &str) -> Vec<(String, String)> {
        let query = url.split_once('?').unwrap().1;
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn checkout_round_trip_and_tampering() {
        let gw = gateway();
        let url = gw.checkout_url(&request()).unwrap();
        assert!(url.starts_with("http://gw.test/pay?"), "{url}");
        assert!(url.contains("vnp_Amount=150000000"), "{url}");
        let params = params_of(&url);
        let checkout = gw.verify_checkout(&params).unwrap();
        assert_eq!(checkout.amount, 1_500_000);
        assert_eq!(checkout.return_url, "http://127.0.0.1:8080/payment/return");

        let result = gw
            .result_params(&checkout, "14831393", CODE_SUCCESS, "20270301091000")
            .unwrap();
        let verified = gw.verify_callback(&result).unwrap();
        assert!(verified.success);
        assert_eq!(
            (verified.amount, verified.gateway_transaction.as_str()),
            (1_500_000, "14831393")
        );

        let rule = |r: Result<VerifiedPayment>| match r {
            Err(Error::Domain(d)) => d.rule,
            other => panic!("{other:?}"),
        };
        let mut altered = result.clone();
        for (k, v) in &mut altered {
            if k == "vnp_Amount" {
                *v = "100".into();
            }
        }
        assert_eq!(
            rule(gw.verify_callback(&altered)),
            Some("payment.bad_signature")
        );
        let other_secret = SignedRedirectGateway::new("http://gw.test/pay", "TINHSO01", b"x");
        assert_eq!(
            rule(other_secret.verify_callback(&result)),
            Some("payment.bad_signature")
        );
        let mut duplicated = result.clone();
        duplicated.push(("vnp_Amount".into(), "100".into()));
        assert_eq!(
            rule(gw.verify_callback(&duplicated)),
            Some("payment.bad_signature")
        );
        let unsigned: Vec<_> = result.into_iter().filter(|(k, _)| k != HASH).collect();
        assert_eq!(
            rule(gw.verify_callback(&unsigned)),
            Some("payment.bad_signature")
        );
        let cancelled = gw
            .result_params(&checkout, "14831394", CODE_CANCELLED, "20270301091000")
            .unwrap();
        assert!(!gw.verify_callback(&cancelled).unwrap().success);
    }

    #[test]
    fn canonical_text_is_sorted_and_form_encoded() {
        let params = vec![
            ("vnp_b".to_owned(), "x y".to_owned()),
            ("vnp_a".to_owned(), "http://h/p?q=1".to_owned()),
            (HASH.to_owned(), "ignored".to_owned()),
        ];
        assert_eq!(
            SignedRedirectGateway::canonical(&params),
            "vnp_a=http%3A%2F%2Fh%2Fp%3Fq%3D1&vnp_b=x+y"
        );
    }
}
