//! The demo site's DRP: `[drp]`, `[dns]`, `[ticket]` and the policy's two runbooks, written
//! for the demo's sandboxes, and what they need on disk in the demo's directory: the command
//! hosts reach each other with (`[drp] transfer_ssh`: OpenSSH's ssh with the demo's key and
//! known_hosts, to the demo servers), the TSIG key of the demo's DNS server and the token of
//! its ticket system.
//!
//! Everything a run touches stays in the demo's directory: copies go from a backup server's
//! sandbox to the DRP server's (a drill's scratch copy under the DRP sandbox's `var/tmp`,
//! as `/var/tmp/vigie-drill/…` on a real DRP server), exec steps only touch or test files of
//! their host's sandbox (commands run there, relative paths are the sandbox's), the DNS
//! record is the demo's own server's, tickets go to the demo's ticket system, and a run's
//! journal and lock are in the directory too ([`journal_path`], [`lock_dir`]).
//!
//! Not in the demo: the database import (`db_import`). The demo's PostgreSQL is a stand-in
//! with nothing to restore into, so its runbooks leave the step out rather than fake it.

use super::dns_zone::{KEY_NAME, RECORD, ZONE};
use super::sandbox::{path_str, sh_quote};
use super::{toml_str, write_private};
use std::fmt::Write as _;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What a ticket step sends the demo's ticket system (the fields it records).
const TEMPLATE: &str = r#"{"title": "{{title}}", "body": "{{body}}", "reference": "{{order}}"}"#;

/// The files of the demo's DRP, in its directory.
#[derive(Debug, Clone)]
pub(crate) struct DrpFiles {
    pub transfer_ssh: PathBuf,
    pub tsig_key: PathBuf,
    pub token: PathBuf,
    /// The TSIG secret, for the demo's DNS server.
    pub secret: Vec<u8>,
    /// The ticket system's bearer token.
    pub token_text: String,
}

/// Where a run's journal goes: the demo's own directory, never the operator's state
/// directory (the demo's runs are no site's history).
pub(crate) fn journal_path(root: &Path) -> PathBuf {
    root.join("state").join("journal.jsonl")
}

/// Where the DRP lock goes: the DRP server's sandbox, as /var/lib/vigie on a real one.
pub(crate) fn lock_dir(root: &Path) -> PathBuf {
    root.join("hosts").join("drp").join("var/lib/vigie")
}

/// The transfer command (see the module's documentation): `transfer-ssh HOST COMMAND…`.
/// `ssh`: OpenSSH's client on this machine, if any; `hosts`: each demo host's port.
pub(crate) fn transfer_script(
    ssh: Option<&Path>,
    identity: &Path,
    known_hosts: &Path,
    user: &str,
    hosts: &[(&str, u16)],
) -> io::Result<String> {
    let mut s = String::from(
        "#!/bin/sh\n\
         # vigie demo: [drp] transfer_ssh, how the demo's hosts reach each other (rsync -e, the\n\
         # throughput measurement): OpenSSH's ssh with the demo's key and known_hosts, to the\n\
         # demo server of that name on 127.0.0.1. Written by vigie, removed with the demo.\n\
         case ${1:-} in\n",
    );
    for (name, port) in hosts {
        let _ = writeln!(s, "{name}) _port={port} ;;");
    }
    s.push_str(
        "'' | -*) echo \"usage: transfer-ssh HOST COMMAND...\" >&2; exit 255 ;;\n\
         *) echo \"vigie demo: no demo host named $1\" >&2; exit 255 ;;\n\
         esac\n\
         shift\n",
    );
    let Some(ssh) = ssh else {
        s.push_str(
            "echo \"vigie demo: the demo's hosts reach each other with OpenSSH's ssh client, \
             which is not installed on this machine\" >&2\n\
             exit 255\n",
        );
        return Ok(s);
    };
    let _ = writeln!(
        s,
        "exec {ssh} -F /dev/null -i {identity} -o IdentitiesOnly=yes -o IdentityAgent=none \\\n\
         \x20   -o UserKnownHostsFile={known_hosts} -o GlobalKnownHostsFile=/dev/null \\\n\
         \x20   -o StrictHostKeyChecking=yes -o UpdateHostKeys=no -o BatchMode=yes \\\n\
         \x20   -o ConnectTimeout=5 -o ServerAliveInterval=15 -o LogLevel=ERROR \\\n\
         \x20   -l {user} -p \"$_port\" 127.0.0.1 \"$@\"",
        ssh = sh_quote(path_str(ssh)?),
        identity = sh_quote(path_str(identity)?),
        known_hosts = sh_quote(path_str(known_hosts)?),
        user = sh_quote(user),
    );
    Ok(s)
}

/// Writes the transfer command, the TSIG key and the ticket token into `root`.
pub(crate) fn write_files(root: &Path, transfer: &str) -> anyhow::Result<DrpFiles> {
    let transfer_ssh = root.join("transfer-ssh");
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o755)
            .open(&transfer_ssh)?;
        f.write_all(transfer.as_bytes())?;
    }
    let secret: [u8; 32] = rand::random();
    let tsig_key = root.join("tsig.key");
    write_private(
        &tsig_key,
        &format!(
            "# vigie demo: the TSIG key of the demo's DNS server (tsig-keygen's format)\n\
             key \"{KEY_NAME}\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{}\";\n}};\n",
            data_encoding::BASE64.encode(&secret)
        ),
    )?;
    let token_text = data_encoding::HEXLOWER.encode(&rand::random::<[u8; 16]>());
    let token = root.join("ticket.token");
    write_private(&token, &format!("{token_text}\n"))?;
    std::fs::create_dir_all(lock_dir(root))?;
    Ok(DrpFiles {
        transfer_ssh,
        tsig_key,
        token,
        secret: secret.to_vec(),
        token_text,
    })
}

/// The demo's DRP sections: `prod` and `drp` are the two sites' sandboxes.
pub(crate) fn config_text(
    files: &DrpFiles,
    prod: &Path,
    drp: &Path,
    dns_port: u16,
    ticket_port: u16,
) -> anyhow::Result<String> {
    let transfer = super::utf8(&files.transfer_ssh)?;
    if transfer.chars().any(char::is_whitespace) {
        anyhow::bail!(
            "the demo's directory {} holds a blank, which `[drp] transfer_ssh` cannot: set \
             TMPDIR to a plain path",
            transfer
        );
    }
    let prod = super::utf8(prod)?;
    let drp = super::utf8(drp)?;
    let host_path =
        |host: &str, sandbox: &str, rel: &str| toml_str(&format!("{host}:{sandbox}/{rel}"));
    let mut s = format!(
        "\n# The demo's DRP. Exec steps run in their host's sandbox: relative paths are its own.\n\
         [drp]\n\
         production = \"prod\"\n\
         drp = \"drp\"\n\
         incident_after = \"1m\"\n\
         transfer_ssh = {transfer}\n\
         throughput = \"80 MiB/s\"\n\
         fence = \"touch srv/MAINTENANCE\"\n\
         fence_verify = \"test -e srv/MAINTENANCE\"\n\
         \n[dns]\n\
         servers = [\"127.0.0.1:{dns_port}\"]\n\
         zone = \"{ZONE}\"\n\
         record = \"{RECORD}\"\n\
         tsig_key_file = {key}\n\
         verify_timeout = \"10s\"\n\
         \n[ticket]\n\
         url = \"http://127.0.0.1:{ticket_port}{path}\"\n\
         token_file = {token}\n\
         template = {template}\n\
         id_pointer = \"/id\"\n",
        transfer = toml_str(transfer),
        key = toml_str(super::utf8(&files.tsig_key)?),
        path = super::tickets::PATH,
        token = toml_str(super::utf8(&files.token)?),
        template = toml_str(TEMPLATE),
    );
    // Activation: the policy's, without the database import (see the module's documentation).
    let _ = write!(
        s,
        "\n[[runbooks.activate.steps]]\n\
         kind = \"confirm\"\n\
         title = \"Order of the customer received\"\n\
         ask = \"order reference\"\n\
         \n[[runbooks.activate.steps]]\n\
         kind = \"copy\"\n\
         title = \"Copy files & configurations to the DRP server\"\n\
         from = \"newest:files\"\n\
         to = {to}\n\
         drill_to = {drill_to}\n\
         estimate = \"1m\"\n\
         \n[[runbooks.activate.steps]]\n\
         kind = \"exec\"\n\
         title = \"Check the DRP server's web root\"\n\
         host = \"drp\"\n\
         command = \"test -s srv/www/index.html\"\n\
         timeout = \"1m\"\n\
         \n[[runbooks.activate.steps]]\n\
         kind = \"ticket\"\n\
         title = \"DRP finalised\"\n\
         body = \"The DRP of {{{{site}}}} is active on {{{{drp}}}} since {{{{now}}}}; data captured at \
         {{{{captured_at}}}} (order {{{{order}}}}).\"\n\
         \n[[runbooks.activate.steps]]\n\
         kind = \"dns\"\n\
         title = \"Point the site to the DRP\"\n\
         target = \"drp\"\n\
         \n[[runbooks.activate.steps]]\n\
         kind = \"wait\"\n\
         title = \"The site answers\"\n\
         check = \"app.url.shop\"\n\
         timeout = \"2m\"\n",
        to = host_path("drp", drp, "srv/restore/"),
        drill_to = host_path("drp", drp, "var/tmp/vigie-drill/activate/2/"),
    );
    // Return to production: production into maintenance, the files back, the DNS back.
    let _ = write!(
        s,
        "\n[[runbooks.return.steps]]\n\
         kind = \"confirm\"\n\
         title = \"Order of the customer to return to production received\"\n\
         ask = \"order reference\"\n\
         \n[[runbooks.return.steps]]\n\
         kind = \"exec\"\n\
         title = \"Put production into maintenance\"\n\
         host = \"prod\"\n\
         command = \"touch srv/MAINTENANCE\"\n\
         verify = \"test -e srv/MAINTENANCE\"\n\
         timeout = \"1m\"\n\
         \n[[runbooks.return.steps]]\n\
         kind = \"copy\"\n\
         title = \"Copy files from the DRP server to production\"\n\
         from = {from}\n\
         to = {to}\n\
         drill_to = {drill_to}\n\
         estimate = \"1m\"\n\
         \n[[runbooks.return.steps]]\n\
         kind = \"exec\"\n\
         title = \"Take production out of maintenance\"\n\
         host = \"prod\"\n\
         command = \"rm -f srv/MAINTENANCE\"\n\
         verify = \"test ! -e srv/MAINTENANCE\"\n\
         timeout = \"1m\"\n\
         \n[[runbooks.return.steps]]\n\
         kind = \"ticket\"\n\
         title = \"Switchover to production\"\n\
         body = \"The elements of {{{{site}}}} are back on {{{{production}}}} since {{{{now}}}} (order \
         {{{{order}}}}).\"\n\
         \n[[runbooks.return.steps]]\n\
         kind = \"dns\"\n\
         title = \"Point the site back to production\"\n\
         target = \"prod\"\n\
         \n[[runbooks.return.steps]]\n\
         kind = \"wait\"\n\
         title = \"The site answers\"\n\
         check = \"app.url.shop\"\n\
         timeout = \"2m\"\n",
        from = host_path("drp", drp, "srv/www/"),
        to = host_path("prod", prod, "srv/www/"),
        drill_to = host_path("drp", drp, "var/tmp/vigie-drill/return/3/"),
    );
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transfer_command_names_every_host_and_quotes_its_paths() {
        let s = transfer_script(
            Some(Path::new("/usr/bin/ssh")),
            Path::new("/tmp/d/id_ed25519"),
            Path::new("/tmp/d/known_hosts"),
            "demo",
            &[("prod", 2201), ("drp", 2205)],
        )
        .unwrap();
        assert!(
            s.contains("prod) _port=2201 ;;\ndrp) _port=2205 ;;\n"),
            "{s}"
        );
        assert!(
            s.contains("exec '/usr/bin/ssh' -F /dev/null -i '/tmp/d/id_ed25519'"),
            "{s}"
        );
        assert!(s.contains("-o StrictHostKeyChecking=yes"), "{s}");
        let none = transfer_script(None, Path::new("/k"), Path::new("/h"), "demo", &[]).unwrap();
        assert!(
            none.contains("not installed") && none.contains("exit 255"),
            "{none}"
        );
    }
}
