//! Tests of the plan of a `db_import` step: the restore's port carried to the plan, its text
//! and the import; the guard of an import back to production announced.

use super::tests::{example_config, plan};
use super::*;
use crate::drp::model::{Mode, Resolved};

/// config.example.toml with `port = 5433` on every PostgreSQL restore (the dataset's and the
/// return's own).
fn example_with_port() -> Config {
    let text = include_str!("../../config.example.toml")
        .replace("use_ssh_config = true", "use_ssh_config = false")
        .replace(
            "restore = { kind = \"postgresql\", database = \"app\" }\n",
            "restore = { kind = \"postgresql\", database = \"app\", port = 5433 }\n",
        );
    crate::config::parse(&text, std::path::Path::new("/etc/vigie/config.toml"))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn import_step(p: &Plan) -> &PlanStep {
    p.steps
        .iter()
        .find(|s| matches!(s.step, Resolved::DbImport { .. }))
        .expect("a db_import step")
}

fn restore_of(s: &PlanStep) -> &crate::drp::model::DbRestore {
    match &s.step {
        Resolved::DbImport { restore, .. } => restore,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_restores_port_reaches_the_plan_its_text_and_the_import() {
    let c = example_with_port();
    let p = plan(&c, "activate", Mode::Planned);
    let s = import_step(&p);
    assert_eq!(restore_of(s).port, Some(5433));
    assert!(
        p.render_text().contains(
            "       into  drp (dc2): a new postgresql database on the server of port 5433, then \
             switched to as app"
        ),
        "{}",
        p.render_text()
    );
    // The engine's import (and the plan's exact commands) run with that port.
    let spec = crate::drp::db_import::ImportSpec::from_plan(s, Mode::Planned, "ssh").unwrap();
    let preview = spec.preview("RUN");
    assert!(
        preview.iter().any(|l| l.starts_with(
            "drp: the PostgreSQL server on port 5433 (through its unix socket: every psql and \
             the switch run with -p 5433)"
        )),
        "{preview:#?}"
    );
    assert!(
        preview
            .iter()
            .any(|l| l
                .contains("psql --single-transaction -v ON_ERROR_STOP=1 -d app_vigie_run -p 5433")),
        "{preview:#?}"
    );
    assert!(
        preview
            .iter()
            .any(|l| l
                .starts_with("drp: psql -p 5433 -d app_vigie_run -c 'select count(*) from users'")),
        "{preview:#?}"
    );
    let script = spec.script("import", "RUN").unwrap();
    assert!(script.contains("\nVI_PORT='5433'\n"), "{script}");

    // A drill on the same host keeps it; a drill of an import on another host does not.
    let d = plan(&c, "activate", Mode::Drill);
    assert_eq!(restore_of(import_step(&d)).port, Some(5433));
    let rd = plan(&c, "return", Mode::Drill);
    let s = import_step(&rd);
    assert_eq!(restore_of(s).port, None);
    assert!(
        s.notes
            .iter()
            .any(|n| n == "drill: port 5433 is that of prod's server; drp takes the drill on its default port"),
        "{:?}",
        s.notes
    );
    // Without a port, the plan's JSON (and so its hash) is as it always was.
    let plain = plan(&example_config(), "activate", Mode::Planned);
    let json = serde_json::to_value(restore_of(import_step(&plain))).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"kind": "postgresql", "database": "app"})
    );
    assert_ne!(plain.hash(), p.hash());
}

#[test]
fn an_import_back_to_production_says_it_is_guarded() {
    let c = example_config();
    let r = plan(&c, "return", Mode::Planned);
    let s = import_step(&r);
    assert_eq!(
        s.notes,
        vec![
            "return: refused, before anything is done, if the live database app on prod \
             changed after the dump was captured"
                .to_string()
        ]
    );
    assert!(
        import_step(&plan(&c, "activate", Mode::Planned))
            .notes
            .is_empty()
    );
}

#[test]
fn a_mysql_import_with_a_port_is_refused_by_the_import_too() {
    let c = example_config();
    let mut p = plan(&c, "activate", Mode::Planned);
    let n = import_step(&p).number;
    let step = p.steps.iter_mut().find(|s| s.number == n).unwrap();
    if let Resolved::DbImport { restore, .. } = &mut step.step {
        restore.kind = crate::drp::model::DbKind::Mysql;
        restore.port = Some(3307);
    }
    let e = crate::drp::db_import::ImportSpec::from_plan(step, Mode::Planned, "ssh").unwrap_err();
    assert!(
        e.to_string().contains("a port is for PostgreSQL only"),
        "{e}"
    );
}
