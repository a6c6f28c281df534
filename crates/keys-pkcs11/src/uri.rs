//! RFC 7512 `pkcs11:` URIs: `pkcs11:token=Kyso;object=teacher;id=%01?pin-value=1234&module-path=/usr/lib/softhsm/libsofthsm2.so`.

use kyso_keys::KeyError;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pkcs11Uri {
    pub token: Option<String>,
    pub serial: Option<String>,
    pub object: Option<String>,
    pub id: Option<Vec<u8>>,
    pub module_path: Option<String>,
    pub pin_value: Option<String>,
    /// A file the PIN is read from (RFC 7512 §2.4 pin-source); read by the caller.
    pub pin_source: Option<String>,
}

impl std::fmt::Debug for Pkcs11Uri {
    // The PIN never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Uri")
            .field("token", &self.token)
            .field("object", &self.object)
            .field("id", &self.id)
            .field("module_path", &self.module_path)
            .field("pin_value", &self.pin_value.as_ref().map(|_| "***"))
            .finish()
    }
}

fn percent_decode(s: &str) -> Result<Vec<u8>, KeyError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or_else(|| KeyError::Load(format!("bad %-escape in pkcs11: URI near {:?}", &s[i..])))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| KeyError::Load(format!("bad %-escape %{hex} in pkcs11: URI")))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn text(s: &str) -> Result<String, KeyError> {
    String::from_utf8(percent_decode(s)?).map_err(|_| KeyError::Load("a pkcs11: URI attribute is not UTF-8".into()))
}

impl std::str::FromStr for Pkcs11Uri {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        let rest = s.strip_prefix("pkcs11:").ok_or_else(|| KeyError::Load("a PKCS#11 key reference starts with pkcs11:".into()))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut uri = Pkcs11Uri::default();
        for part in path.split(';').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| KeyError::Load(format!("pkcs11: URI attribute {part:?} has no '='")))?;
            match k {
                "token" => uri.token = Some(text(v)?),
                "serial" => uri.serial = Some(text(v)?),
                "object" => uri.object = Some(text(v)?),
                "id" => uri.id = Some(percent_decode(v)?),
                // Known but not needed for selection here.
                "type"
                | "manufacturer"
                | "model"
                | "library-manufacturer"
                | "library-description"
                | "library-version"
                | "slot-id"
                | "slot-description"
                | "slot-manufacturer" => {}
                other => return Err(KeyError::Load(format!("unknown pkcs11: URI attribute {other:?}"))),
            }
        }
        for part in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| KeyError::Load(format!("pkcs11: URI query {part:?} has no '='")))?;
            match k {
                "module-path" => uri.module_path = Some(text(v)?),
                "pin-value" => uri.pin_value = Some(text(v)?),
                "pin-source" => uri.pin_source = Some(text(v)?.trim_start_matches("file:").to_string()),
                "module-name" => {}
                other => return Err(KeyError::Load(format!("unknown pkcs11: URI query attribute {other:?}"))),
            }
        }
        Ok(uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc7512_examples() {
        let u: Pkcs11Uri =
            "pkcs11:token=Tr%C6%B0%E1%BB%9Dng;object=teacher;id=%01%ff?pin-value=1234&module-path=/usr/lib/softhsm/libsofthsm2.so"
                .parse()
                .unwrap();
        assert_eq!(u.token.as_deref(), Some("Trường"));
        assert_eq!(u.object.as_deref(), Some("teacher"));
        assert_eq!(u.id, Some(vec![1, 0xff]));
        assert_eq!(u.pin_value.as_deref(), Some("1234"));
        assert!(!format!("{u:?}").contains("1234"), "the PIN never shows in Debug");
        assert!("pkcs11:token=a;bogus=1".parse::<Pkcs11Uri>().is_err());
        assert!("file:x".parse::<Pkcs11Uri>().is_err());
    }
}
