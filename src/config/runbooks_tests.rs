//! Tests of `[runbooks.NAME]`: the policy's runbooks load with their defaults filled in, and
//! every mistake is reported at its line and column, saying what was expected.

use super::*;
use crate::config::load::tests::{FakeSsh, errors, ok};
use crate::drp::model::{DbKind, DbRestore, Source};

/// The two sites, two backup servers, the datasets of SPEC §5 (and a restic one), a URL test,
/// [drp], [dns] and [ticket]: what runbooks refer to.
const BASE: &str = r#"[site]
name = "t"
[[hosts]]
name = "prod"
address = "10.0.1.11"
role = "production"
datacenter = "dc1"
public_address = "203.0.113.11"
[[hosts]]
name = "backup-a"
address = "10.0.1.12"
role = "backup"
datacenter = "dc1"
[[hosts]]
name = "backup-b"
address = "10.0.2.21"
role = "backup"
datacenter = "dc2"
[[hosts]]
name = "drp"
address = "10.0.2.22"
role = "drp"
datacenter = "dc2"
public_address = "203.0.113.12"
[[datasets]]
name = "userdb"
max_loss = "2h"
restore = { kind = "postgresql", database = "app" }
[[datasets.copies]]
host = "backup-a"
path = "/var/backups/userdb"
every = "2h"
pattern = "*.dump"
[[datasets]]
name = "files"
max_loss = "24h"
[[datasets.copies]]
host = "backup-a"
path = "/var/backups/files"
every = "24h"
days = "even"
[[datasets.copies]]
host = "backup-b"
path = "/var/backups/files"
every = "24h"
days = "odd"
[[datasets]]
name = "vault"
max_loss = "24h"
[[datasets.copies]]
host = "backup-b"
path = "/srv/restic"
every = "24h"
format = "restic"
[[urls]]
name = "site"
url = "https://www.example.test/"
[drp]
production = "prod"
drp = "drp"
[dns]
servers = ["10.0.1.53:53"]
zone = "example.test"
record = "www.example.test"
tsig_key_file = "/etc/vigie/tsig.key"
[ticket]
url = "https://tickets.example.test/api/tickets"
token_file = "/etc/vigie/ticket.token"
template = '{"title": "{{title}}", "body": "{{body}}"}'
id_pointer = "/id"
"#;

/// BASE's line count: errors in `extra` are on line BASE_LINES + their line in `extra`.
fn line(in_extra: usize) -> usize {
    BASE.lines().count() + in_extra
}

fn load(extra: &str) -> crate::config::Config {
    ok(&format!("{BASE}{extra}"), &FakeSsh::default())
}

fn problems(extra: &str) -> Vec<String> {
    errors(&format!("{BASE}{extra}"), &FakeSsh::default())
}

/// Asserts exactly one problem, at `in_extra:col`, containing `gist`.
fn one(extra: &str, in_extra: usize, col: usize, gist: &str) {
    let got = problems(extra);
    assert_eq!(got.len(), 1, "{got:#?}");
    let want = format!("{}:{col}: ", line(in_extra));
    assert!(got[0].starts_with(&want), "want {want:?}, got {got:#?}");
    assert!(got[0].contains(gist), "want {gist:?} in {got:#?}");
}

/// The example file of the repository: the policy's runbooks.
fn example() -> String {
    include_str!("../../config.example.toml").to_string()
}

#[test]
fn the_policys_runbooks_load_with_their_defaults() {
    let c = ok(&example(), &FakeSsh::default());
    assert_eq!(
        c.runbooks.names().collect::<Vec<_>>(),
        ["activate", "return"]
    );
    let kinds = |name: &str| -> Vec<&str> {
        let r = c.runbooks.get(name).unwrap();
        r.steps.iter().map(|s| s.kind.word()).collect()
    };
    // The policy's activation: copy files, import the database, ticket, DNS (and a wait).
    assert_eq!(
        kinds("activate"),
        [
            "confirm",
            "copy",
            "db_import",
            "exec",
            "ticket",
            "dns",
            "wait"
        ]
    );
    // The return: maintenance, copy back, import back, ticket, DNS back.
    assert_eq!(
        kinds("return"),
        [
            "confirm",
            "exec",
            "exec",
            "exec",
            "copy",
            "db_import",
            "exec",
            "ticket",
            "dns",
            "wait"
        ]
    );
    let activate = c.runbooks.get("activate").unwrap();
    assert_eq!(
        activate.steps[1].kind,
        StepKind::Copy {
            from: Source::Newest {
                dataset: "files".into()
            },
            to: HostPath {
                host: "drp".into(),
                path: "/srv/www/".into()
            },
            estimate: Some(Duration::from_secs(9000)),
            drill_to: HostPath {
                host: "drp".into(),
                path: "/var/tmp/vigie-drill/activate/2/".into()
            },
        }
    );
    // The restore comes from the dataset, the drill database from it.
    assert_eq!(
        activate.steps[2].kind,
        StepKind::DbImport {
            from: Source::Newest {
                dataset: "userdb".into()
            },
            to: "drp".into(),
            restore: DbRestore {
                kind: DbKind::Postgresql,
                database: "app".into(),
                port: None,
            },
            verify: "select count(*) from users".into(),
            drill_database: "app_drill".into(),
        }
    );
    let ret = c.runbooks.get("return").unwrap();
    let StepKind::Exec {
        command, timeout, ..
    } = &ret.steps[3].kind
    else {
        panic!("{:?}", ret.steps[3]);
    };
    assert!(command.lines().count() == 2, "{command:?}");
    assert_eq!(*timeout, HOUR);
}

#[test]
fn step_defaults() {
    let c = load(
        "[[runbooks.x.steps]]\nkind = \"exec\"\ntitle = \"a\"\nhost = \"drp\"\ncommand = \"true\"\n\
         [[runbooks.x.steps]]\nkind = \"wait\"\ntitle = \"a\"\ncheck = \"app.service.nginx\"\nhost = \"drp\"\n\
         [[runbooks.x.steps]]\nkind = \"copy\"\ntitle = \"c\"\nfrom = \"backup-b:/x/\"\nto = \"drp:/srv/x/\"\n\
         drill_to = \"drp:/srv/scratch/\"\n",
    );
    let steps = &c.runbooks.get("x").unwrap().steps;
    // Duplicate titles are fine: steps are known by their number.
    assert_eq!(steps[0].title, steps[1].title);
    assert!(
        matches!(steps[0].kind, StepKind::Exec { timeout, verify: None, .. } if timeout == HOUR)
    );
    assert_eq!(
        steps[1].kind,
        StepKind::Wait {
            check: "app.service.nginx".into(),
            host: Some("drp".into()),
            timeout: Duration::from_secs(300)
        }
    );
    assert!(
        matches!(&steps[2].kind, StepKind::Copy { estimate: None, drill_to, .. }
        if drill_to.path == "/srv/scratch/")
    );
}

#[test]
fn hosts_and_datasets_must_exist() {
    one(
        "[[runbooks.a.steps]]\nkind = \"exec\"\ntitle = \"t\"\nhost = \"dpr\"\ncommand = \"x\"\n",
        4,
        8,
        "`host`: no [[hosts]] entry named `dpr`: expected one of `prod`, `backup-a`, \
         `backup-b`, `drp`; did you mean `drp`?",
    );
    one(
        "[[runbooks.a.steps]]\nkind = \"copy\"\ntitle = \"t\"\nfrom = \"newest:file\"\nto = \"drp:/srv/www/\"\n",
        4,
        8,
        "no dataset named `file`: expected one of `userdb`, `files`, `vault`; did you mean \
         `newest:files`?",
    );
    one(
        "[[runbooks.a.steps]]\nkind = \"copy\"\ntitle = \"t\"\nfrom = \"newest:vault\"\nto = \"drp:/srv/www/\"\n",
        4,
        8,
        "the copy of `vault` on `backup-b` is in format `restic`",
    );
    one(
        "[[runbooks.a.steps]]\nkind = \"db_import\"\ntitle = \"t\"\nfrom = \"newest:userdb\"\nto = \"db\"\nverify = \"select 1\"\n",
        5,
        6,
        "`to`: no [[hosts]] entry named `db`",
    );
}

#[test]
fn paths_are_absolute_and_never_system_directories() {
    let copy = |from: &str, to: &str| {
        format!(
            "[[runbooks.a.steps]]\nkind = \"copy\"\ntitle = \"t\"\nfrom = \"{from}\"\nto = \"{to}\"\n"
        )
    };
    for (from, gist) in [
        ("backup-a:srv/", "the path must be absolute"),
        ("backup-a:~/x", "the path must be absolute"),
        ("/srv/www", "expected HOST:/absolute/path"),
        ("backup-a:/x/../etc", "`.` or `..`"),
    ] {
        one(&copy(from, "drp:/srv/"), 4, 8, gist);
    }
    for (to, gist) in [
        ("drp:/", "/ is a system directory"),
        ("drp:/etc/", "/etc is a system directory"),
        ("drp:/var", "/var is a system directory"),
    ] {
        one(&copy("backup-a:/x/", to), 5, 6, gist);
    }
    one(
        "[[runbooks.a.steps]]\nkind = \"db_import\"\ntitle = \"t\"\nfrom = \"drp:/var/backups/\"\n\
         to = \"prod\"\nverify = \"select 1\"\nrestore = { kind = \"postgresql\", database = \"app\" }\n",
        4,
        8,
        "a database import reads a dump file, not a directory",
    );
}

#[test]
fn a_field_of_another_kind_is_named_as_such() {
    one(
        "[[runbooks.a.steps]]\nkind = \"ticket\"\ntitle = \"t\"\nbody = \"b\"\nverify = \"x\"\n",
        5,
        10,
        "`verify` is not a field of a `ticket` step (step 1 of runbook `a`): it belongs to \
         `exec`, `db_import` steps",
    );
    one(
        "[[runbooks.a.steps]]\nkind = \"confirm\"\ntitle = \"t\"\nask = \"order\"\ntarget = \"drp\"\n",
        5,
        10,
        "`target` is not a field of a `confirm` step",
    );
    // Unknown everywhere: serde's own message lists the fields.
    let got = problems(
        "[[runbooks.a.steps]]\nkind = \"confirm\"\ntitle = \"t\"\nask = \"o\"\nnope = 1\n",
    );
    assert!(
        got[0].starts_with(&format!("{}:1: unknown field `nope`", line(5))),
        "{got:#?}"
    );
}

#[test]
fn required_fields_and_kinds() {
    one(
        "[[runbooks.a.steps]]\nkind = \"exec\"\ntitle = \"t\"\nhost = \"drp\"\n",
        2,
        8,
        "missing field `command` in step 1 of runbook `a`: `exec` steps need the command",
    );
    one(
        "[[runbooks.a.steps]]\nkind = \"Copy\"\ntitle = \"t\"\n",
        2,
        8,
        "unknown step kind `Copy`, expected one of `confirm`, `exec`, `copy`, `db_import`, \
         `ticket`, `dns`, `wait` (written in lowercase)",
    );
    let got = problems("[[runbooks.a.steps]]\nkind = \"confirm\"\nask = \"o\"\n");
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].contains("missing field `title` in step 1 of runbook `a`"),
        "{got:#?}"
    );
    one("[runbooks.a]\n", 1, 11, "runbook `a` has no steps");
    one(
        "[runbooks.a]\nsteps = []\n",
        2,
        9,
        "runbook `a` has no steps",
    );
    one(
        "[[runbooks.\"go live\".steps]]\nkind = \"confirm\"\ntitle = \"t\"\nask = \"o\"\n",
        1,
        12,
        "invalid runbook name \"go live\"",
    );
}

#[test]
fn wait_checks_are_check_ids() {
    let wait = |check: &str, host: &str| {
        format!("[[runbooks.a.steps]]\nkind = \"wait\"\ntitle = \"t\"\ncheck = \"{check}\"\n{host}")
    };
    one(&wait("site.up", ""), 4, 9, "not a check id of Vigie");
    one(
        &wait("app.url.shop", ""),
        4,
        9,
        "no [[urls]] entry named `shop` (URL tests: `site`)",
    );
    one(
        &wait("app.service.iis", "host = \"drp\"\n"),
        4,
        9,
        "unknown service `iis`",
    );
    one(
        &wait("backup.nope.loss_window", ""),
        4,
        9,
        "of a configured dataset",
    );
    one(
        &wait("system.process.nginx", ""),
        4,
        9,
        "is a host's check: say on which host",
    );
    one(
        &wait("app.url.site", "host = \"drp\"\n"),
        5,
        8,
        "is the site's, not a host's",
    );
    for good in [
        wait("app.url.site", ""),
        wait("backup.userdb.loss_window", ""),
        wait("network.dnsbl.203.0.113.12", ""),
        wait("system.partition./srv", "host = \"drp\"\n"),
        wait("app.replication.postgresql.app", "host = \"drp\"\n"),
    ] {
        load(&good);
    }
}

#[test]
fn db_import_restores_a_database() {
    one(
        "[[runbooks.a.steps]]\nkind = \"db_import\"\ntitle = \"t\"\nfrom = \"drp:/r/app.dump\"\n\
         to = \"prod\"\nverify = \"select 1\"\n",
        4,
        8,
        "a db_import from a file needs `restore = { kind = \"postgresql\"",
    );
    one(
        "[[runbooks.a.steps]]\nkind = \"db_import\"\ntitle = \"t\"\nfrom = \"newest:files\"\n\
         to = \"drp\"\nverify = \"select 1\"\n",
        4,
        8,
        "dataset `files` has no `restore`",
    );
    one(
        "[[runbooks.a.steps]]\nkind = \"db_import\"\ntitle = \"t\"\nfrom = \"newest:userdb\"\n\
         to = \"drp\"\nverify = \"select 1\"\nrestore = { kind = \"files\", database = \"x\" }\n",
        7,
        20,
        "unknown restore kind `files`, expected one of `postgresql`, `mysql`",
    );
    one(
        "[[runbooks.a.steps]]\nkind = \"db_import\"\ntitle = \"t\"\nfrom = \"newest:userdb\"\n\
         to = \"drp\"\nverify = \"select 1\"\ndrill_database = \"app\"\n",
        7,
        18,
        "`drill_database` must differ from the database `app`",
    );
    let c = load(
        "[[runbooks.a.steps]]\nkind = \"db_import\"\ntitle = \"t\"\nfrom = \"drp:/r/app.dump\"\n\
         to = \"prod\"\nverify = \"select 1\"\nrestore = { kind = \"mysql\", database = \"shop\" }\n",
    );
    assert!(matches!(&c.runbooks.get("a").unwrap().steps[0].kind,
        StepKind::DbImport { restore, drill_database, .. }
        if restore.kind == DbKind::Mysql && drill_database == "shop_drill"));
}

#[test]
fn an_import_may_name_the_port_of_its_postgresql_server() {
    let step = |restore: &str| {
        format!(
            "[[runbooks.a.steps]]\nkind = \"db_import\"\ntitle = \"t\"\nfrom = \"drp:/r/app.dump\"\n\
             to = \"prod\"\nverify = \"select 1\"\nrestore = {restore}\n"
        )
    };
    let restore_of = |c: &crate::config::Config| match &c.runbooks.get("a").unwrap().steps[0].kind {
        StepKind::DbImport { restore, .. } => restore.clone(),
        other => panic!("{other:?}"),
    };
    let c = load(&step(
        "{ kind = \"postgresql\", database = \"app\", port = 5433 }",
    ));
    assert_eq!(
        restore_of(&c),
        DbRestore {
            kind: DbKind::Postgresql,
            database: "app".into(),
            port: Some(5433),
        }
    );
    // The dataset's port comes with its restore.
    let with_port = BASE.replace(
        "restore = { kind = \"postgresql\", database = \"app\" }",
        "restore = { kind = \"postgresql\", database = \"app\", port = 6432 }",
    );
    let c = ok(
        &format!(
            "{with_port}[[runbooks.a.steps]]\nkind = \"db_import\"\ntitle = \"t\"\n\
             from = \"newest:userdb\"\nto = \"drp\"\nverify = \"select 1\"\n"
        ),
        &FakeSsh::default(),
    );
    assert_eq!(restore_of(&c).port, Some(6432));
    // Out of range, not a number, MySQL's, an unknown key: each located at its value.
    for (restore, col, gist) in [
        (
            "{ kind = \"postgresql\", database = \"app\", port = 0 }",
            59,
            "`port` = 0 is out of range: expected a port number from 1 to 65535",
        ),
        (
            "{ kind = \"postgresql\", database = \"app\", port = 65536 }",
            59,
            "`port` = 65536 is out of range",
        ),
        (
            "{ kind = \"postgresql\", database = \"app\", port = \"5433\" }",
            59,
            "`port`: expected a port number from 1 to 65535, found string \"5433\"",
        ),
        (
            "{ kind = \"mysql\", database = \"app\", port = 3307 }",
            54,
            "`port` is only for restore kind `postgresql`: the MySQL import connects through \
             the server's unix socket",
        ),
        (
            "{ kind = \"postgresql\", database = \"app\", host = \"db1\" }",
            52,
            "unknown field `host`, expected one of `kind`, `database`, `port`",
        ),
    ] {
        one(&step(restore), 7, col, gist);
    }
}

#[test]
fn drills_write_only_to_scratch_places_on_the_drp_host() {
    let copy = |drill_to: &str| {
        format!(
            "[[runbooks.a.steps]]\nkind = \"copy\"\ntitle = \"t\"\nfrom = \"newest:files\"\n\
             to = \"drp:/srv/www/\"\ndrill_to = \"{drill_to}\"\n"
        )
    };
    one(
        &copy("prod:/var/tmp/x/"),
        6,
        12,
        "`drill_to` must be on the DRP host `drp`",
    );
    one(
        &copy("drp:/srv/www"),
        6,
        12,
        "`drill_to` is the step's own target drp:/srv/www/",
    );
}

#[test]
fn dns_and_ticket_steps_need_their_sections_and_sites() {
    one(
        "[[runbooks.a.steps]]\nkind = \"dns\"\ntitle = \"t\"\ntarget = \"backup-a\"\n",
        4,
        10,
        "`target` must be one of the two sites of [drp]: `prod` (production) or `drp` (DRP)",
    );
    one(
        "[[runbooks.a.steps]]\nkind = \"ticket\"\ntitle = \"DRP of {{site}}\"\nbody = \"since {{when}}\"\n",
        4,
        8,
        "unknown placeholder {{when}}, expected one of `site`",
    );
    one(
        "[[runbooks.a.steps]]\nkind = \"ticket\"\ntitle = \"DRP of {{site\"\nbody = \"b\"\n",
        3,
        9,
        "`title`: `{{` is not closed by `}}`",
    );
    let without = BASE.split("[dns]").next().unwrap();
    let got = errors(
        &format!(
            "{without}[[runbooks.a.steps]]\nkind = \"dns\"\ntitle = \"t\"\ntarget = \"drp\"\n\
             [[runbooks.a.steps]]\nkind = \"ticket\"\ntitle = \"t\"\nbody = \"b\"\n"
        ),
        &FakeSsh::default(),
    );
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(
        got[0].contains("is a `dns` step, but the file has no [dns] section"),
        "{got:#?}"
    );
    assert!(
        got[1].contains("is a `ticket` step, but the file has no [ticket] section"),
        "{got:#?}"
    );
}

#[test]
fn runbooks_need_the_drp_section() {
    let without = BASE.replace("[drp]\nproduction = \"prod\"\ndrp = \"drp\"\n", "");
    let got = errors(
        &format!("{without}[[runbooks.a.steps]]\nkind = \"confirm\"\ntitle = \"t\"\nask = \"o\"\n"),
        &FakeSsh::default(),
    );
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].contains(":3: runbooks need a [drp] section"),
        "{got:#?}"
    );
}

#[test]
fn every_step_is_checked_not_only_the_first() {
    let got = problems(
        "[[runbooks.a.steps]]\nkind = \"exec\"\ntitle = \"t\"\nhost = \"nope\"\ncommand = \"x\"\n\
         [[runbooks.a.steps]]\nkind = \"wait\"\ntitle = \"t\"\ncheck = \"nope\"\n\
         [[runbooks.b.steps]]\nkind = \"copy\"\ntitle = \"t\"\nfrom = \"x\"\nto = \"drp:/srv/\"\n",
    );
    assert_eq!(got.len(), 3, "{got:#?}");
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn quoted(s: &str) -> String {
        toml::Value::String(s.to_string()).to_string()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_field_values(
            kind in prop::sample::select(KINDS.to_vec()),
            a in "\\PC{0,30}", b in "(newest:|drp:|prod:/|/)?\\PC{0,20}", c in "\\PC{0,30}",
        ) {
            let text = format!(
                "[[runbooks.r.steps]]\nkind = \"{kind}\"\ntitle = {}\nfrom = {}\nto = {}\n\
                 check = {}\nbody = {}\ntarget = {}\n",
                quoted(&a), quoted(&b), quoted(&c), quoted(&a), quoted(&c), quoted(&b),
            );
            let _ = crate::config::load::parse_with(
                &format!("{BASE}{text}"),
                std::path::Path::new("/x.toml"),
                &crate::config::load::tests::env(&FakeSsh::default()),
            );
        }
    }
}
