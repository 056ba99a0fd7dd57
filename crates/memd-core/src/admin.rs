//! Administrative operations of the service (the caller has shown the admin token): API keys.

use memd_store::{ApiKey, Scope, TenantId};
use uuid::Uuid;

use crate::service::{MemoryService, Result};
use crate::ServiceError;

impl MemoryService {
    /// Creates a key for `tenant`; returns it with its secret (shown once).
    pub async fn create_key(
        &self,
        tenant: &str,
        scopes: &[String],
        user_id: Option<String>,
    ) -> Result<(ApiKey, String)> {
        let tenant =
            TenantId::new(tenant).map_err(|e| ServiceError::invalid("invalid_tenant", e.to_string()))?;
        let scopes = scopes
            .iter()
            .map(|s| Scope::parse(s).map_err(|e| ServiceError::invalid("invalid_scopes", e.to_string())))
            .collect::<Result<Vec<_>>>()?;
        crate::validate::id_field(&self.config().limits, "user_id", user_id.as_deref())?;
        self.blocking(move |i| i.auth.create_key(tenant, scopes, user_id)).await
    }

    pub async fn list_keys(&self, tenant: Option<String>) -> Result<Vec<ApiKey>> {
        let tenant = tenant
            .map(|t| TenantId::new(t).map_err(|e| ServiceError::invalid("invalid_tenant", e.to_string())))
            .transpose()?;
        self.blocking(move |i| Ok(i.store.list_keys(tenant.as_ref())?)).await
    }

    pub async fn revoke_key(&self, id: Uuid) -> Result<()> {
        self.blocking(move |i| i.auth.revoke_key(id)).await
    }
}
