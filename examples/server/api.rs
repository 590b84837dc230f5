//! One table for the routes and the OpenAPI document: each operation is added
//! with its route and its description together, so the document cannot list a
//! route the server lacks, or miss one it has. The schemas come from the same
//! source as the library's JSON Schemas (`o2c::schema`, through `schemars`).

use std::collections::BTreeMap;

use axum::Router;
use axum::routing::MethodRouter;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use std::sync::Arc;

use crate::problem::ProblemBody;
use crate::replay::Replays;

/// One operation: its route, and what the document says of it.
pub struct Op {
    method: &'static str,
    path: &'static str,
    id: &'static str,
    tag: &'static str,
    summary: &'static str,
    /// A write: it takes an `Idempotency-Key` and its first answer is kept.
    write: bool,
    params: Vec<Value>,
    body: Option<Value>,
    responses: Vec<Answer>,
}

/// One documented answer: its status, what it means, and its content type and
/// schema when it has a body.
struct Answer {
    status: u16,
    what: &'static str,
    content: Option<(&'static str, Value)>,
}

impl Op {
    fn new(method: &'static str, path: &'static str, id: &'static str) -> Self {
        Self {
            method,
            path,
            id,
            tag: "",
            summary: "",
            write: method != "get",
            params: Vec::new(),
            body: None,
            responses: Vec::new(),
        }
    }

    pub fn get(path: &'static str, id: &'static str) -> Self {
        Self::new("get", path, id)
    }

    pub fn post(path: &'static str, id: &'static str) -> Self {
        Self::new("post", path, id)
    }

    pub fn put(path: &'static str, id: &'static str) -> Self {
        Self::new("put", path, id)
    }

    /// Its group in the docs, and one line on what it does.
    pub fn about(mut self, tag: &'static str, summary: &'static str) -> Self {
        self.tag = tag;
        self.summary = summary;
        self
    }

    /// A POST that changes nothing (a lookup whose input is too private for a
    /// URL): no key.
    pub fn read_only(mut self) -> Self {
        self.write = false;
        self
    }

    /// A path parameter.
    pub fn path(mut self, name: &str, schema: Value) -> Self {
        self.params
            .push(json!({"name": name, "in": "path", "required": true, "schema": schema}));
        self
    }

    /// Query parameters: the properties of a query type's schema.
    pub fn query(mut self, params: Vec<Value>) -> Self {
        self.params.extend(params);
        self
    }

    /// The JSON body.
    pub fn body(mut self, schema: Value) -> Self {
        self.body = Some(schema);
        self
    }

    /// A JSON answer with `status`.
    pub fn answers(mut self, status: u16, what: &'static str, schema: Value) -> Self {
        self.responses.push(Answer {
            status,
            what,
            content: Some(("application/json", schema)),
        });
        self
    }

    /// An answer of another content type.
    pub fn answers_as(
        mut self,
        status: u16,
        what: &'static str,
        content_type: &'static str,
        schema: Value,
    ) -> Self {
        self.responses.push(Answer {
            status,
            what,
            content: Some((content_type, schema)),
        });
        self
    }

    fn document(&self, problem: &Value) -> Value {
        let mut params = self.params.clone();
        if self.write {
            params.push(json!({
                "name": "Idempotency-Key",
                "in": "header",
                "required": true,
                "description": "The same key for a retry of this request (its first answer comes back, marked `Idempotent-Replayed: true`; a retry while the first is still served gets 409 `idempotency.in_progress`), a new key for a new request.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[!-~]([ !-~]*[!-~])?$"}
            }));
        }
        let mut responses = Map::new();
        for answer in &self.responses {
            let mut response = Map::new();
            response.insert("description".into(), json!(answer.what));
            if let Some((content_type, schema)) = &answer.content {
                response.insert("content".into(), json!({*content_type: {"schema": schema}}));
            }
            if self.write {
                response.insert("headers".into(), json!({"Idempotent-Replayed": {
                    "description": "`true` when this is the first answer to an earlier request with the same key.",
                    "schema": {"type": "string", "enum": ["true"]}
                }}));
            }
            responses.insert(answer.status.to_string(), Value::Object(response));
        }
        responses.insert(
            "default".to_owned(),
            json!({
                "description": "A problem: the library's error code, its kind and a message fit to show.",
                "content": {"application/problem+json": {"schema": problem}}
            }),
        );
        let mut op = Map::new();
        op.insert("operationId".into(), json!(self.id));
        op.insert("summary".into(), json!(self.summary));
        op.insert("tags".into(), json!([self.tag]));
        op.insert("parameters".into(), Value::Array(params));
        op.insert("responses".into(), Value::Object(responses));
        if let Some(body) = &self.body {
            op.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": body}}}),
            );
        }
        Value::Object(op)
    }
}

/// Where schemas come from: one generator whose `$ref`s point into the
/// document's components, with the library's commands and views by name.
pub struct Schemas {
    generator: SchemaGenerator,
    named: BTreeMap<&'static str, Schema>,
    /// Request bodies derived from a command: the command less the fields the
    /// header or the path give.
    derived: Map<String, Value>,
    /// Names asked for that have no schema (or a derived name that is taken):
    /// a mistake in the route table, refused when the document is finished.
    missing: Vec<String>,
}

impl Schemas {
    fn new() -> Self {
        let mut generator = o2c::schema::openapi_generator();
        let mut named = o2c::schema::command_refs(&mut generator);
        named.extend(o2c::schema::view_refs(&mut generator));
        Self {
            generator,
            named,
            derived: Map::new(),
            missing: Vec::new(),
        }
    }

    /// The schema of a library command or view, by its name in `o2c::schema`.
    pub fn named(&mut self, name: &str) -> Value {
        match self.named.get(name) {
            Some(schema) => schema.as_value().clone(),
            None => {
                self.missing.push(name.to_owned());
                json!({})
            }
        }
    }

    /// The definition of `T` among the generator's, noted as missing if absent.
    fn definition_of<T: JsonSchema>(&mut self) -> Option<Value> {
        let name = T::schema_name().to_string();
        let found = self.generator.definitions().get(&name).cloned();
        if found.is_none() {
            self.missing.push(name);
        }
        found
    }

    /// The schema of any type.
    pub fn of<T: JsonSchema>(&mut self) -> Value {
        self.generator.subschema_for::<T>().to_value()
    }

    /// A command's body as a request carries it: without `given` (the key, which
    /// the header carries, and ids the path carries).
    pub fn body_of<T: JsonSchema>(&mut self, given: &[&str]) -> Value {
        if given.is_empty() {
            return self.of::<T>();
        }
        self.request_of::<T>(|definition| {
            if let Some(props) = definition
                .get_mut("properties")
                .and_then(Value::as_object_mut)
            {
                for field in given {
                    props.remove(*field);
                }
            }
            if let Some(required) = definition.get_mut("required").and_then(Value::as_array_mut) {
                required.retain(|r| !given.iter().any(|g| r.as_str() == Some(g)));
            }
        })
    }

    /// A command's body whose field `field` is itself a command given less its
    /// key: `field` refers to `inner` (from [`Schemas::body_of`]).
    pub fn nested_body_of<T: JsonSchema>(&mut self, field: &str, inner: Value) -> Value {
        self.request_of::<T>(|definition| {
            if let Some(props) = definition
                .get_mut("properties")
                .and_then(Value::as_object_mut)
            {
                props.insert(field.to_owned(), inner);
            }
        })
    }

    /// `T`'s definition as `change` leaves it, kept as the component
    /// `{T}Request`: a reference to it.
    fn request_of<T: JsonSchema>(&mut self, change: impl FnOnce(&mut Value)) -> Value {
        let reference = self.of::<T>();
        let Some(mut definition) = self.definition_of::<T>() else {
            return reference;
        };
        change(&mut definition);
        let derived = format!("{}Request", T::schema_name());
        if self.generator.definitions().contains_key(&derived) {
            // A library type of that name would be hidden by this one.
            self.missing.push(format!("{derived} (the name is taken)"));
        }
        self.derived.insert(derived.clone(), definition);
        json!({"$ref": format!("{}{derived}", o2c::schema::OPENAPI_COMPONENTS)})
    }

    /// Query parameters from a query type: one per property.
    pub fn query<T: JsonSchema>(&mut self) -> Vec<Value> {
        let reference = self.of::<T>();
        let definition = reference
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.rsplit('/').next())
            .and_then(|name| self.generator.definitions().get(name).cloned())
            .unwrap_or(reference);
        let required: Vec<&str> = definition
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        definition
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .map(|(name, schema)| {
                        // An absent parameter is how a query says "none": a
                        // `null` it cannot send is dropped from the schema.
                        let mut schema = without_null(schema.clone());
                        let description = schema
                            .as_object_mut()
                            .and_then(|s| s.remove("description"))
                            .unwrap_or(Value::Null);
                        let mut param = Map::new();
                        param.insert("name".into(), json!(name));
                        param.insert("in".into(), json!("query"));
                        param.insert("required".into(), json!(required.contains(&name.as_str())));
                        param.insert("schema".into(), schema);
                        if let Value::String(text) = description {
                            param.insert("description".into(), Value::String(text));
                        }
                        Value::Object(param)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `schema` without the `null` an `Option` adds: `["integer", "null"]` becomes
/// `"integer"`, and `anyOf: [X, {"type": "null"}]` becomes X.
fn without_null(mut schema: Value) -> Value {
    if let Some(types) = schema.get("type").and_then(Value::as_array) {
        let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if let (Some(object), [only]) = (schema.as_object_mut(), kept.as_slice()) {
            object.insert("type".into(), only.clone());
        }
    }
    let single = schema
        .get("anyOf")
        .and_then(Value::as_array)
        .and_then(|options| {
            let kept: Vec<&Value> = options
                .iter()
                .filter(|o| o.get("type").is_none_or(|t| t != "null"))
                .collect();
            match kept.as_slice() {
                [only] if kept.len() < options.len() => Some((*only).clone()),
                _ => None,
            }
        });
    if let (Some(only), Some(object)) = (single, schema.as_object_mut()) {
        object.remove("anyOf");
        if let Value::Object(inner) = only {
            for (k, v) in inner {
                object.entry(k).or_insert(v);
            }
        }
    }
    schema
}

/// The routes and their document, built together.
pub struct Api<St> {
    router: Router<St>,
    paths: BTreeMap<&'static str, Map<String, Value>>,
    schemas: Schemas,
    replays: Arc<Replays>,
}

impl<St: Clone + Send + Sync + 'static> Api<St> {
    pub fn new(replays: Arc<Replays>) -> Self {
        Self {
            router: Router::new(),
            paths: BTreeMap::new(),
            schemas: Schemas::new(),
            replays,
        }
    }

    /// Adds an operation: its description (given the schemas) and its route.
    pub fn add(
        &mut self,
        describe: impl FnOnce(&mut Schemas) -> Op,
        route: MethodRouter<St>,
    ) -> &mut Self {
        let op = describe(&mut self.schemas);
        let route = if op.write {
            route.layer(axum::middleware::from_fn_with_state(
                self.replays.clone(),
                crate::replay::remember,
            ))
        } else {
            route
        };
        let problem = self.schemas.of::<ProblemBody>();
        self.paths
            .entry(op.path)
            .or_default()
            .insert(op.method.to_owned(), op.document(&problem));
        self.router = std::mem::take(&mut self.router).route(op.path, route);
        self
    }

    /// Adds a route the document does not describe (pages, static files).
    pub fn page(&mut self, path: &'static str, route: MethodRouter<St>) -> &mut Self {
        self.router = std::mem::take(&mut self.router).route(path, route);
        self
    }

    /// The router, and the OpenAPI 3.1 document of what it serves; refused
    /// when the table named a schema that does not exist.
    pub fn finish(self, info: Value) -> Result<(Router<St>, Value), String> {
        let Self {
            router,
            paths,
            mut schemas,
            ..
        } = self;
        if !schemas.missing.is_empty() {
            return Err(format!(
                "the route table names schemas that do not exist: {}",
                schemas.missing.join(", ")
            ));
        }
        let mut components = schemas.generator.take_definitions(true);
        components.extend(schemas.derived);
        let tags: std::collections::BTreeSet<&str> = paths
            .values()
            .flat_map(|ops| ops.values())
            .filter_map(|op| op.get("tags")?.get(0)?.as_str())
            .collect();
        let document = json!({
            "openapi": "3.1.0",
            "info": info,
            "tags": tags.iter().map(|t| json!({"name": t})).collect::<Vec<_>>(),
            "paths": paths,
            "components": {"schemas": components},
        });
        Ok((router, document))
    }
}
