//! Who is calling: API keys bound to a tenant (and optionally a user) with scopes, the admin
//! token, and single-user local mode. Transports turn a credential into a [`Caller`]; every
//! service function takes one and checks scope and user binding itself, so REST and MCP enforce
//! the same rules.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use memd_store::{keys, ApiKey, Memory, Scope, Store, TenantId};
use moka::sync::Cache;
use uuid::Uuid;

use crate::ServiceError;

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq)]
pub struct Caller {
    pub tenant: TenantId,
    /// When set, the caller may only see and write this user's memories.
    pub bound_user: Option<String>,
    pub scopes: Vec<Scope>,
    pub key_id: Option<Uuid>,
    /// Single-user local mode (no keys configured, loopback only).
    pub local: bool,
}

/// The user id local mode and unbound MCP callers default to.
pub const DEFAULT_USER: &str = "default";

impl Caller {
    /// The caller of single-user local mode: tenant `default`, every scope.
    pub fn local() -> Self {
        Caller {
            tenant: TenantId::default_tenant(),
            bound_user: None,
            scopes: vec![Scope::Read, Scope::Write, Scope::Admin],
            key_id: None,
            local: true,
        }
    }

    /// A caller of `tenant` with `scopes` (used by keys and by tests).
    pub fn for_key(key: &ApiKey) -> Self {
        Caller {
            tenant: key.tenant.clone(),
            bound_user: key.user_id.clone(),
            scopes: key.scopes.clone(),
            key_id: Some(key.id),
            local: false,
        }
    }

    /// Fails with 403 unless the caller has `scope` (admin implies read and write).
    pub fn require(&self, scope: Scope) -> Result<(), ServiceError> {
        if self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!("this key lacks the {} scope", scope.as_str())))
        }
    }

    /// The user a write goes to: the requested one, the bound one, or `default` in local mode.
    pub fn user_for_write(&self, requested: Option<&str>) -> Result<String, ServiceError> {
        match (requested, &self.bound_user) {
            (Some(r), Some(b)) if r != b => Err(self.wrong_user()),
            (Some(r), _) => Ok(r.to_owned()),
            (None, Some(b)) => Ok(b.clone()),
            (None, None) if self.local => Ok(DEFAULT_USER.to_owned()),
            (None, None) => Err(ServiceError::invalid("user_id_required", "user_id is required")),
        }
    }

    /// The user a read is restricted to: the bound one (a different request is refused), else
    /// whatever was requested (possibly none: all users of the tenant).
    pub fn user_for_read(&self, requested: Option<&str>) -> Result<Option<String>, ServiceError> {
        match (requested, &self.bound_user) {
            (Some(r), Some(b)) if r != b => Err(self.wrong_user()),
            (_, Some(b)) => Ok(Some(b.clone())),
            (r, None) => Ok(r.map(str::to_owned)),
        }
    }

    /// Whether a memory of this caller's tenant is visible to it (user binding).
    pub fn can_see(&self, m: &Memory) -> bool {
        self.bound_user.as_ref().is_none_or(|u| *u == m.user_id)
    }

    fn wrong_user(&self) -> ServiceError {
        ServiceError::Forbidden("this key is bound to another user_id".into())
    }
}

/// Resolves credentials. Local mode holds only while no key exists; the check is refreshed at
/// most every second so keys created by another process end local mode promptly.
pub struct Authenticator {
    store: Arc<dyn Store>,
    local_allowed: bool,
    /// Replaced by a configuration reload (token rotation without a restart).
    admin_token: parking_lot::RwLock<Option<String>>,
    any_keys: AtomicBool,
    checked_at_ms: AtomicI64,
    cache: Cache<String, Option<ApiKey>>,
}

impl Authenticator {
    /// `local_allowed` is true when the server listens on loopback only.
    pub fn new(store: Arc<dyn Store>, local_allowed: bool, admin_token: Option<String>) -> Self {
        Authenticator {
            store,
            local_allowed,
            admin_token: parking_lot::RwLock::new(admin_token),
            any_keys: AtomicBool::new(true),
            checked_at_ms: AtomicI64::new(i64::MIN / 2),
            cache: Cache::builder().max_capacity(10_000).time_to_live(Duration::from_secs(5)).build(),
        }
    }

    /// True when requests without a key are served as the local user.
    pub fn local_mode(&self) -> Result<bool, ServiceError> {
        if let Some(local) = self.known_local_mode() {
            return Ok(local);
        }
        self.any_keys.store(self.store.has_keys()?, Ordering::Relaxed);
        self.checked_at_ms.store(Utc::now().timestamp_millis(), Ordering::Relaxed);
        Ok(!self.any_keys.load(Ordering::Relaxed))
    }

    /// Whether local mode is on, when that is known without reading the store (checked less
    /// than a second ago, or not allowed at all).
    fn known_local_mode(&self) -> Option<bool> {
        if !self.local_allowed {
            return Some(false);
        }
        let fresh = Utc::now().timestamp_millis() - self.checked_at_ms.load(Ordering::Relaxed) <= 1000;
        fresh.then(|| !self.any_keys.load(Ordering::Relaxed))
    }

    /// Blocking: may read the store. `credential` is the value of `Authorization`
    /// (`Bearer <key>` or `Token <key>`) or a bare key.
    pub fn authenticate(&self, credential: Option<&str>) -> Result<Caller, ServiceError> {
        if self.local_mode()? {
            return Ok(Caller::local());
        }
        let hash = secret_hash(credential)?;
        let found = match self.cache.get(&hash) {
            Some(k) => k,
            None => {
                let k = self.store.find_key(&hash)?;
                self.cache.insert(hash, k.clone());
                k
            }
        };
        found.map(|k| Caller::for_key(&k)).ok_or(ServiceError::Unauthorized)
    }

    /// [`Self::authenticate`] answered from memory, without blocking: `None` when the store must
    /// be read (local-mode state stale, or the key not cached). Saves a hop to the blocking pool
    /// on almost every request.
    pub fn authenticate_cached(&self, credential: Option<&str>) -> Option<Result<Caller, ServiceError>> {
        if self.known_local_mode()? {
            return Some(Ok(Caller::local()));
        }
        let hash = match secret_hash(credential) {
            Ok(h) => h,
            Err(e) => return Some(Err(e)),
        };
        let found = self.cache.get(&hash)?;
        Some(found.map(|k| Caller::for_key(&k)).ok_or(ServiceError::Unauthorized))
    }

    /// Checks the admin token in constant time; admin routes are off when none is configured.
    pub fn check_admin(&self, credential: Option<&str>) -> Result<(), ServiceError> {
        let token = self.admin_token.read();
        let Some(want) = token.as_deref() else {
            return Err(ServiceError::Forbidden("admin API disabled: no admin_token configured".into()));
        };
        let got = credential.map(strip_scheme).ok_or(ServiceError::Unauthorized)?;
        if constant_time_eq(got.as_bytes(), want.as_bytes()) {
            Ok(())
        } else {
            Err(ServiceError::Unauthorized)
        }
    }

    /// Replaces the admin token (`None` turns the admin API off).
    pub fn set_admin_token(&self, token: Option<String>) {
        *self.admin_token.write() = token;
    }

    /// Creates a key; returns it with its secret (shown once).
    pub fn create_key(
        &self,
        tenant: TenantId,
        scopes: Vec<Scope>,
        user_id: Option<String>,
    ) -> Result<(ApiKey, String), ServiceError> {
        if scopes.is_empty() {
            return Err(ServiceError::invalid("invalid_scopes", "at least one scope is required"));
        }
        let secret = keys::generate_secret();
        let key = ApiKey {
            id: Uuid::now_v7(),
            tenant,
            scopes,
            user_id,
            prefix: secret.chars().take(12).collect(),
            created_at: Utc::now(),
            revoked_at: None,
        };
        self.store.create_key(&key, &keys::hash_secret(&secret))?;
        self.invalidate();
        Ok((key, secret))
    }

    pub fn revoke_key(&self, id: Uuid) -> Result<(), ServiceError> {
        self.store.revoke_key(id, Utc::now())?;
        self.invalidate();
        Ok(())
    }

    fn invalidate(&self) {
        self.cache.invalidate_all();
        self.checked_at_ms.store(i64::MIN / 2, Ordering::Relaxed);
    }
}

/// The stored hash of the key in `credential`; a missing or empty one is unauthorised.
fn secret_hash(credential: Option<&str>) -> Result<String, ServiceError> {
    let secret = credential.map(strip_scheme).filter(|s| !s.is_empty());
    Ok(keys::hash_secret(secret.ok_or(ServiceError::Unauthorized)?))
}

fn strip_scheme(v: &str) -> &str {
    let v = v.trim();
    for scheme in ["Bearer ", "bearer ", "Token ", "token "] {
        if let Some(rest) = v.strip_prefix(scheme) {
            return rest.trim();
        }
    }
    v
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(user: Option<&str>, scopes: Vec<Scope>) -> Caller {
        Caller {
            tenant: TenantId::new("t1").expect("valid"),
            bound_user: user.map(str::to_owned),
            scopes,
            key_id: None,
            local: false,
        }
    }

    /// The in-memory answer must agree with the blocking one, and defer to it whenever the store
    /// has to be read.
    #[test]
    fn cached_authentication_agrees_with_the_store() {
        let store: Arc<dyn Store> =
            Arc::new(memd_store::sqlite::SqliteStore::open_in_memory().expect("store"));
        let auth = Authenticator::new(store, true, None);
        assert!(auth.authenticate_cached(None).is_none(), "local-mode state unknown before a store read");
        assert!(auth.authenticate(None).expect("local").local);
        assert!(auth.authenticate_cached(None).and_then(Result::ok).is_some_and(|c| c.local));
        let tenant = TenantId::new("t1").expect("tenant");
        let (_, secret) = auth.create_key(tenant, vec![Scope::Read], None).expect("key");
        auth.checked_at_ms.store(i64::MIN / 2, Ordering::Relaxed); // as if a second had passed
        let bearer = format!("Bearer {secret}");
        assert!(auth.authenticate_cached(Some(&bearer)).is_none(), "keys exist now: read the store");
        let caller = auth.authenticate(Some(&bearer)).expect("valid key");
        let cached = auth.authenticate_cached(Some(&bearer)).expect("known now").expect("valid key");
        assert_eq!((cached.tenant, cached.scopes), (caller.tenant, caller.scopes));
        assert!(matches!(auth.authenticate_cached(None), Some(Err(ServiceError::Unauthorized))));
        assert!(auth.authenticate_cached(Some("Bearer not-a-key")).is_none(), "unknown keys are looked up");
    }

    #[test]
    fn scopes_are_enforced_and_admin_implies_all() {
        let r = keyed(None, vec![Scope::Read]);
        assert!(r.require(Scope::Read).is_ok());
        assert!(matches!(r.require(Scope::Write), Err(ServiceError::Forbidden(_))));
        let a = keyed(None, vec![Scope::Admin]);
        assert!(a.require(Scope::Write).is_ok());
    }

    #[test]
    fn bound_users_cannot_reach_other_users() {
        let c = keyed(Some("alice"), vec![Scope::Read, Scope::Write]);
        assert_eq!(c.user_for_write(None).expect("bound"), "alice");
        assert!(c.user_for_write(Some("bob")).is_err());
        assert_eq!(c.user_for_read(None).expect("bound"), Some("alice".into()));
        assert!(c.user_for_read(Some("bob")).is_err());
        let unbound = keyed(None, vec![Scope::Write]);
        assert!(unbound.user_for_write(None).is_err());
        assert_eq!(Caller::local().user_for_write(None).expect("local"), DEFAULT_USER);
    }

    #[test]
    fn schemes_are_stripped() {
        assert_eq!(strip_scheme("Bearer abc"), "abc");
        assert_eq!(strip_scheme("Token  abc "), "abc");
        assert_eq!(strip_scheme("abc"), "abc");
        assert!(constant_time_eq(b"same", b"same"));
        assert!(!constant_time_eq(b"same", b"diff"));
        assert!(!constant_time_eq(b"short", b"longer"));
    }
}
