//! Cases for API keys: stored by hash, found only while unrevoked, listed per tenant.

use std::collections::BTreeSet;

use chrono::Duration;
use uuid::Uuid;

use super::{base, tenant};
use crate::keys::{generate_secret, hash_secret};
use crate::{ApiKey, Scope, Store, StoreError};

fn key(t: &str, scopes: Vec<Scope>, user: Option<&str>) -> (ApiKey, String) {
    let secret = generate_secret();
    let k = ApiKey {
        id: Uuid::now_v7(),
        tenant: tenant(t),
        scopes,
        user_id: user.map(Into::into),
        prefix: secret.chars().take(12).collect(),
        created_at: base(),
        revoked_at: None,
    };
    (k, hash_secret(&secret))
}

/// Create, find by hash, list per tenant, revoke, `has_keys`, duplicate refusal.
pub fn keys_lifecycle(s: &dyn Store) {
    assert!(!s.has_keys().expect("has_keys"));
    let (k1, h1) = key("a", vec![Scope::Read, Scope::Write], Some("u1"));
    let (k2, h2) = key("b", vec![Scope::Admin], None);
    let (k3, h3) = key("a", vec![Scope::Read], None);
    for (k, h) in [(&k1, &h1), (&k2, &h2), (&k3, &h3)] {
        s.create_key(k, h).expect("create_key");
    }
    assert!(s.has_keys().expect("has_keys"));
    assert_eq!(s.find_key(&h1).expect("find"), Some(k1.clone()));
    assert_eq!(s.find_key(&h2).expect("find"), Some(k2.clone()));
    assert_eq!(s.find_key(&hash_secret("memd_unknown")).expect("find"), None);
    let ids = |v: Vec<ApiKey>| v.into_iter().map(|k| k.id).collect::<BTreeSet<_>>();
    assert_eq!(ids(s.list_keys(Some(&tenant("a"))).expect("list")), [k1.id, k3.id].into());
    assert_eq!(ids(s.list_keys(Some(&tenant("b"))).expect("list")), [k2.id].into());
    assert_eq!(s.list_keys(None).expect("list").len(), 3);
    let dup = s.create_key(&ApiKey { id: Uuid::now_v7(), ..k1.clone() }, &h1);
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "a secret hash is unique: {dup:?}");
    let when = base() + Duration::seconds(1);
    s.revoke_key(k1.id, when).expect("revoke");
    assert_eq!(s.find_key(&h1).expect("find"), None, "a revoked key is not found");
    s.revoke_key(k1.id, when).expect("revoking twice is harmless");
    let listed = s.list_keys(Some(&tenant("a"))).expect("list");
    let revoked = listed.iter().find(|k| k.id == k1.id).expect("revoked keys are listed");
    assert_eq!(revoked.revoked_at, Some(when));
    assert!(matches!(s.revoke_key(Uuid::now_v7(), when), Err(StoreError::NotFound)));
    s.revoke_key(k2.id, when).expect("revoke");
    assert!(s.has_keys().expect("has_keys"), "k3 is still active");
    s.revoke_key(k3.id, when).expect("revoke");
    assert!(!s.has_keys().expect("has_keys"), "only revoked keys remain");
}
