//! Drives a real `kyso serve` process over HTTP: started on a free port with its own data folder
//! and its own database (a SQLite file, or a fresh database on the PostgreSQL server that
//! `scripts/postgres.sh` starts), judged against `openapi.yaml`.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server's base URL (started once per test run by scripts/postgres.sh).
fn postgres_base() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let out = Command::new(crate::repo_root().join("scripts/postgres.sh")).output().expect("scripts/postgres.sh runs");
        assert!(out.status.success(), "scripts/postgres.sh failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("UTF-8").trim().to_string()
    })
}

/// A database of its own for one test.
pub fn fresh_database(backend: Backend, dir: &Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("kyso.db").display()),
        Backend::Postgres => {
            let base = postgres_base();
            let mut b = [0u8; 6];
            std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b)).expect("random");
            let name = format!("kyso_t_{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>());
            psql(&format!("CREATE DATABASE {name}"));
            format!("{}/{name}", base.rsplit_once('/').expect("a database URL has a path").0)
        }
    }
}

/// Runs SQL on the test PostgreSQL server's `kyso` database, or on `url` when given.
pub fn psql_on(url: &str, sql: &str) -> String {
    let out = Command::new("psql").args([url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql]).output().expect("psql runs");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs SQL on a test database of either kind (PostgreSQL through psql, SQLite through Python's
/// sqlite3): for tests that play a database administrator behind the server's back.
pub fn sql_on(url: &str, sql: &str) -> String {
    if url.starts_with("postgres") {
        return psql_on(url, sql);
    }
    let path = url.trim_start_matches("sqlite://").split('?').next().unwrap_or_default().to_string();
    let out = Command::new("python3")
        .args(["-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); r = c.execute(sys.argv[2]).fetchall(); c.commit(); print('\\n'.join('|'.join(str(v) for v in row) for row in r))", &path, sql])
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "sqlite {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn psql(sql: &str) -> String {
    psql_on(postgres_base(), sql)
}

/// A running server; killed (SIGKILL) when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    pub database_url: String,
}

impl Server {
    pub fn start(data_dir: &Path, database_url: &str, extra: &[&str]) -> Server {
        Self::start_with_env(data_dir, database_url, extra, &[])
    }

    pub fn start_with_env(data_dir: &Path, database_url: &str, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(crate::kyso_bin())
            .envs(env.iter().copied())
            .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(["--database-url", database_url])
            // The demo's sample lesson plans would change the counts most tests assert; the
            // tests of the records pages ask for them.
            .args(if extra.contains(&"--demo-samples") { &[][..] } else { &["--demo-samples", "false"][..] })
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("kyso serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("kyso serve prints its address");
        let base = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}")).to_string();
        Server { child, base, data_dir: data_dir.to_path_buf(), database_url: database_url.to_string() }
    }

    /// SIGTERM, then waits up to `patience` for the process to exit; true when it did.
    pub fn terminate(&mut self, patience: std::time::Duration) -> bool {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = std::time::Instant::now() + patience;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        false
    }

    /// SIGKILL: no shutdown handler runs.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn api(&self) -> Api {
        kyso_keys_remote::install_crypto_provider();
        Api {
            base: format!("{}/api/v1", self.base),
            client: reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(120)).build().expect("client"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A response: status, headers we look at, JSON (or raw bytes for PDFs).
pub struct Reply {
    pub status: u16,
    pub json: Value,
    pub bytes: Vec<u8>,
    pub replayed: bool,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
}

pub enum Body<'a> {
    None,
    Json(Value),
    Pdf(&'a [u8]),
    /// Bytes with their media type.
    Raw(&'a [u8], &'a str),
}

#[derive(Clone)]
pub struct Api {
    pub base: String,
    client: reqwest::blocking::Client,
}

impl Api {
    pub fn call(&self, method: &str, path: &str, token: Option<&str>, body: Body, headers: &[(&str, &str)]) -> Reply {
        self.try_call(method, path, token, body, headers).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// [`Api::call`], with a transport failure (a killed server) as an error.
    pub fn try_call(&self, method: &str, path: &str, token: Option<&str>, body: Body, headers: &[(&str, &str)]) -> Result<Reply, String> {
        let url = format!("{}{path}", self.base);
        let mut req = match method {
            "GET" => self.client.get(&url),
            "POST" => self.client.post(&url),
            "PUT" => self.client.put(&url),
            "PATCH" => self.client.patch(&url),
            "DELETE" => self.client.delete(&url),
            other => panic!("method {other}"),
        };
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req = match body {
            Body::None => req,
            Body::Json(v) => req.json(&v),
            Body::Pdf(b) => req.header("content-type", "application/pdf").body(b.to_vec()),
            Body::Raw(b, media) => req.header("content-type", media).body(b.to_vec()),
        };
        let resp = req.send().map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let replayed = resp.headers().get("idempotent-replayed").is_some();
        let bytes = resp.bytes().map_err(|e| e.to_string())?.to_vec();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply { status, json, bytes, replayed })
    }

    pub fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, Some(token), Body::None, &[])
    }

    pub fn post(&self, path: &str, token: &str, body: Body) -> Reply {
        self.call("POST", path, Some(token), body, &[])
    }

    pub fn login(&self, username: &str) -> String {
        let r = self.call("POST", "/auth/login", None, Body::Json(serde_json::json!({"username": username, "password": "kyso-demo"})), &[]);
        assert_eq!(r.status, 200, "login {username}: {}", r.json);
        r.json["token"].as_str().expect("token").to_string()
    }
}

/// `openapi.yaml` as JSON (PyYAML, installed with certomancer, reads it).
pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = crate::repo_root().join("openapi.yaml");
        let out = Command::new("python3")
            .args(["-c", "import sys, json, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)"])
            .arg(&path)
            .output()
            .expect("python3 runs");
        assert!(out.status.success(), "openapi.yaml does not parse: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("JSON")
    })
}

fn resolve(v: &Value) -> &Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let mut cur = spec();
            for part in r.trim_start_matches("#/").split('/') {
                cur = &cur[part];
            }
            resolve(cur)
        }
        None => v,
    }
}

/// Checks `body` against the documented schema of (method, path template, status): the status
/// must be documented, required properties present, types and enums right. Returns problems.
pub fn shape_problems(method: &str, template: &str, status: u16, body: &Value) -> Vec<String> {
    let op = &spec()["paths"][template][method.to_lowercase()];
    if op.is_null() {
        return vec![format!("{method} {template} is not in openapi.yaml")];
    }
    let resp = resolve(&op["responses"][status.to_string()]);
    if resp.is_null() {
        return vec![format!("{method} {template}: status {status} is not documented")];
    }
    let schema = &resp["content"]["application/json"]["schema"];
    let mut problems = Vec::new();
    if !schema.is_null() {
        check(schema, body, &format!("{method} {template} {status}"), &mut problems, 0);
    }
    problems
}

fn check(schema: &Value, v: &Value, at: &str, problems: &mut Vec<String>, depth: usize) {
    let schema = resolve(schema);
    if depth > 12 {
        return;
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let type_ok = types.is_empty()
        || types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => true,
        });
    if !type_ok {
        problems.push(format!("{at}: {v} is not {types:?}"));
        return;
    }
    if let Some(e) = schema["enum"].as_array()
        && !v.is_null()
        && !e.contains(v)
    {
        problems.push(format!("{at}: {v} is not one of {e:?}"));
    }
    if let Some(obj) = v.as_object() {
        for r in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !obj.contains_key(r) {
                problems.push(format!("{at}: required property {r} is missing"));
            }
        }
        if let Some(props) = schema["properties"].as_object() {
            for (k, s) in props {
                if let Some(x) = obj.get(k) {
                    check(s, x, &format!("{at}.{k}"), problems, depth + 1);
                }
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            check(items, x, &format!("{at}[{i}]"), problems, depth + 1);
        }
    }
}

/// The routes `crates/server/src/api/*.rs` serve, read from their `.route(...)` lines.
pub fn served_routes() -> std::collections::BTreeSet<(String, String)> {
    let dir = crate::repo_root().join("crates/server/src/api");
    let mut src = String::new();
    for entry in std::fs::read_dir(&dir).expect("crates/server/src/api") {
        src.push_str(&std::fs::read_to_string(entry.expect("entry").path()).expect("an API source file"));
    }
    let mut out = std::collections::BTreeSet::new();
    for route in src.split(".route(\"").skip(1) {
        let path = route.split('"').next().expect("a quoted path").to_string();
        // The method list runs to the end of this route's call.
        let methods = route.split(".route(").next().unwrap_or(route);
        let methods = methods.split(".merge(").next().unwrap_or(methods);
        for (method, marker) in [("get", "get("), ("post", "post("), ("put", "put("), ("delete", "delete("), ("patch", "patch(")] {
            if methods.lines().next().unwrap_or("").contains(marker) {
                out.insert((method.to_string(), path.clone()));
            }
        }
    }
    out
}

/// The (method, path) pairs of openapi.yaml.
pub fn spec_routes() -> std::collections::BTreeSet<(String, String)> {
    let mut out = std::collections::BTreeSet::new();
    for (path, item) in spec()["paths"].as_object().expect("paths") {
        for method in
            item.as_object().expect("path item").keys().filter(|m| ["get", "post", "put", "delete", "patch"].contains(&m.as_str()))
        {
            out.insert((method.clone(), path.clone()));
        }
    }
    out
}

/// A one-page lesson plan (the corpus's minimal PDF).
pub fn lesson_plan() -> Vec<u8> {
    std::fs::read(crate::corpus().join("inputs/pyhanko-minimal.pdf")).expect("corpus input")
}

/// Asserts the status and that the body has the documented shape.
#[track_caller]
pub fn expect(r: &Reply, method: &str, template: &str, status: u16) {
    assert_eq!(r.status, status, "{method} {template}: {}", r.json);
    if r.json.is_object() {
        let problems = shape_problems(method, template, status, &r.json);
        assert!(problems.is_empty(), "{method} {template} does not match openapi.yaml: {problems:#?}");
    }
}

/// Submits `pdf` into the lesson-plan chain, with an idempotency key when given.
pub fn submit(api: &Api, token: &str, title: &str, pdf: &[u8], key: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = key.map(|k| vec![("idempotency-key", k)]).unwrap_or_default();
    api.call("POST", &format!("/documents?title={title}&template=lesson-plan"), Some(token), Body::Pdf(pdf), &headers)
}

pub fn approve(api: &Api, token: &str, id: &str) -> Reply {
    api.post(&format!("/documents/{id}/approve"), token, Body::None)
}
