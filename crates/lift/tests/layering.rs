//! The crate's imports run one way: every file of `crates/lift/src` imports only from its own
//! layer or the layers below it, and no files import each other in a loop.
//!
//! The layers are written in `docs/architecture.md`; [`LAYERS`] is the same list, bottom first.
//! The check reads the source text: every `use crate::…`, `use super::…` and `use self::…`
//! statement (brace groups expanded) and every `crate::…` path written inline. A path that ends
//! at a folder's `mod.rs` follows the folder's `pub use` to the file that defines the item, so a
//! facade's re-exports are not mistaken for dependencies. Unit tests (`#[cfg(test)] mod …`
//! blocks, and `tests.rs` files) are left out: they exercise their module from above, as the
//! integration tests do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The rooms of the crate, bottom layer first. A room may import from its own layer and the
/// layers below; rooms of one layer must not import each other in a loop.
const LAYERS: &[&[&str]] = &[
    &["wire"],
    &["observability"],
    &["http"],
    &["context"],
    &["extract"],
    &["events"],
    &["handler", "middleware", "security"],
    &["routing"],
    &["app"],
    &["corridor"],
    &["testing"],
];

/// A module path: `["security", "jwt"]` for `src/security/jwt.rs`, `[]` for `src/lib.rs`.
type Module = Vec<String>;

struct File {
    text: String,
}

fn module_of(rel: &Path) -> Module {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

fn read_tree(root: &Path, dir: &Path, out: &mut BTreeMap<Module, File>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("the source folder is readable")
        .map(|e| e.expect("a readable entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_tree(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            let rel = path.strip_prefix(root).expect("under the root");
            let text = std::fs::read_to_string(&path).expect("a readable file");
            let module = module_of(rel);
            // `foo/tests.rs` declared as `#[cfg(test)] mod tests;` is part of its parent.
            out.insert(module, File { text });
        }
    }
}

/// The code of a file without comments and string literals, so neither a doc example nor a
/// message counts as an import.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'r'
            && (b.get(i + 1) == Some(&b'#') || b.get(i + 1) == Some(&b'"'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // A raw string: r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push(b[i] as char);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == b'"'
                    && b[j + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|c| **c == b'#')
                        .count()
                        == hashes
                {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' {
            // A char literal ('x', '\n', '\'') or a lifetime ('a): skip only a literal.
            let rest = &text[i..];
            let len = if let Some(tail) = rest.strip_prefix("'\\") {
                tail.find('\'').map(|p| p + 3)
            } else {
                let mut chars = rest[1..].char_indices();
                match (chars.next(), chars.next()) {
                    (Some((_, _)), Some((p, '\''))) => Some(p + 2),
                    _ => None,
                }
            };
            match len {
                Some(n) => {
                    out.push_str("' '");
                    i += n;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let ch = text[i..].chars().next().expect("a char");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The code without its `#[cfg(test)]` modules.
fn without_unit_tests(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let mut trimmed = after.trim_start();
        // Other attributes may stand between `#[cfg(test)]` and the module.
        while trimmed.starts_with("#[") {
            match trimmed.find(']') {
                Some(end) => trimmed = trimmed[end + 1..].trim_start(),
                None => break,
            }
        }
        if !trimmed.starts_with("mod ") {
            out.push_str("#[cfg(test)]");
            rest = after;
            continue;
        }
        // Skip to the end of the module: its `;`, or its brace block.
        let semi = trimmed.find(';');
        let open = trimmed.find('{');
        match (semi, open) {
            (Some(s), Some(o)) if s < o => rest = &trimmed[s + 1..],
            (Some(s), None) => rest = &trimmed[s + 1..],
            (_, Some(o)) => {
                let mut depth = 0;
                let mut end = trimmed.len();
                for (i, c) in trimmed[o..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = o + i + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                rest = &trimmed[end..];
            }
            (None, None) => rest = "",
        }
    }
    out.push_str(rest);
    out
}

/// Expands a use tree (`a::{b, c::{d, e}}`) into its paths.
fn expand(tree: &str) -> Vec<Vec<String>> {
    fn split_top(s: &str) -> Vec<&str> {
        let mut parts = Vec::new();
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in s.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&s[start..]);
        parts
            .into_iter()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect()
    }
    let tree: String = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let prefix: Vec<String> = tree[..open]
            .split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        split_top(inner)
            .into_iter()
            .flat_map(expand)
            .map(|tail| prefix.iter().cloned().chain(tail).collect())
            .collect()
    } else {
        let path = tree.split(" as ").next().unwrap_or(tree);
        vec![path
            .split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "*")
            .map(String::from)
            .collect()]
    }
}

/// The `use` statements of a piece of code: (is `pub`, expanded paths as written).
fn use_statements(code: &str) -> Vec<(bool, Vec<Vec<String>>)> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(pos) = find_word(rest, "use") {
        let before = rest[..pos].trim_end();
        let public = before.ends_with("pub") || before.ends_with(')') && before.contains("pub(");
        let after = &rest[pos + 3..];
        let Some(end) = after.find(';') else { break };
        out.push((public, expand(&after[..end])));
        rest = &after[end..];
    }
    out
}

fn find_word(s: &str, word: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(p) = s[from..].find(word) {
        let at = from + p;
        let before_ok = at == 0 || !(b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_');
        let end = at + word.len();
        let after_ok = end < b.len() && b[end].is_ascii_whitespace();
        if before_ok && after_ok {
            return Some(at);
        }
        from = end;
    }
    None
}

/// Every `crate::a::b` path written inline (outside `use` statements).
fn inline_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let without_uses = {
        let mut s = String::new();
        let mut rest = code;
        while let Some(pos) = find_word(rest, "use") {
            s.push_str(&rest[..pos]);
            match rest[pos..].find(';') {
                Some(end) => rest = &rest[pos + end + 1..],
                None => {
                    rest = "";
                }
            }
        }
        s.push_str(rest);
        s
    };
    let b = without_uses.as_bytes();
    let mut from = 0;
    while let Some(p) = without_uses[from..].find("crate::") {
        let at = from + p;
        from = at + 7;
        if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_') {
            continue;
        }
        let mut path = vec!["crate".to_string()];
        let mut rest = &without_uses[at + 7..];
        loop {
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if ident.is_empty() {
                break;
            }
            rest = &rest[ident.len()..];
            path.push(ident);
            if let Some(r) = rest.strip_prefix("::") {
                rest = r;
            } else {
                break;
            }
        }
        out.push(path);
    }
    out
}

/// A path as written in `module`, made absolute (without the leading `crate`).
fn absolute(module: &Module, is_mod_file: bool, path: &[String]) -> Option<Vec<String>> {
    let first = path.first()?;
    match first.as_str() {
        "crate" => Some(path[1..].to_vec()),
        "self" => {
            let mut base = module.clone();
            if !is_mod_file {
                // `self` in `a/b.rs` is `a::b`.
            }
            base.extend(path[1..].iter().cloned());
            Some(base)
        }
        "super" => {
            let mut base = module.clone();
            let mut rest = path;
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
            base.extend(rest.iter().cloned());
            Some(base)
        }
        _ => None,
    }
}

struct Crate {
    files: BTreeMap<Module, File>,
    /// For each module file: item name → the absolute path it re-exports.
    reexports: BTreeMap<Module, BTreeMap<String, Vec<String>>>,
    /// For each module file: the absolute paths it imports.
    imports: BTreeMap<Module, Vec<Vec<String>>>,
}

impl Crate {
    fn read(src: &Path) -> Crate {
        let mut files = BTreeMap::new();
        read_tree(src, src, &mut files);
        let mut reexports = BTreeMap::new();
        let mut imports = BTreeMap::new();
        for (module, file) in &files {
            let code = without_unit_tests(&code_only(&file.text));
            let is_mod = true;
            let mut re = BTreeMap::new();
            let mut im = Vec::new();
            for (public, paths) in use_statements(&code) {
                for path in paths {
                    let abs = match path.first().map(String::as_str) {
                        Some("crate" | "self" | "super") => absolute(module, is_mod, &path),
                        // `pub use child::Item` names a child module relative to this one.
                        Some(first) if files.contains_key(&child(module, first)) => {
                            let mut p = module.clone();
                            p.extend(path.iter().cloned());
                            Some(p)
                        }
                        _ => None,
                    };
                    let Some(abs) = abs else { continue };
                    if public {
                        if let Some(last) = abs.last() {
                            re.insert(last.clone(), abs.clone());
                        }
                    }
                    im.push(abs);
                }
            }
            for path in inline_paths(&code) {
                if let Some(abs) = absolute(module, is_mod, &path) {
                    im.push(abs);
                }
            }
            reexports.insert(module.clone(), re);
            imports.insert(module.clone(), im);
        }
        Crate {
            files,
            reexports,
            imports,
        }
    }

    /// The file that defines what `path` names.
    fn resolve(&self, path: &[String], depth: usize) -> Module {
        let mut at = path.len();
        while at > 0 && !self.files.contains_key(&path[..at]) {
            at -= 1;
        }
        let module = path[..at].to_vec();
        if depth < 8 {
            if let Some(item) = path.get(at) {
                if let Some(target) = self.reexports.get(&module).and_then(|r| r.get(item)) {
                    if target.as_slice() != path {
                        let mut next = target.clone();
                        next.extend(path[at + 1..].iter().cloned());
                        return self.resolve(&next, depth + 1);
                    }
                }
            }
        }
        module
    }

    /// File → the files it imports, re-exports followed; the crate root is a facade.
    fn edges(&self) -> BTreeMap<Module, BTreeSet<Module>> {
        let mut edges = BTreeMap::new();
        for (module, paths) in &self.imports {
            if module.is_empty() {
                continue;
            }
            let targets: BTreeSet<Module> = paths
                .iter()
                .map(|p| self.resolve(p, 0))
                .filter(|t| t != module && !t.is_empty())
                // A folder's facade re-exporting its own files is not a dependency.
                .filter(|t| !(t.starts_with(module) && self.reexports_only(module, t)))
                .collect();
            edges.insert(module.clone(), targets);
        }
        edges
    }

    /// Whether `module` reaches its descendant `target` only through `pub use` and `mod`.
    fn reexports_only(&self, module: &Module, target: &Module) -> bool {
        let Some(re) = self.reexports.get(module) else {
            return false;
        };
        let paths = &self.imports[module];
        paths
            .iter()
            .all(|p| self.resolve(p, 0) != *target || re.values().any(|r| r == p))
    }
}

fn child(module: &Module, name: &str) -> Module {
    let mut m = module.clone();
    m.push(name.to_string());
    m
}

fn rank(room: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&room))
}

fn name(m: &Module) -> String {
    m.join("::")
}

/// The strongly connected components with more than one file (Tarjan's algorithm).
fn loops(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct State<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<Module, usize>,
        low: BTreeMap<Module, usize>,
        stack: Vec<Module>,
        on_stack: BTreeSet<Module>,
        next: usize,
        out: Vec<Vec<Module>>,
    }
    fn visit(s: &mut State, v: &Module) {
        s.index.insert(v.clone(), s.next);
        s.low.insert(v.clone(), s.next);
        s.next += 1;
        s.stack.push(v.clone());
        s.on_stack.insert(v.clone());
        let targets: Vec<Module> = s.edges.get(v).into_iter().flatten().cloned().collect();
        for w in targets {
            if !s.index.contains_key(&w) {
                visit(s, &w);
                let low = s.low[v].min(s.low[&w]);
                s.low.insert(v.clone(), low);
            } else if s.on_stack.contains(&w) {
                let low = s.low[v].min(s.index[&w]);
                s.low.insert(v.clone(), low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(&w);
                let done = w == *v;
                component.push(w);
                if done {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// What breaks the rule: upward imports, rooms outside the layers, and loops.
fn violations(krate: &Crate) -> Vec<String> {
    let edges = krate.edges();
    let mut out = Vec::new();
    for (from, targets) in &edges {
        let Some(from_room) = from.first() else {
            continue;
        };
        let Some(from_rank) = rank(from_room) else {
            out.push(format!("{} is in no layer", name(from)));
            continue;
        };
        for to in targets {
            let to_room = &to[0];
            match rank(to_room) {
                Some(to_rank) if to_rank > from_rank => out.push(format!(
                    "upward import: {} ({from_room}) imports {} ({to_room})",
                    name(from),
                    name(to)
                )),
                _ => {}
            }
        }
    }
    let mut rooms: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (from, targets) in &edges {
        let entry = rooms.entry(vec![from[0].clone()]).or_default();
        for to in targets {
            if to[0] != from[0] {
                entry.insert(vec![to[0].clone()]);
            }
        }
    }
    for component in loops(&rooms) {
        let names: Vec<String> = component.iter().map(name).collect();
        out.push(format!("rooms import each other: {}", names.join(" ↔ ")));
    }
    for component in loops(&edges) {
        let names: Vec<String> = component.iter().map(name).collect();
        out.push(format!("files import each other: {}", names.join(" ↔ ")));
    }
    out
}

#[test]
fn imports_run_one_way_and_never_loop() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let krate = Crate::read(&src);
    assert!(krate.files.len() > 100, "the source tree was read");
    let found = violations(&krate);
    assert!(
        found.is_empty(),
        "the layering of docs/architecture.md is broken:\n{}",
        found.join("\n")
    );
}

/// The check finds what it is meant to find: an upward import and a loop written into a copy of
/// the tree.
#[test]
fn the_check_fails_on_an_upward_import_and_on_a_loop() {
    let mut files = BTreeMap::new();
    let add = |files: &mut BTreeMap<Module, File>, m: &[&str], text: &str| {
        files.insert(
            m.iter().map(|s| s.to_string()).collect(),
            File {
                text: text.to_string(),
            },
        );
    };
    add(&mut files, &[], "mod wire; mod http; mod corridor;");
    add(
        &mut files,
        &["wire"],
        "use crate::http::Request; // upward\npub struct Kind;",
    );
    add(
        &mut files,
        &["http"],
        "mod a; mod b; mod c; pub use a::Request;",
    );
    add(
        &mut files,
        &["http", "a"],
        "use super::b::helper;\npub struct Request;",
    );
    add(
        &mut files,
        &["http", "b"],
        "use crate::http::Request;\npub fn helper() {}\nfn f() -> crate::wire::Kind { todo!() }",
    );
    add(
        &mut files,
        &["corridor"],
        "use crate::{http::{Request}, wire::Kind};",
    );
    // A unit-test module may import from above: it is left out.
    add(
        &mut files,
        &["http", "c"],
        "pub fn f() {}\n#[cfg(test)]\n#[allow(dead_code)]\nmod tests { use crate::corridor::Service; }",
    );
    let krate = from_files(files);
    let found = violations(&krate);
    assert_eq!(
        found,
        vec![
            "upward import: wire (wire) imports http::a (http)".to_string(),
            "rooms import each other: http ↔ wire".to_string(),
            // `http::b` names `crate::wire::Kind` inline, and `wire` imports `http::a`.
            "files import each other: http::a ↔ http::b ↔ wire".to_string(),
        ]
    );
}

fn from_files(files: BTreeMap<Module, File>) -> Crate {
    let dir = std::env::temp_dir().join(format!("lift-layering-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (module, file) in &files {
        let mut path = dir.clone();
        let has_children = files
            .keys()
            .any(|k| k.len() > module.len() && k.starts_with(module));
        if module.is_empty() {
            path.push("lib.rs");
        } else if has_children {
            for part in module {
                path.push(part);
            }
            path.push("mod.rs");
        } else {
            for part in &module[..module.len() - 1] {
                path.push(part);
            }
            path.push(format!("{}.rs", module[module.len() - 1]));
        }
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("a temp dir");
        std::fs::write(&path, &file.text).expect("a temp file");
    }
    let krate = Crate::read(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    krate
}

/// Prints the file graph's imports across rooms: `cargo test -p lift --test layering -- --nocapture report`.
#[test]
fn report() {
    if std::env::var_os("LIFT_LAYERING_REPORT").is_none() {
        return;
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let krate = Crate::read(&src);
    for (from, targets) in krate.edges() {
        for to in targets {
            println!("{} -> {}", name(&from), name(&to));
        }
    }
    for v in violations(&krate) {
        println!("VIOLATION {v}");
    }
}
