//! The escalation rule as a property. Random callers, holding random permissions and
//! tessera's granting permissions (but neither verb that lifts the rule), try every
//! granting write: CreateRole, SetRolePermissions, CreateUser, SetUserRoles and Issue for
//! themselves and for others. Afterwards nobody gained a permission the caller did not hold:
//! no user it created or changed, no role it created or changed, no key it minted, and not
//! the caller itself.

use proptest::prelude::*;
use tessera::domain::app::{App, Caller, TokenSpec};
use tessera::domain::clock::ManualClock;
use tessera::domain::permission_set::PermissionSet;
use tessera::domain::secret_hash::SecretHasher;

/// Granted permissions over a small alphabet, with the reserved first segment in it.
fn grant() -> impl Strategy<Value = String> {
    let seg = prop_oneof![Just("a"), Just("b"), Just("*"), Just("tessera")];
    prop::collection::vec(seg, 1..=3).prop_map(|v| v.join(":"))
}

fn grants() -> impl Strategy<Value = Vec<String>> {
    prop::collection::btree_set(grant(), 0..4).prop_map(|s| s.into_iter().collect())
}

#[derive(Debug, Clone)]
enum Action {
    CreateRole(Vec<String>),
    SetRole(usize, Vec<String>),
    CreateUser(Vec<usize>),
    SetUserRoles(usize, Vec<usize>),
    Issue(usize, Vec<String>),
}

fn action() -> impl Strategy<Value = Action> {
    let picks =
        || prop::collection::btree_set(0usize..8, 0..3).prop_map(|s| s.into_iter().collect());
    prop_oneof![
        grants().prop_map(Action::CreateRole),
        (0usize..8, grants()).prop_map(|(r, g)| Action::SetRole(r, g)),
        picks().prop_map(Action::CreateUser),
        (0usize..8, picks()).prop_map(|(u, r)| Action::SetUserRoles(u, r)),
        (0usize..8, grants()).prop_map(|(u, g)| Action::Issue(u, g)),
    ]
}

/// Every required permission the checks ask about: all of 1 to 3 segments over the
/// alphabet, and tessera's own.
fn probes() -> Vec<String> {
    let segs = ["a", "b", "tessera"];
    let mut out: Vec<String> = Vec::new();
    for a in segs {
        out.push(a.to_owned());
        for b in segs {
            out.push(format!("{a}:{b}"));
            for c in segs {
                out.push(format!("{a}:{b}:{c}"));
            }
        }
    }
    for own in [
        "tessera:roles:write",
        "tessera:users:write",
        "tessera:tokens:issue",
        "tessera:roles:escalate",
        "tessera:users:bind",
        "tessera:tokens:self",
    ] {
        out.push(own.to_owned());
    }
    out
}

struct World {
    app: App,
    admin: Caller,
}

impl World {
    async fn user_permissions(&self, id: &str) -> PermissionSet {
        let user = self.app.get_user(&self.admin, id).await.expect("user");
        let mut sets = Vec::new();
        for r in &user.roles {
            sets.push(
                self.app
                    .get_role(&self.admin, r)
                    .await
                    .expect("role")
                    .permissions,
            );
        }
        PermissionSet::union_all(&sets)
    }
}

/// The permissions in `after` that `before` lacks: each must be one `caller` held.
fn gained_beyond(
    before: &PermissionSet,
    after: &PermissionSet,
    caller: &PermissionSet,
) -> Vec<String> {
    probes()
        .into_iter()
        .filter(|q| after.matches(q) && !before.matches(q) && !caller.matches(q))
        .collect()
}

async fn run_case(caller_grants: Vec<String>, seeded: Vec<Vec<String>>, actions: Vec<Action>) {
    let backend = crate::db::open("sqlite::memory:").await;
    let app = App::new(backend.store(), SecretHasher::new(None), ManualClock::new());
    let boot = app.bootstrap().await.expect("bootstrap");
    let admin = app.authenticate(Some(&boot.key)).await.expect("admin");
    let w = World { app, admin };
    let mut roles: Vec<String> = Vec::new();
    for (i, g) in seeded.iter().enumerate() {
        let name = format!("seed{i}");
        w.app
            .create_role(&w.admin, name.clone(), g, String::new())
            .await
            .expect("seed role");
        roles.push(name);
    }
    // Neither verb that lifts the rule: a grant covering one (`tessera:*`) is left out.
    let lifts = |g: &String| {
        let p = PermissionSet::parse(std::slice::from_ref(g)).expect("valid");
        p.matches("tessera:roles:escalate") || p.matches("tessera:users:bind")
    };
    let mut granting: Vec<String> = caller_grants.into_iter().filter(|g| !lifts(g)).collect();
    granting.extend(
        [
            "tessera:roles:write",
            "tessera:users:write",
            "tessera:tokens:issue",
            "tessera:roles:read",
        ]
        .map(String::from),
    );
    granting.sort();
    granting.dedup();
    w.app
        .create_role(&w.admin, "caller".into(), &granting, String::new())
        .await
        .expect("caller role");
    roles.push("caller".into());
    let victim = w
        .app
        .create_user(&w.admin, "victim".into(), &roles[..1.min(roles.len())])
        .await
        .expect("victim");
    let me = w
        .app
        .create_user(&w.admin, "me".into(), &["caller".to_owned()])
        .await
        .expect("me");
    let key = w
        .app
        .issue(
            &w.admin,
            TokenSpec::ApiKey {
                name: "caller".into(),
                scopes: vec!["*".into()],
                read_only: false,
                ttl: None,
                subject: me.id.clone(),
            },
        )
        .await
        .expect("caller key");
    let caller = w.app.authenticate(Some(&key.token)).await.expect("caller");
    let held = caller.permissions().clone();

    let mut users = vec![victim.id.clone(), me.id.clone(), boot.user_id.clone()];
    let mut before: Vec<PermissionSet> = Vec::new();
    for u in &users {
        before.push(w.user_permissions(u).await);
    }
    let mut touched_roles: Vec<String> = Vec::new();
    let mut minted: Vec<String> = Vec::new();
    for (n, a) in actions.into_iter().enumerate() {
        let pick = |i: usize| roles[i % roles.len()].clone();
        // Distinct role names, sorted, as a request lists them.
        let picks = |rs: &[usize]| -> Vec<String> {
            let set: std::collections::BTreeSet<String> = rs.iter().map(|&i| pick(i)).collect();
            set.into_iter().collect()
        };
        match a {
            Action::CreateRole(g) => {
                let name = format!("made{n}");
                if w.app
                    .create_role(&caller, name.clone(), &g, String::new())
                    .await
                    .is_ok()
                {
                    roles.push(name.clone());
                    touched_roles.push(name);
                }
            }
            Action::SetRole(r, g) => {
                let name = pick(r);
                if w.app.set_role_permissions(&caller, &name, &g).await.is_ok() {
                    touched_roles.push(name);
                }
            }
            Action::CreateUser(rs) => {
                let names = picks(&rs);
                if let Ok(u) = w.app.create_user(&caller, format!("made{n}"), &names).await {
                    users.push(u.id);
                    before.push(PermissionSet::empty());
                }
            }
            Action::SetUserRoles(u, rs) => {
                let id = users[u % users.len()].clone();
                let names = picks(&rs);
                let _ = w.app.set_user_roles(&caller, &id, &names).await;
            }
            Action::Issue(u, g) => {
                let subject = users[u % users.len()].clone();
                let spec = TokenSpec::ApiKey {
                    name: "k".into(),
                    scopes: g,
                    read_only: false,
                    ttl: None,
                    subject,
                };
                if let Ok(k) = w.app.issue(&caller, spec).await {
                    minted.push(k.token);
                }
            }
        }
    }

    // Nobody gained what the caller did not hold.
    for (u, was) in users.iter().zip(&before) {
        let now = w.user_permissions(u).await;
        let gained = gained_beyond(was, &now, &held);
        assert!(
            gained.is_empty(),
            "user {u} gained {gained:?} beyond the caller's {held}"
        );
    }
    for r in &touched_roles {
        let role = w.app.get_role(&w.admin, r).await.expect("role").permissions;
        let gained = gained_beyond(&PermissionSet::empty(), &role, &held);
        assert!(
            gained.is_empty(),
            "role {r} grants {gained:?} beyond the caller's {held}"
        );
    }
    for token in &minted {
        let seen = w.app.introspect(&w.admin, token).await.expect("introspect");
        let Some(seen) = seen else { continue };
        let effective = PermissionSet::parse(&seen.scopes).expect("valid");
        let gained = gained_beyond(&PermissionSet::empty(), &effective, &held);
        assert!(
            gained.is_empty(),
            "a minted key holds {gained:?} beyond the caller's {held}"
        );
    }
    let caller_now = w.user_permissions(&me.id).await;
    assert!(gained_beyond(&held, &caller_now, &held).is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_caller_grants_what_it_does_not_hold(
        caller in grants(),
        seeded in prop::collection::vec(grants(), 1..4),
        actions in prop::collection::vec(action(), 1..8),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(run_case(caller, seeded, actions));
    }
}
