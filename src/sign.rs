//! SigV4 signing: the only module that imports aws-sigv4.

use crate::aws::Service;
use crate::creds::Credentials;
use crate::endpoint::Region;
use crate::error::Error;
use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use std::time::SystemTime;

/// Signs a `POST` to `service` in `region` and returns the headers to add (`authorization`,
/// `x-amz-date` and, with a session token, `x-amz-security-token`). `headers` are the headers that
/// will be sent besides `host`, which is derived from `url`.
pub fn sign_request(
    creds: &Credentials,
    service: Service,
    region: &Region,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    time: SystemTime,
) -> Result<Vec<(String, String)>, Error> {
    let cannot = |e: &dyn std::fmt::Display| Error::Permission(format!("cannot sign: {e}"));
    let identity: Identity = AwsCredentials::new(
        creds.access_key_id.as_str(),
        creds.secret_access_key.expose(),
        creds.session_token.as_ref().map(|t| t.expose().to_string()),
        None,
        "lambda-secrets",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region.as_str())
        .name(service.signing_name())
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| cannot(&e))?
        .into();
    let signable = SignableRequest::new(
        "POST",
        url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| cannot(&e))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| cannot(&e))?
        .into_parts();
    let (added, _query) = instructions.into_parts();
    Ok(added
        .into_iter()
        .map(|h| (h.name().to_string(), h.value().to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensitive::Sensitive;
    use std::time::{Duration, UNIX_EPOCH};

    /// The `post-x-www-form-urlencoded`-style vector from AWS's SigV4 test suite, adapted to an
    /// awsJson request, checked against a signature computed independently with botocore
    /// (`botocore.auth.SigV4Auth`, same inputs).
    #[test]
    fn signs_like_botocore() {
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Sensitive::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into()),
            session_token: None,
        };
        let headers = vec![
            (
                "content-type".to_string(),
                "application/x-amz-json-1.1".to_string(),
            ),
            (
                "x-amz-target".to_string(),
                "secretsmanager.GetSecretValue".to_string(),
            ),
        ];
        let t = UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 2015-08-30T12:36:00Z
        let out = sign_request(
            &creds,
            Service::SecretsManager,
            &Region::parse("us-east-1").unwrap(),
            "https://secretsmanager.us-east-1.amazonaws.com/",
            &headers,
            br#"{"SecretId":"prod/db"}"#,
            t,
        )
        .unwrap();
        let get = |n: &str| out.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("x-amz-date"), Some("20150830T123600Z"));
        assert_eq!(get("x-amz-security-token"), None);
        assert_eq!(
            get("authorization"),
            Some(include_str!("../tests/data/sigv4-expected.txt").trim())
        );
    }

    #[test]
    fn session_token_is_sent() {
        let creds = Credentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Sensitive::new("secret".into()),
            session_token: Some(Sensitive::new("token-value".into())),
        };
        let out = sign_request(
            &creds,
            Service::SecretsManager,
            &Region::parse("eu-west-1").unwrap(),
            "https://localhost:8443/",
            &[],
            b"{}",
            SystemTime::now(),
        )
        .unwrap();
        assert!(
            out.iter()
                .any(|(k, v)| k == "x-amz-security-token" && v == "token-value")
        );
        let auth = &out.iter().find(|(k, _)| k == "authorization").unwrap().1;
        assert!(
            auth.contains("SignedHeaders=host;x-amz-date;x-amz-security-token"),
            "{auth}"
        );
        assert!(auth.contains("/eu-west-1/secretsmanager/aws4_request"));
    }
}
