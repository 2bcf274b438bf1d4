//! `custom`: executables in the plugins directory that print JSON become
//! `facts.custom.<name>`. Running them is the source's business (live: with a timeout; snapshot:
//! recorded output); this module only names and decodes.

use crate::source::CustomOutput;
pub use crate::source::valid_plugin_name as valid_name;

/// Decodes one plugin's output into JSON, or says why it cannot.
pub fn decode(output: &CustomOutput) -> Result<serde_json::Value, String> {
    let bytes = output.as_ref().map_err(Clone::clone)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("printed nothing (expected a JSON document on stdout)".to_owned());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let preview: String = String::from_utf8_lossy(bytes).chars().take(60).collect();
        format!("printed invalid JSON ({e}); output starts {preview:?}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("raid_health"));
        assert!(valid_name("rack-label.sh"));
        assert!(!valid_name(".hidden"));
        assert!(!valid_name("x~"));
        assert!(!valid_name("a b"));
        assert!(!valid_name("../x"));
    }

    #[test]
    fn garbage_is_an_error_with_a_preview() {
        let err = decode(&Ok(b"hello {".to_vec())).unwrap_err();
        assert!(err.contains("invalid JSON") && err.contains("hello"), "{err}");
        assert!(decode(&Ok(b"  \n".to_vec())).unwrap_err().contains("nothing"));
        assert_eq!(decode(&Ok(br#"{"a":1}"#.to_vec())).unwrap()["a"], 1);
    }
}
