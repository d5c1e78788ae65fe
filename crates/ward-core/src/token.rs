//! API tokens: `ward_<id>_<secret>`.
//!
//! The id (12 hex digits) names the token in listings, events and revocations; the secret (64 hex
//! digits, 256 random bits) is shown once and stored only as its SHA-256. Because the secret is
//! uniformly random, a fast hash is enough: there is nothing to guess.

use sha2::{Digest, Sha256};

const PREFIX: &str = "ward_";
const ID_HEX: usize = 12;
const SECRET_HEX: usize = 64;

/// A parsed token.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Public id.
    pub id: String,
    secret: String,
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiToken").field("id", &self.id).finish_non_exhaustive()
    }
}

/// Why a bearer string is not a Ward API token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed API token (expected ward_<12 hex>_<64 hex>)")]
pub struct MalformedToken;

/// Random source failure while generating a token.
#[derive(Debug, thiserror::Error)]
#[error("cannot generate a token: {0}")]
pub struct TokenGenError(String);

impl ApiToken {
    /// A new random token.
    pub fn generate() -> Result<ApiToken, TokenGenError> {
        let mut id = [0u8; ID_HEX / 2];
        let mut secret = [0u8; SECRET_HEX / 2];
        getrandom::fill(&mut id).map_err(|e| TokenGenError(e.to_string()))?;
        getrandom::fill(&mut secret).map_err(|e| TokenGenError(e.to_string()))?;
        Ok(ApiToken {
            id: hex::encode(id),
            secret: hex::encode(secret),
        })
    }

    /// Parses the string a client presents.
    pub fn parse(s: &str) -> Result<ApiToken, MalformedToken> {
        let rest = s.strip_prefix(PREFIX).ok_or(MalformedToken)?;
        let (id, secret) = rest.split_once('_').ok_or(MalformedToken)?;
        let lower_hex =
            |t: &str, n: usize| t.len() == n && t.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !lower_hex(id, ID_HEX) || !lower_hex(secret, SECRET_HEX) {
            return Err(MalformedToken);
        }
        Ok(ApiToken {
            id: id.to_string(),
            secret: secret.to_string(),
        })
    }

    /// The full token string, to show once.
    pub fn reveal(&self) -> String {
        format!("{PREFIX}{}_{}", self.id, self.secret)
    }

    /// Hex SHA-256 of the secret: what is stored.
    pub fn secret_hash(&self) -> String {
        hex::encode(Sha256::digest(self.secret.as_bytes()))
    }

    /// Whether the secret hashes to `stored` (compared in constant time).
    pub fn matches(&self, stored: &str) -> bool {
        let ours = self.secret_hash();
        ours.len() == stored.len() && ours.bytes().zip(stored.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_parse_match() {
        let t = ApiToken::generate().unwrap();
        let s = t.reveal();
        let back = ApiToken::parse(&s).unwrap();
        assert_eq!(back, t);
        assert!(back.matches(&t.secret_hash()));
        let other = ApiToken::generate().unwrap();
        assert!(!other.matches(&t.secret_hash()));
        assert!(!format!("{t:?}").contains(&t.secret));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let t = ApiToken::generate().unwrap().reveal();
        for bad in [
            "",
            "ward_",
            "token",
            &t[..t.len() - 1],
            &t.replace("ward_", "wardx"),
            &t.to_uppercase(),
            &format!("{t}0"),
        ] {
            assert_eq!(ApiToken::parse(bad), Err(MalformedToken), "{bad}");
        }
    }
}
