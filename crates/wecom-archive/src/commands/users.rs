//! `user add|list|disable|enable|passwd`: the accounts of the HTTP API. They live in the archive
//! of the first configured corp (where the API looks for them, whatever `--corp` says); every
//! change takes the archive's writer lock and is recorded in the audit log as `cli:<os user>`.
//! Passwords come from stdin only, and neither a password nor its hash is ever printed.

use std::collections::{BTreeSet, HashMap};
use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context as _;
use wecom_daemon::config::Config;
use wecom_store::{
    AuditEntry, AuditOutcome, NewUser, Role, Roles, Scope, StoreErrorKind, StoreLocation, User,
    UserUpdate,
};

use super::{UsageError, Writers};
use crate::cli::{RoleArg, UserCommand};

pub fn run(
    config: &Config,
    corp: Option<&str>,
    env: &HashMap<String, String>,
    cmd: &UserCommand,
) -> anyhow::Result<ExitCode> {
    let archive = accounts_archive(config)?;
    let actor = actor(env);
    match cmd {
        UserCommand::Add {
            name,
            role,
            corp_ids,
            scope_users,
            scope_departments,
            password_stdin: _,
        } => {
            let user = new_user(
                config,
                corp,
                name,
                *role,
                corp_ids,
                scope_users,
                scope_departments,
            )?;
            add(archive, &actor, user)
        }
        UserCommand::List { json } => list(archive, *json),
        UserCommand::Disable { name } => set_disabled(archive, &actor, name, true),
        UserCommand::Enable { name } => set_disabled(archive, &actor, name, false),
        UserCommand::Passwd {
            name,
            password_stdin: _,
        } => passwd(archive, &actor, name),
    }
}

/// The archive holding the accounts and the audit log: the first configured corp's, so the
/// answer never depends on `--corp` (corps usually share one archive).
pub(super) fn accounts_archive(config: &Config) -> anyhow::Result<&StoreLocation> {
    config
        .corps
        .first()
        .map(|c| &c.store)
        .context("no corp is configured")
}

/// Who runs the command, as the audit log names them: `cli:` and the OS user.
fn actor(env: &HashMap<String, String>) -> String {
    let user = ["USER", "LOGNAME"]
        .iter()
        .filter_map(|k| env.get(*k))
        .find(|v| !v.is_empty())
        .map_or("unknown", String::as_str);
    format!("cli:{user}")
}

fn role(arg: RoleArg) -> Role {
    match arg {
        RoleArg::Admin => Role::Admin,
        RoleArg::Auditor => Role::Auditor,
        RoleArg::Reviewer => Role::Reviewer,
    }
}

/// The user `add` creates, checked against the configuration; the password is read last.
fn new_user(
    config: &Config,
    corp: Option<&str>,
    name: &str,
    role_arg: RoleArg,
    corp_ids: &[String],
    scope_users: &[String],
    scope_departments: &[u64],
) -> anyhow::Result<NewUser> {
    wecom_store::validate_username(name).map_err(|_| {
        UsageError(format!(
            "{:?} is not a usable username: 1 to {} ASCII letters, digits, '.', '_', '-' or '@'",
            name,
            wecom_store::MAX_USERNAME_CHARS
        ))
    })?;
    let role = role(role_arg);
    let corps: Vec<String> = if corp_ids.is_empty() {
        vec![config.corp(corp)?.corp_id.clone()]
    } else {
        let mut seen = BTreeSet::new();
        let mut corps = Vec::new();
        for id in corp_ids {
            if !config.corps.iter().any(|c| &c.corp_id == id) {
                let configured: Vec<&str> =
                    config.corps.iter().map(|c| c.corp_id.as_str()).collect();
                return Err(UsageError(format!(
                    "corp {id:?} is not configured (configured: {})",
                    configured.join(", ")
                ))
                .into());
            }
            if seen.insert(id.as_str()) {
                corps.push(id.clone());
            }
        }
        corps
    };
    let scope = Scope {
        userids: scope_users.to_vec(),
        departments: scope_departments.to_vec(),
    };
    let has_scope = !scope.userids.is_empty() || !scope.departments.is_empty();
    match role {
        Role::Reviewer if !has_scope => {
            return Err(UsageError(
                "a reviewer sees only the conversations of its scope: give --scope-user and/or \
                 --scope-department"
                    .to_owned(),
            )
            .into());
        }
        Role::Admin | Role::Auditor if has_scope => {
            return Err(UsageError(format!(
                "--scope-user and --scope-department are for reviewers; an {role} sees every \
                 conversation of its corps"
            ))
            .into());
        }
        _ => {}
    }
    if scope.userids.iter().any(String::is_empty) {
        return Err(UsageError("--scope-user needs a userid".to_owned()).into());
    }
    Ok(NewUser {
        username: name.to_owned(),
        password_hash: String::new(),
        role,
        corps,
        scope,
    })
}

/// The password on stdin (one line; a trailing newline is not part of it), hashed once it
/// meets the policy. A weak password is a usage error (exit 2).
fn password_hash_from_stdin() -> anyhow::Result<String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the password from stdin (it must be UTF-8 text)")?;
    let password = input
        .strip_suffix('\n')
        .map_or(input.as_str(), |p| p.strip_suffix('\r').unwrap_or(p));
    if password.is_empty() {
        return Err(UsageError(
            "no password on stdin: pipe one in, e.g. `read -rs P && printf '%s' \"$P\" | \
             wecom-archive user add …`"
                .to_owned(),
        )
        .into());
    }
    wecom_accounts::check_password_policy(password)
        .map_err(|e| UsageError(format!("password refused: {e}")))?;
    Ok(wecom_accounts::hash_password(password)?)
}

/// Appends one entry of this command to the audit log.
fn audit(
    store: &Roles,
    actor: &str,
    action: &str,
    target: &str,
    detail: serde_json::Value,
    outcome: AuditOutcome,
) -> anyhow::Result<()> {
    store
        .audit
        .append(&AuditEntry {
            at_ms: wecom_wire::clock::now_ms(),
            username: actor.to_owned(),
            address: "cli".to_owned(),
            action: action.to_owned(),
            corp_id: String::new(),
            target: target.to_owned(),
            detail: detail.to_string(),
            outcome,
        })
        .context("cannot append to the audit log")?;
    Ok(())
}

fn add(archive: &StoreLocation, actor: &str, mut user: NewUser) -> anyhow::Result<ExitCode> {
    user.password_hash = password_hash_from_stdin()?;
    let mut writers = Writers::default();
    let store = writers.open(archive)?;
    let detail = serde_json::json!({
        "role": user.role.as_str(),
        "corps": user.corps,
        "scope_users": user.scope.userids,
        "scope_departments": user.scope.departments,
    });
    match store
        .accounts
        .create_user(&user, wecom_wire::clock::now_ms())
    {
        Ok(created) => {
            audit(
                &store,
                actor,
                "user.add",
                &created.username,
                detail,
                AuditOutcome::Ok,
            )?;
            safe_println!(
                "user {} added: {}, corps {}{}",
                created.username,
                created.role,
                created.corps.join(", "),
                scope_text(&created.scope)
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.kind() == StoreErrorKind::AlreadyExists => {
            audit(
                &store,
                actor,
                "user.add",
                &user.username,
                serde_json::json!({"reason": "exists"}),
                AuditOutcome::Failed,
            )?;
            anyhow::bail!(
                "a user named {} already exists (names ignore case): nothing changed",
                user.username
            )
        }
        Err(e) => Err(e.into()),
    }
}

fn set_disabled(
    archive: &StoreLocation,
    actor: &str,
    name: &str,
    disabled: bool,
) -> anyhow::Result<ExitCode> {
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    let mut writers = Writers::default();
    let store = writers.open(archive)?;
    let update = UserUpdate {
        disabled: Some(disabled),
        ..UserUpdate::default()
    };
    match store
        .accounts
        .update_user(name, &update, wecom_wire::clock::now_ms())
    {
        Ok(user) => {
            audit(
                &store,
                actor,
                action,
                &user.username,
                serde_json::json!({}),
                AuditOutcome::Ok,
            )?;
            if disabled {
                safe_println!(
                    "user {} disabled: they cannot sign in, and their sessions ended",
                    user.username
                );
            } else {
                safe_println!("user {} enabled", user.username);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.kind() == StoreErrorKind::NotFound => not_found(&store, actor, action, name),
        Err(e) => Err(e.into()),
    }
}

fn passwd(archive: &StoreLocation, actor: &str, name: &str) -> anyhow::Result<ExitCode> {
    let hash = password_hash_from_stdin()?;
    let mut writers = Writers::default();
    let store = writers.open(archive)?;
    match store
        .accounts
        .set_password(name, &hash, wecom_wire::clock::now_ms())
    {
        Ok(revoked) => {
            audit(
                &store,
                actor,
                "user.passwd",
                name,
                serde_json::json!({"sessions_revoked": revoked}),
                AuditOutcome::Ok,
            )?;
            safe_println!("password of {name} changed; {revoked} session(s) ended");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.kind() == StoreErrorKind::NotFound => {
            not_found(&store, actor, "user.passwd", name)
        }
        Err(e) => Err(e.into()),
    }
}

fn not_found(store: &Roles, actor: &str, action: &str, name: &str) -> anyhow::Result<ExitCode> {
    audit(
        store,
        actor,
        action,
        name,
        serde_json::json!({"reason": "no such user"}),
        AuditOutcome::Failed,
    )?;
    anyhow::bail!("no user named {name:?} (see `wecom-archive user list`)")
}

fn list(archive: &StoreLocation, as_json: bool) -> anyhow::Result<ExitCode> {
    if let StoreLocation::Sqlite(path) = archive
        && !path.exists()
    {
        if !as_json {
            println!(
                "no users yet: add the first admin with `wecom-archive user add NAME --role admin --password-stdin`"
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let accounts = wecom_store::open_accounts_reader(archive)
        .with_context(|| format!("cannot read archive {archive}"))?;
    let users = accounts.list_users()?;
    let now = wecom_wire::clock::now_ms();
    if as_json {
        for u in &users {
            println!("{}", user_json(u, now));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if users.is_empty() {
        println!(
            "no users yet: add the first admin with `wecom-archive user add NAME --role admin --password-stdin`"
        );
    }
    for u in &users {
        safe_println!(
            "{:<24} {:<9} {:<9} corps {}{}",
            u.username,
            u.role,
            state(u, now),
            u.corps.join(", "),
            scope_text(&u.scope)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn state(u: &User, now_ms: i64) -> &'static str {
    if u.disabled {
        "disabled"
    } else if u.is_locked(now_ms) {
        "locked"
    } else {
        "enabled"
    }
}

fn scope_text(scope: &Scope) -> String {
    let mut parts = Vec::new();
    if !scope.userids.is_empty() {
        parts.push(format!("users {}", scope.userids.join(", ")));
    }
    if !scope.departments.is_empty() {
        let ids: Vec<String> = scope.departments.iter().map(u64::to_string).collect();
        parts.push(format!("departments {}", ids.join(", ")));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("; scope: {}", parts.join("; "))
    }
}

/// A user for `--json`: everything but the password hash.
fn user_json(u: &User, now_ms: i64) -> serde_json::Value {
    serde_json::json!({
        "id": u.id,
        "username": u.username,
        "role": u.role.as_str(),
        "corps": u.corps,
        "scope_users": u.scope.userids,
        "scope_departments": u.scope.departments,
        "disabled": u.disabled,
        "locked": u.is_locked(now_ms),
        "failed_logins": u.failed_logins,
        "locked_until_ms": u.locked_until_ms,
        "created_at_ms": u.created_at_ms,
        "updated_at_ms": u.updated_at_ms,
        "password_changed_at_ms": u.password_changed_at_ms,
    })
}
