// The observation document's object keys by path ("" is the top level), as
// the Go decoder's observationKeys lists them: the strict reader refuses any
// other key, and observationFromJSON any other field of a parsed value.

export const observationKeys: Record<string, readonly string[]> = {
  "": ["profile", "app", "sdk", "last_observed", "last_action", "last_error", "attempts", "issued_vital_user_id",
    "unused_token_vital_user_id", "next_attempt_at", "last_resolved_at", "resolve_interval", "session_app_user_id", "protected_data_available",
    "now", "allow_api_key"],
  app: ["signed_in", "app_user_id", "vital_user_id", "environment", "region"],
  sdk: ["status", "current_user_id", "environment", "region"],
  last_action: ["type", "vital_user_id", "app_user_id", "sdk_call", "token"],
};
