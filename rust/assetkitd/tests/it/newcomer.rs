//! What a newcomer hits in the first hour (issue 26): one style for naming the object a
//! subcommand acts on, and the rough edges around it.

use crate::support::{TestDb, cli};

fn password_file(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("password");
    std::fs::write(&path, "a long enough password\n").unwrap();
    path.display().to_string()
}

#[test]
fn every_subcommand_names_its_user_key_or_host_positionally_and_the_old_flags_still_work() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let pw = password_file(&dir);
    for (args, expect) in [
        (vec!["users", "create", "carol", "--password-file", &pw], "user carol created"),
        (vec!["users", "create", "--name", "dave", "--password-file", &pw], "user dave created"),
        (vec!["users", "passwd", "carol", "--password-file", &pw], "password of carol changed"),
        (vec!["users", "passwd", "--name", "dave", "--password-file", &pw], "password of dave changed"),
        (vec!["users", "set-role", "carol", "viewer"], "carol is now viewer"),
        (vec!["users", "disable", "carol"], "user carol disabled"),
        (vec!["users", "disable", "--name", "dave"], "user dave disabled"),
        (vec!["keys", "create", "agents", "--scope", "agent"], "key_id: ak_"),
        (vec!["keys", "create", "--name", "ops", "--scope", "admin"], "key_id: ak_"),
        (vec!["assets", "add", "web99"], "asset 1 created"),
        (vec!["assets", "add", "--hostname", "web98"], "asset 2 created"),
        (vec!["hosts", "enrol", "web97"], "asset 3 (web97) enrolled"),
        (vec!["hosts", "enrol", "--hostname", "web96"], "asset 4 (web96) enrolled"),
        (vec!["assets", "show", "web99"], "web99"),
    ] {
        let (ok, out, err) = cli(&db, &args);
        assert!(ok && out.contains(expect), "{args:?}: {out}{err}");
    }
    let names: Vec<String> = db.column("SELECT name FROM api_keys WHERE scope <> 'host' ORDER BY name", &[]);
    assert_eq!(names, ["agents", "ops"]);
    let disabled: i64 = db.scalar("SELECT count(*) FROM users WHERE disabled_at IS NOT NULL", &[]);
    assert_eq!(disabled, 2);

    // Both spellings at once, or none, is a usage error that names the positional form.
    let (ok, _, err) = cli(&db, &["users", "disable", "carol", "--name", "dave"]);
    assert!(!ok && err.contains("unexpected argument 'dave'"), "{err}");
    let (ok, _, err) = cli(&db, &["users", "passwd", "--password-file", &pw]);
    assert!(!ok && err.contains("required arguments were not provided") && err.contains("<NAME>"), "{err}");
    // The help teaches the positional form only.
    for (args, usage) in [
        (["users", "passwd", "--help"], "users passwd [OPTIONS] <NAME>"),
        (["keys", "create", "--help"], "keys create [OPTIONS] --scope <SCOPE> <NAME>"),
        (["assets", "add", "--help"], "assets add [OPTIONS] <HOSTNAME>"),
    ] {
        let (_, help, _) = crate::support::cli_raw(&args);
        assert!(help.contains(usage) && !help.contains("--name"), "{help}");
    }
}
