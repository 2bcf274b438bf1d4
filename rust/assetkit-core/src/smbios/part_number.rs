//! The DDR generation a memory module's part number names, for firmware that reports the type
//! as Other, Unknown or out of spec (old dmidecode builds do not know the DDR4 and DDR5 codes;
//! some BIOSes never filled the field).
//!
//! Only manufacturers whose part-number scheme fixes the generation at a fixed place are read,
//! from their published part-number decoders; anything else is `None`, never a guess:
//!
//! | manufacturer | prefix | generation |
//! | --- | --- | --- |
//! | Samsung | `M` + form factor digit (3 DIMM, 4 SODIMM) + two digits + `L` / `T` / `B` / `A` / `R` | DDR / DDR2 / DDR3 / DDR4 / DDR5 (`M393A` DDR4 RDIMM, `M321R` DDR5 RDIMM) |
//! | SK Hynix | `HYMD` / `HMP`, `HYMP` / `HMT` / `HMA` / `HMCG` | DDR / DDR2 / DDR3 / DDR4 / DDR5 |
//! | Micron | `MTC` + digit | DDR5 |
//! | Micron | (`MTA` or `MT`) + chip count + `A` / `J`, `K` / `H` + module code ending in `F` (`MTA18ASF`, `MT36KSF`, `MT16HTF`; SPD often drops the `MT(A)`: `9ASF1G72PZ`) | DDR4 / DDR3 / DDR2 |
//! | Elpida | `EBD` / `EBE` / `EBJ` | DDR / DDR2 / DDR3 |
//! | Kingston | `KF` or `KCP` + generation digit 3 / 4 / 5 + speed (`KF432C16`, `KCP548US8`) | DDR3 / DDR4 / DDR5 |
//! | Kingston | `KVR` or `KSM` + two-digit speed code + letter: 13, 16 / 21-32 / 48-64 (`KVR16N11`, `KSM32RD4`, `KSM48R40`) | DDR3 / DDR4 / DDR5 |
//! | Kingston | `KVR` + full speed + `D2` / `D3` (`KVR800D2N6`, `KVR1333D3N9`) | DDR2 / DDR3 |
//!
//! Samsung's SPD strings of the DDR2 era carry a space after the form factor (`M3 93T6450FZ0`);
//! spaces are ignored.

/// "DDR4" for "M393A4K40CB2-CVF"; `None` when the part number does not say.
pub fn ddr_generation(part: &str) -> Option<&'static str> {
    let p: String = part.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
    samsung(&p).or_else(|| hynix(&p)).or_else(|| micron(&p)).or_else(|| elpida(&p)).or_else(|| kingston(&p))
}

fn samsung(p: &str) -> Option<&'static str> {
    let b = p.as_bytes();
    if b.len() < 5 || b[0] != b'M' || !matches!(b[1], b'3' | b'4') || !b[2].is_ascii_digit() || !b[3].is_ascii_digit() {
        return None;
    }
    Some(match b[4] {
        b'L' => "DDR",
        b'T' => "DDR2",
        b'B' => "DDR3",
        b'A' => "DDR4",
        b'R' => "DDR5",
        _ => return None,
    })
}

fn hynix(p: &str) -> Option<&'static str> {
    const PREFIXES: &[(&str, &str)] =
        &[("HMCG", "DDR5"), ("HMA", "DDR4"), ("HMT", "DDR3"), ("HYMP", "DDR2"), ("HMP", "DDR2"), ("HYMD", "DDR")];
    PREFIXES.iter().find(|(prefix, _)| p.starts_with(prefix)).map(|(_, generation)| *generation)
}

fn micron(p: &str) -> Option<&'static str> {
    if p.strip_prefix("MTC").and_then(|r| r.chars().next()).is_some_and(|c| c.is_ascii_digit()) {
        return Some("DDR5");
    }
    let rest = p.strip_prefix("MTA").or_else(|| p.strip_prefix("MT")).unwrap_or(p);
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if !(1..=2).contains(&digits) {
        return None;
    }
    let rest = &rest.as_bytes()[digits..];
    let generation = match rest.first()? {
        b'A' => "DDR4",
        b'J' | b'K' => "DDR3",
        b'H' => "DDR2",
        _ => return None,
    };
    // The module code after the generation letter: one or two letters, then F (SF, TF, DF, SZF).
    let letters = rest[1..].iter().take_while(|c| c.is_ascii_uppercase() && **c != b'F').count();
    ((1..=2).contains(&letters) && rest.get(1 + letters) == Some(&b'F')).then_some(generation)
}

fn elpida(p: &str) -> Option<&'static str> {
    [("EBD", "DDR"), ("EBE", "DDR2"), ("EBJ", "DDR3")]
        .iter()
        .find(|(prefix, _)| p.starts_with(prefix))
        .map(|(_, generation)| *generation)
}

fn kingston(p: &str) -> Option<&'static str> {
    if let Some(rest) = p.strip_prefix("KCP").or_else(|| p.strip_prefix("KF")) {
        let b = rest.as_bytes();
        if b.len() >= 3 && b[1].is_ascii_digit() && b[2].is_ascii_digit() {
            return match b[0] {
                b'3' => Some("DDR3"),
                b'4' => Some("DDR4"),
                b'5' => Some("DDR5"),
                _ => None,
            };
        }
        return None;
    }
    let rest = p.strip_prefix("KVR").or_else(|| p.strip_prefix("KSM"))?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let after = &rest[digits.len()..];
    match digits.len() {
        2 if after.starts_with(|c: char| c.is_ascii_uppercase()) => match digits.as_str() {
            "13" | "16" => Some("DDR3"),
            "21" | "24" | "26" | "29" | "32" => Some("DDR4"),
            "48" | "52" | "56" | "60" | "64" => Some("DDR5"),
            _ => None,
        },
        3 | 4 if after.starts_with("D2") => Some("DDR2"),
        3 | 4 if after.starts_with("D3") => Some("DDR3"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::ddr_generation;

    #[test]
    fn generations_from_part_numbers() {
        for (part, expected) in [
            // Samsung
            ("M393A4K40CB2-CVF", "DDR4"),
            ("M321R8GA0BB0-CQK", "DDR5"),
            ("M425R1GB4BB0-CQK", "DDR5"),
            ("M393B1G73QH0-CMA", "DDR3"),
            ("M3 93T6450FZ0-CCC", "DDR2"),
            ("M312L5720CZ3-CB3", "DDR"),
            // SK Hynix
            ("HMA82GR7CJR8N-WM", "DDR4"),
            ("HMAA4GR7AJR8N-XN", "DDR4"),
            ("HMCG88AEBRA115N", "DDR5"),
            ("HMT351R7EFR8C-PB", "DDR3"),
            ("HYMP512U64CP8-Y5", "DDR2"),
            // Micron, with and without the MT(A) prefix SPD often drops
            ("MTA18ASF2G72PZ-2G3B1", "DDR4"),
            ("9ASF1G72PZ-3G2E2", "DDR4"),
            ("MTC20F2085S1RC48BA1", "DDR5"),
            ("MT36KSF2G72PZ-1G6E1", "DDR3"),
            ("18JSF51272PZ-1G4D1", "DDR3"),
            ("MT36JSZF1G72PZ-1G4D1", "DDR3"),
            ("MT16HTF25664AY-800E1", "DDR2"),
            // Elpida
            ("EBE21UE8ACUA-8G-E", "DDR2"),
            ("EBJ41UF8BCS0-DJ-F", "DDR3"),
            // Kingston
            ("KF432C16BB/8", "DDR4"),
            ("KF556C40BBK2-32", "DDR5"),
            ("KCP316ND8/8", "DDR3"),
            ("KVR16N11/8", "DDR3"),
            ("KSM32RD4/32HDR", "DDR4"),
            ("KSM48R40BD4TMM-64HMR", "DDR5"),
            ("KVR800D2N6/2G", "DDR2"),
            ("KVR1333D3N9/4G", "DDR3"),
        ] {
            assert_eq!(ddr_generation(part), Some(expected), "{part}");
        }
    }

    #[test]
    fn unknown_schemes_say_nothing() {
        for part in [
            "647650-071",
            "NT1GT64U88D0BY-AD",
            "P48808GSHCRN-VK",
            "9965525-018.A00LF",
            "KFJ-PM316/4G",
            "KVR400X64C3A/512",
            "M3",
            "MT",
            "123",
            "",
            "HP",
            "ModulePartNumber00",
            "0x4D332037385432393533455A332D43453620",
            "25Q Series",
        ] {
            assert_eq!(ddr_generation(part), None, "{part}");
        }
    }
}
