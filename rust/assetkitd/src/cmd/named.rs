//! The object a subcommand acts on is named the same way everywhere: as its positional argument
//! (`users passwd carol`, `keys create agents --scope agent`, `assets add web99`,
//! `webhooks remove 4`). Before this one style, a few subcommands took `--name` or `--hostname`
//! instead; scripts written then keep working because [`legacy_args`] turns those flags into the
//! positional argument before clap reads the line, so `--help` teaches one form only.

use std::ffi::OsString;

/// The subcommands that once took their object as a flag, and that flag.
const LEGACY: &[(&str, &str, &str)] = &[
    ("users", "create", "--name"),
    ("users", "passwd", "--name"),
    ("users", "disable", "--name"),
    ("keys", "create", "--name"),
    ("assets", "add", "--hostname"),
    ("hosts", "enrol", "--hostname"),
];

/// `args` (the whole command line, program name first) with a legacy `--name X`, `--name=X`,
/// `--hostname X` or `--hostname=X` of the subcommands in [`LEGACY`] moved to the end as the
/// positional argument, after `--` so that a value starting with `-` stays a value. Anything
/// else is returned unchanged, and clap judges it.
pub fn legacy_args(args: Vec<OsString>) -> Vec<OsString> {
    let words: Vec<(usize, &str)> = args
        .iter()
        .enumerate()
        .skip(1)
        .filter_map(|(i, a)| a.to_str().map(|s| (i, s)))
        .filter(|(_, s)| !s.starts_with('-'))
        .take(2)
        .collect();
    let [(_, group), (at, sub)] = words[..] else { return args };
    let Some(&(_, _, flag)) = LEGACY.iter().find(|(g, s, _)| *g == group && *s == sub) else { return args };
    if args.iter().any(|a| a == "--") {
        return args;
    }
    let mut kept: Vec<OsString> = Vec::with_capacity(args.len() + 1);
    let mut value = None;
    let mut rest = args.into_iter().enumerate();
    while let Some((i, arg)) = rest.next() {
        let text = arg.to_str().unwrap_or_default();
        if i > at && value.is_none() && text == flag {
            match rest.next() {
                Some((_, v)) => value = Some(v),
                None => kept.push(arg),
            }
        } else if i > at && value.is_none() && text.starts_with(flag) && text[flag.len()..].starts_with('=') {
            value = Some(OsString::from(&text[flag.len() + 1..]));
        } else {
            kept.push(arg);
        }
    }
    if let Some(v) = value {
        kept.push("--".into());
        kept.push(v);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::legacy_args;

    fn line(s: &str) -> Vec<std::ffi::OsString> {
        s.split(' ').map(Into::into).collect()
    }

    #[test]
    fn legacy_flags_become_the_positional_argument() {
        for (old, new) in [
            ("assetkitd users passwd --name carol --db x", "assetkitd users passwd --db x -- carol"),
            ("assetkitd -v users disable --name=carol", "assetkitd -v users disable -- carol"),
            ("assetkitd keys create --name -odd --scope agent", "assetkitd keys create --scope agent -- -odd"),
            ("assetkitd assets add --hostname web99", "assetkitd assets add -- web99"),
            ("assetkitd hosts enrol --db x --hostname web9", "assetkitd hosts enrol --db x -- web9"),
            // Not a legacy form: untouched (assets set's --hostname renames).
            ("assetkitd assets set web99 --hostname web100", "assetkitd assets set web99 --hostname web100"),
            ("assetkitd users passwd carol", "assetkitd users passwd carol"),
            ("assetkitd users passwd --name", "assetkitd users passwd --name"),
            ("assetkitd keys create --name a -- b", "assetkitd keys create --name a -- b"),
        ] {
            assert_eq!(legacy_args(line(old)), line(new), "{old}");
        }
    }
}
