//! Tool input schemas as every client can read them. schemars writes an optional field as
//! `"type": ["string", "null"]` or `"anyOf": [{…}, {"type": "null"}]`, which several clients'
//! schema converters reject (the MCP Inspector flags each as a portability problem). An optional
//! field is already optional by being absent from `required`, so the `null` alternative is
//! dropped, as is a `"default": null`.

use serde_json::{Map, Value};

/// Rewrites `schema` in place, recursively.
pub fn portable(schema: &mut Map<String, Value>) {
    if let Some(Value::Array(types)) = schema.get("type") {
        let non_null: Vec<Value> = types.iter().filter(|t| t.as_str() != Some("null")).cloned().collect();
        if non_null.len() == 1 {
            schema.insert("type".into(), non_null[0].clone());
        } else if non_null.len() < types.len() {
            schema.insert("type".into(), Value::Array(non_null));
        }
    }
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(options)) = schema.get(key) else { continue };
        let non_null: Vec<Value> = options
            .iter()
            .filter(|o| o.get("type").and_then(Value::as_str) != Some("null"))
            .cloned()
            .collect();
        if non_null.len() == options.len() {
            continue;
        }
        schema.remove(key);
        match <[Value; 1]>::try_from(non_null) {
            // The one real alternative takes the option's place (the field's own keys win).
            Ok([Value::Object(only)]) => {
                for (k, v) in only {
                    schema.entry(k).or_insert(v);
                }
            }
            Ok([other]) => {
                schema.insert(key.into(), Value::Array(vec![other]));
            }
            Err(rest) => {
                schema.insert(key.into(), Value::Array(rest));
            }
        }
    }
    if schema.get("default") == Some(&Value::Null) {
        schema.remove("default");
    }
    for value in schema.values_mut() {
        visit(value);
    }
}

fn visit(v: &mut Value) {
    match v {
        Value::Object(map) => portable(map),
        Value::Array(items) => items.iter_mut().for_each(visit),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rewrite(v: Value) -> Value {
        let Value::Object(mut map) = v else { panic!("object") };
        portable(&mut map);
        Value::Object(map)
    }

    #[test]
    fn optional_fields_lose_their_null_alternative() {
        let schema = json!({"type": "object", "properties": {
            "user_id": {"type": ["string", "null"], "description": "Whose", "default": null},
            "mode": {"anyOf": [{"$ref": "#/$defs/Mode"}, {"type": "null"}], "description": "How"},
            "tags": {"type": "array", "items": {"type": ["string", "null"]}},
            "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]}
        }, "required": ["query"]});
        let out = rewrite(schema);
        let p = &out["properties"];
        assert_eq!(p["user_id"], json!({"type": "string", "description": "Whose"}));
        assert_eq!(p["mode"], json!({"$ref": "#/$defs/Mode", "description": "How"}));
        assert_eq!(p["tags"]["items"], json!({"type": "string"}));
        assert_eq!(p["either"]["anyOf"].as_array().map(Vec::len), Some(2), "real unions stay");
        assert_eq!(out["required"], json!(["query"]));
    }
}
